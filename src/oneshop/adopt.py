"""Taking over a shop that already sells (DESIGN.md 2.8): the read-only plan (`sync --once
--dry-run`) and the takeover itself (`adopt --from ACCOUNT` / `--min`).

The count adopted for a SKU is the truth at the takeover instant. Every order a channel
shows at that instant is already reflected in what that channel shows, so it goes into
the order book as history and moves no stock; only later orders are sales. With `--from
X`, a sale on another channel Y made before the takeover is history too, even when X's
count does not reflect it: the seller chose X's count as the truth, and the first sync
brings Y to it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from oneshop import app as app_mod
from oneshop.config import Config
from oneshop.errors import OneshopError
from oneshop.ledger import batches, bundles, catalog, ignore, stock_models, takeover, views
from oneshop.ledger.db import transaction
from oneshop.values import CHANNEL_BUNDLE


@dataclass(frozen=True, slots=True, kw_only=True)
class Adopted:
    """One SKU's adopted count and what the next sync will change on each channel."""

    sku: str
    count: int
    delta: int
    source: str
    moves: Mapping[str, tuple[int | None, int]] = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class Takeover:
    source: str
    skus: list[Adopted]
    not_adopted: list[str]  # bound SKUs the source shows no quantity for
    watermarks: dict[str, str]
    settled: bool
    # Bundle SKUs: what their listings show is never adopted (their stock is their parts').
    bundles: list[str] = field(default_factory=list)
    # SKUs with no count to adopt (stock_models: unlimited, made_to_order) -> their model
    not_counted: dict[str, str] = field(default_factory=dict)
    # account -> ignored listings (globs, `oneshop ignore`): never adopted, never written
    ignored: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "settled": self.settled, "watermarks": self.watermarks,
                "not_adopted": self.not_adopted, "not_counted": self.not_counted,
                "bundles_ignored": self.bundles, "ignored": self.ignored,
                "skus": [{"sku": a.sku, "count": a.count, "delta": a.delta,
                          "source": a.source,
                          "moves": {acc: {"shows": was, "will_show": to}
                                    for acc, (was, to) in a.moves.items()}}
                         for a in self.skus]}


def adopt_counts(cfg: Config, *, source: str | None, force: bool,
                 record: tuple[str, str | None] | None = None) -> Takeover:
    """Read every channel fresh (orders, listings, orders again until settled), record
    the chosen counts and each account's watermark. Writes nothing to any channel.

    record: (command line, reason) of the operator batch the counts are recorded as."""
    if source is not None and source not in cfg.accounts:
        raise OneshopError(f"no account {source!r} in {cfg.path}")
    application = app_mod.build(cfg)
    try:
        return adopt_with(application, source=source, force=force, record=record)
    finally:
        application.close()


def adopt_with(application: app_mod.App, *, source: str | None, force: bool,
               record: tuple[str, str | None] | None = None) -> Takeover:
    """`adopt_counts` on an application already built (tests, the demo)."""
    names = list(application.accounts.connectors)
    if source is not None and source not in names:
        raise OneshopError(f"account {source!r} is disabled in {application.config.path}")
    with application.sessions() as s:
        done = takeover.taken_over(s)
        unknown = views.unadopted_bound_skus(s)
    if done and not force and not unknown:
        raise OneshopError(f"counts were adopted before ({', '.join(done)}); "
                           "run again with --force to count again (the order history "
                           "is kept; only the difference is booked)")
    settled = application.engine.read_settled(names, [source] if source else names)
    return _record(application, source, force=force, settled=settled, record=record)


