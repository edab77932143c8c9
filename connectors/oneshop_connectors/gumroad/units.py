"""Units sold per product and per option, counted as Gumroad counts them against a cap.

Gumroad checks a cap against `sales_count_for_inventory` (`app/models/link.rb`,
`app/models/base_variant.rb`): the sum of `quantity` over `Purchase.counts_towards_inventory`
(`app/models/purchase.rb`), which keeps refunded and charged-back purchases and leaves out
recurring charges after the first and additional contributions. The API shows no such
number: product JSON fills `sales_count` with successful purchases, refunds and chargebacks
excluded (`link.rb` `as_json_for_api`, `app/modules/product/stats.rb`), and a variant shows
none. So the connector counts it from the sales list, and keeps the count in its orders
cursor, saved with the sales it covers.

The count follows the ledger: it holds the sales the ledger has booked (and those before
the first look-back, which the adopted counts stand for). A push writes `counted + N`, so a
sale Gumroad has and the ledger has not booked yet takes one of the N on Gumroad, as it will
take one of the ledger's units once booked: it is never handed back to the next buyer.

    settled   sales created before `window_from`, counted once and never re-read
    window    sales from `window_from` on; recounted from scratch by every refund rescan
              (which reads them anyway), so a sale that turned up late is counted then
    recent    ids of the counted sales created from `ids_from` on: what a poll re-reads
              in its overlap, so it is not counted twice
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from oneshop_connectors.gumroad.mapping import MAX_QUANTITY, parse_time


class UnitsView(Protocol):
    def units(self, product_id: str) -> int: ...

    def option_units(self, product_id: str, title: str, name: str) -> int: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Counted:
    """One sale as it counts against caps."""

    id: str
    product_id: str
    created_at: datetime
    quantity: int
    options: tuple[tuple[str, str], ...] = ()


def counted_sale(raw: object) -> Counted | None:
    """The sale's units, or None when it does not count (or cannot be read)."""
    if not isinstance(raw, Mapping):
        return None
    # Gumroad leaves these out of `counts_towards_inventory`.
    if raw.get("recurring_charge") is True or raw.get("is_additional_contribution") is True:
        return None
    sale_id, product_id, quantity = raw.get("id"), raw.get("product_id"), raw.get("quantity")
    if not (isinstance(sale_id, str) and sale_id and isinstance(product_id, str)
            and product_id and isinstance(quantity, int) and not isinstance(quantity, bool)
            and 0 < quantity <= MAX_QUANTITY):
        return None
    try:
        created = parse_time(raw.get("created_at"))
    except ValueError:
        return None
    chosen = raw.get("variants")
    options = tuple(sorted((str(k), str(v)) for k, v in chosen.items())) \
        if isinstance(chosen, Mapping) else ()
    return Counted(id=sale_id, product_id=product_id, created_at=created, quantity=quantity,
                   options=options)


@dataclass(slots=True)
class Counts:
    """Units per product, and per option ({category title: {option name: units}})."""

    products: dict[str, int] = field(default_factory=dict)
    options: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)

    def add(self, sale: Counted) -> None:
        pid = sale.product_id
        self.products[pid] = self.products.get(pid, 0) + sale.quantity
        by_title = self.options.setdefault(pid, {}) if sale.options else {}
        for title, name in sale.options:
            names = by_title.setdefault(title, {})
            names[name] = names.get(name, 0) + sale.quantity

    def units(self, product_id: str) -> int:
        return self.products.get(product_id, 0)

    def option_units(self, product_id: str, title: str, name: str) -> int:
        return self.options.get(product_id, {}).get(title, {}).get(name, 0)

    def copy(self) -> Counts:
        return Counts(dict(self.products), {
            pid: {title: dict(names) for title, names in by_title.items()}
            for pid, by_title in self.options.items()})

    def to_json(self) -> dict[str, Any]:
        return {pid: [n, self.options[pid]] if pid in self.options else [n]
                for pid, n in self.products.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Counts:
        counts = cls()
        for pid, entry in data.items():
            counts.products[str(pid)] = int(entry[0])
            if len(entry) > 1:
                counts.options[str(pid)] = {
                    str(t): {str(n): int(u) for n, u in names.items()}
                    for t, names in entry[1].items()}
        return counts


def count_all(sales: Iterable[Counted]) -> Counts:
    counts = Counts()
    for sale in sales:
        counts.add(sale)
    return counts


@dataclass(slots=True, kw_only=True)
class Tally:
    """The counted units of every product (see the module docstring)."""

    window_from: datetime
    ids_from: datetime
    settled: Counts
    window: Counts
    recent: dict[str, datetime]

    def units(self, product_id: str) -> int:
        return self.settled.units(product_id) + self.window.units(product_id)

    def option_units(self, product_id: str, title: str, name: str) -> int:
        return (self.settled.option_units(product_id, title, name)
                + self.window.option_units(product_id, title, name))

    def add(self, sale: Counted) -> None:
        """Count a booked sale unless it is counted already. One created before `ids_from`
        is: polls only re-read from there (a straggler older than that waits for the next
        rescan's recount)."""
        if sale.created_at < max(self.ids_from, self.window_from) or sale.id in self.recent:
            return
        self.window.add(sale)
        self.recent[sale.id] = sale.created_at

    def pruned(self, ids_from: datetime) -> Tally:
        """A copy that remembers only the ids a poll from `ids_from` can read again."""
        ids_from = max(ids_from, self.ids_from)
        return Tally(window_from=self.window_from, ids_from=ids_from,
                     settled=self.settled.copy(), window=self.window.copy(),
                     recent={k: t for k, t in self.recent.items() if t >= ids_from})

    def to_json(self) -> dict[str, Any]:
        return {"window_from": self.window_from.isoformat(),
                "ids_from": self.ids_from.isoformat(),
                "settled": self.settled.to_json(), "window": self.window.to_json(),
                "recent": {k: t.isoformat() for k, t in self.recent.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Tally:
        return cls(window_from=parse_time(data["window_from"]),
                   ids_from=parse_time(data["ids_from"]),
                   settled=Counts.from_json(data["settled"]),
                   window=Counts.from_json(data["window"]),
                   recent={str(k): parse_time(t) for k, t in data["recent"].items()})


def recount(old: Tally | None, sales: Iterable[Counted], *, window_from: datetime,
            ids_from: datetime) -> Tally:
    """The tally after a rescan that read every sale from `old.window_from` on (from the
    first sale ever when there is no `old`): what leaves the window settles."""
    if old is not None:
        window_from = max(window_from, old.window_from)  # never count a sale twice
    settled = old.settled.copy() if old is not None else Counts()
    window = Counts()
    recent: dict[str, datetime] = {}
    for sale in sales:
        if sale.created_at >= window_from:
            window.add(sale)
        elif old is None or sale.created_at >= old.window_from:
            settled.add(sale)
        if sale.created_at >= ids_from:
            recent[sale.id] = sale.created_at
    return Tally(window_from=window_from, ids_from=ids_from, settled=settled, window=window,
                 recent=recent)