def _record(application: app_mod.App, source: str | None, *, force: bool,
            settled: bool, record: tuple[str, str | None] | None = None) -> Takeover:
    run = uuid.uuid4().hex[:12]
    now = application.clock()
    label = source or "min"
    why = f"adopted from {source}" if source else "adopted: the lowest any channel showed"
    report = Takeover(source=label, skus=[], not_adopted=[], watermarks={}, settled=settled)
    with transaction(application.sessions) as s, ExitStack() as batch:
        if record is not None:  # the counts' movements carry the batch (`oneshop undo`)
            batch.enter_context(batches.operator_batch(s, record[0], record[1],
                                                       kind="adopt", now=now))
        shows = _quantities(s)
        kits = bundles.load(s)
        uncounted = stock_models.not_counted(s, shows)
        for sku_id, (sku, adopted, by_account) in sorted(shows.items(), key=lambda i: i[1][0]):
            if sku_id in kits:
                report.bundles.append(sku)
                continue
            if sku_id in uncounted:
                # What its channels show is what oneshop told them (or the seller typed),
                # never a count: an unlimited or made-to-order SKU has none to adopt.
                report.not_counted[sku] = uncounted[sku_id]
                continue
            if adopted and not force:
                continue  # adopting again only with --force
            values = [q for acc, q in by_account.items()
                      if q is not None and (source is None or acc == source)]
            if not values:
                report.not_adopted.append(sku)
                continue
            qty = min(values)
            delta = takeover.adopt_count(s, sku_id=sku_id, quantity=qty, now=now,
                                         key=f"count:adopt:{run}:{sku}", reason=why)
            report.skus.append(Adopted(sku=sku, count=qty, delta=delta, source=label))
        for name in application.accounts.connectors:
            if name not in takeover.taken_over(s):
                mark = takeover.channel_time(s, name) or now
                takeover.mark_taken_over(s, name, mark, now)
        report.watermarks = {account: at.isoformat()
                             for account, at in takeover.watermarks(s).items()}
        moves = _moves(s, application)
        for account, ext, *_ in ignore.ignored_listings(s):
            report.ignored.setdefault(account, []).append(ext)
    report.skus = [Adopted(sku=a.sku, count=a.count, delta=a.delta, source=a.source,
                           moves=moves.get(a.sku, {})) for a in report.skus]
    return report


# A listing in these states cannot sell, so what it shows says nothing about stock (a
# deactivated Etsy listing shows 0 with units on the shelf); a sold-out one does: 0.
NO_COUNT_STATES = frozenset({"inactive", "draft", "expired", "untracked", "removed",
                             "unstocked", CHANNEL_BUNDLE})


def _quantities(s: Session) -> dict[int, tuple[str, bool, dict[str, int | None]]]:
    """Per bound SKU: its name, whether adopted, and what each account showed at the
    takeover's read (listings that cannot sell left out)."""
    out: dict[int, tuple[str, bool, dict[str, int | None]]] = {}
    for sku_id, sku, adopted, account, qty, state in views.bound_quantities(s):
        entry = out.setdefault(sku_id, (sku, adopted, {}))
        if state in NO_COUNT_STATES:
            continue
        previous = entry[2].get(account)
        entry[2][account] = qty if previous is None else min(previous, qty or 0)
    return out


def _moves(s: Session, application: app_mod.App) -> dict[str, dict[str, tuple[int | None, int]]]:
    """What the next sync will change: per SKU, per account, (shows now, will show)."""
    out: dict[str, dict[str, tuple[int | None, int]]] = {}
    for name in application.accounts.connectors:
        rules = application.accounts.rules[name]
        for t in catalog.targets(s, name, reserve=rules.reserve, cap=rules.cap):
            out.setdefault(t.sku, {})[name] = (t.observed, t.published)
    return out


# -- the dry run ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Planned:
    """One SKU as the channels show it now, and what each way of adopting would count."""

    sku: str
    shows: Mapping[str, int | None]
    ledger: int | None  # on_hand when adopted already
    wants: Mapping[str, int | None]  # what the next sync would publish (None: nothing)
    options: Mapping[str, int]  # "from ACCOUNT" / "min" -> the count adoption would take
    # option -> account -> what that account would be told after adopting that way
    publish: Mapping[str, Mapping[str, int | None]] = field(default_factory=dict)
    stock: str = stock_models.TRACKED  # the SKU's stock model: no options unless tracked

    @property
    def disagree(self) -> bool:
        return len({q for q in self.shows.values() if q is not None}) > 1

    def as_dict(self) -> dict[str, Any]:
        return {"sku": self.sku, "shows": dict(self.shows), "ledger": self.ledger,
                "wants": dict(self.wants), "adopt": dict(self.options),
                "publish": {k: dict(v) for k, v in self.publish.items()},
                "disagree": self.disagree, "stock": self.stock}


@dataclass(slots=True, kw_only=True)
class Plan:
    skus: list[Planned]
    unlinked: dict[str, int]  # account -> listings with no SKU to bind by
    adopted: list[str]  # accounts taken over already
    bundles: list[str] = field(default_factory=list)  # listed, never adopted: parts' stock
    # Listings the channel does not count (no cap, not tracked) whose SKU is not
    # unlimited: never bound by SKU; (account, listing, channel SKU)
    unlimited: list[tuple[str, str, str | None]] = field(default_factory=list)
    # account -> listings ignored (globs, `oneshop ignore`): adoption leaves them out
    ignored: dict[str, list[str]] = field(default_factory=dict)


def plan(cfg: Config) -> Plan:
    """Read every channel and the ledger, write nothing: what adoption and the next sync
    would do. (The one exception is a refreshed Etsy token pair: its old refresh token
    is dead once used, so the new pair must be kept.)"""
    application = app_mod.build(cfg, read_only=True)
    try:
        listed = {name: [li for page in conn.fetch_listings() for li in page.listings]
                  for name, conn in application.accounts.connectors.items()}
        with application.sessions() as s:
            return _plan(s, application, listed)
    finally:
        application.close()


def _plan(s: Session, application: app_mod.App,
          listed: Mapping[str, Sequence[Any]]) -> Plan:
    bound = views.bindings(s)
    skus = views.all_skus(s)
    names = {row.sku: row for row in skus.values()}
    shows: dict[str, dict[str, int | None]] = {}
    off: set[tuple[str, str]] = set()  # (sku, account) off sale: no count to adopt
    unlinked: dict[str, int] = {}
    candidates: list[tuple[str, str, str | None]] = []
    ignored: dict[str, list[str]] = {}
    for account, listings in listed.items():
        rules = application.accounts.rules[account].listings
        by_hand = ignore.ignored_ids(s, account)
        for li in listings:
            sku_id = bound.get((account, li.external_id))
            sku = skus[sku_id].sku if sku_id in skus else li.sku
            if li.external_id in by_hand or (sku_id is None and rules.ignores(li.sku)):
                ignored.setdefault(account, []).append(li.external_id)
                continue
            if (sku_id is None and stock_models.is_unlimited_candidate(li.quantity, li.state)
                    and (li.sku not in names or names[li.sku].stock_model
                         != stock_models.UNLIMITED)):
                candidates.append((account, li.external_id, li.sku))
                continue
            if not sku:
                unlinked[account] = unlinked.get(account, 0) + 1
                continue
            # `duplicate_skus = "bind_all"`: the lowest of the account's listings counts.
            was = shows.setdefault(sku, {}).get(account)
            shows[sku][account] = (li.quantity if was is None or li.quantity is None
                                   else min(was, li.quantity))
            if li.state in NO_COUNT_STATES:
                off.add((sku, account))
    out = []
    # From the config: a dry run writes nothing, so the ledger may not know them yet.
    kits = {name for name, o in application.config.file.skus.items() if o.bundle}
    for sku, by_account in sorted(shows.items()):
        if sku in kits:
            continue  # its listings' quantities are never adopted: `Plan.bundles`
        row = names.get(sku)
        adopted = row is not None and row.adopted_at is not None
        model = row.stock_model if row is not None else stock_models.TRACKED
        counted = {a: q for a, q in by_account.items() if q is not None and (sku, a) not in off
                   and model == stock_models.TRACKED}  # no count to adopt otherwise
        values = list(counted.values())
        options = {f"from {a}": q for a, q in counted.items()}
        if values:
            options["min"] = min(values)
        wants = {a: views.published(row.on_hand, row, application.accounts.rules[a])
                 for a in by_account} if adopted and row is not None else {}
        publish = {option: {a: views.published(count, row, application.accounts.rules[a])
                            for a in by_account} for option, count in options.items()}
        out.append(Planned(sku=sku, shows=by_account, ledger=row.on_hand if adopted and row
                           else None, wants=wants, options=options, publish=publish,
                           stock=model))
    return Plan(skus=out, unlinked=unlinked, adopted=takeover.taken_over(s),
                bundles=sorted(kits & set(shows)), unlimited=candidates, ignored=ignored)
