"""Booking a page of orders: the order book rows, their lines, and the stock movements
their sales and restocks make, in one pass per table (the hot path of ingestion).

Idempotency comes from unique constraints (INSERT … ON CONFLICT), never from "check
then insert": the same order recorded by overlapping polls or by two processes at once
changes stock exactly once. Take a Session, never commit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlalchemy.orm import Session

from oneshop.ledger import binding, bulk, bundles, races, stock
from oneshop.ledger import models as m
from oneshop.ledger.bulk_params import pg_array_literal, sqlalchemy_processor
from oneshop.ledger.history import BEFORE_TAKEOVER, HISTORY, Cutoffs, load_cutoffs
from oneshop.values import Order, OrderLine

LINE_COLUMNS = ("order_id", "external_id", "sku", "listing_external_id", "sku_id",
                "quantity", "unit_price", "refunded_quantity")
# A line's refunds only grow: a later version raises them, an older one never lowers
# them, and a line read again unchanged is not written (nor, on PostgreSQL, a new tuple).
LINE_CONFLICT = ("ON CONFLICT (order_id, external_id) DO UPDATE SET refunded_quantity = "
                 "excluded.refunded_quantity WHERE excluded.refunded_quantity > "
                 "order_lines.refunded_quantity")
Target = tuple[int | None, int | None]  # an order line's (binding_id, sku_id)


@dataclass(slots=True, kw_only=True)
class Booked:
    """What recording a page of orders changed."""

    sku_deltas: dict[int, int] = field(default_factory=dict)  # sku_id -> stock change
    channel_deltas: dict[int, int] = field(default_factory=dict)  # binding_id -> qty change
    new_orders: int = 0
    movements: int = 0
    unlinked: list[tuple[str | None, str | None]] = field(default_factory=list)


def record_orders(session: Session, account: str, orders: Sequence[Order], *,
                  blind_writes: Callable[[str], str] | None = None,
                  cutoffs: Cutoffs | None = None, now: datetime | None = None,
                  ignores: Callable[[str | None], bool] | None = None) -> Booked:
    """Record a page of orders: order book rows, lines, and their stock movements.

    cutoffs: the account's takeover state as `account_cutoffs` read it for this pull.
    now: when they are booked, on the engine's clock (default: the wall clock).
    blind_writes: the channel's stock writes replace its quantities without
    compare-and-set (Etsy); a sale made while one of them was in flight is then not
    taken off what we believe the channel shows (races.py). It maps a listing's
    external id to the prefix shared by every listing one write replaces (an Etsy
    listing's variants).
    ignores: the account's `ignore` globs; a line of a listing not recorded yet whose SKU
    they match is not matched to a SKU by its text (ignore.py).
    """
    booked = Booked()
    if not orders:
        return booked
    # Every row is written in key order, so concurrent writers lock in the same order
    # and never deadlock (PostgreSQL).
    orders = sorted(orders, key=attrgetter("external_id"))
    by_listing, by_sku = _line_targets(session, account, orders)
    rows = _PageRows(account=account, by_listing=by_listing, by_sku=by_sku,
                     cutoffs=load_cutoffs(session, account, orders, cutoffs),
                     kits=bundles.load(session), ignores=ignores or _nothing)
    with bulk.pipelined(session):
        order_ids = _upsert_orders(session, account, orders)
        for order in orders:
            rows.add(order)
        booked.unlinked = rows.unlinked
        followed = _send(session, rows, order_ids, booked, now)
        if blind_writes is None:
            _follow_channel(session, booked, rows.channel, followed)
    if blind_writes is not None:
        _settle_races(session, account, blind_writes, rows, followed, booked)
    return booked


@dataclass(slots=True, kw_only=True)
class _PageRows:
    """The rows a page of orders becomes, built before any of them is sent."""

    account: str
    by_listing: Mapping[str, Target]
    by_sku: Mapping[str, int]
    cutoffs: Cutoffs
    kits: bundles.Bundles  # bundle sku_id -> its components: its sales book theirs
    lines: list[list[Any]] = field(default_factory=list)  # order_id: the external id first
    moves: list[stock.Move] = field(default_factory=list)
    channel: dict[str, tuple[int, int]] = field(default_factory=dict)  # key -> (binding, Δ)
    sold_at: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # (listing, made)
    unlinked: list[tuple[str | None, str | None]] = field(default_factory=list)
    ignores: Callable[[str | None], bool] = field(default=lambda _sku: False)

    def add(self, order: Order) -> None:
        resolved = {line.external_id: self._add_line(order, line) for line in order.lines}
        for restock in order.restocks:
            binding_id, sku_id = resolved.get(restock.line_external_id, (None, None))
            if sku_id is None or restock.quantity <= 0:
                continue
            ext = order.external_id
            key = f"restock:{self.account}:{ext}:{restock.key}"
            listing = next((ln.listing_external_id for ln in order.lines
                            if ln.external_id == restock.line_external_id), None)
            if self.cutoffs.restock_is_history(listing, order.updated_at):
                self._move(sku_id, HISTORY, 0, key, ext, BEFORE_TAKEOVER)
                continue
            key = self._move(sku_id, "restock", restock.quantity, key, ext, "")
            if binding_id is not None and restock.channel_applied:
                self.channel[key] = (binding_id, restock.quantity)

    def _add_line(self, order: Order, line: OrderLine) -> Target:
        """The line's row and its sale; returns what the line resolved to."""
        known = self.by_listing.get(line.listing_external_id or "")
        binding_id, sku_id = known or (None, None)
        if known is None and line.sku and not self.ignores(line.sku):
            # No listing we know: match the SKU exactly.
            sku_id = self.by_sku.get(line.sku)
        ext = order.external_id
        self.lines.append([ext, line.external_id, line.sku, line.listing_external_id,
                           sku_id, line.quantity, line.unit_price, line.refunded_quantity])
        if sku_id is None:
            if self.cutoffs.taken_over:  # history needs no link to be right
                self.unlinked.append((line.listing_external_id, line.sku))
            return binding_id, sku_id
        key = f"sale:{self.account}:{ext}:{line.external_id}"
        if self.cutoffs.sale_is_history(line.listing_external_id, order.created_at):
            self._move(sku_id, HISTORY, 0, key, ext, BEFORE_TAKEOVER)
            return binding_id, sku_id
        key = self._move(sku_id, "sale", -line.quantity, key, ext, "")
        if binding_id is not None and order.channel_decremented:
            self.channel[key] = (binding_id, -line.quantity)
            self.sold_at[key] = (line.listing_external_id or "", order.created_at)
        return binding_id, sku_id

    def _move(self, sku_id: int, kind: str, delta: int, key: str, ext: str,
              reason: str) -> str:
        """Append the movement, or a bundle's one per component; returns the key that
        stands for it (a bundle's first component's: what the channel follows by)."""
        if not self.kits or sku_id not in self.kits:  # the hot path: no bundle
            self.moves.append((sku_id, kind, delta, key, self.account, ext, reason))
            return key
        moves = bundles.expand(self.kits, sku_id, kind, delta, key, reason)
        self.moves += [(sid, kind, d, k, self.account, ext, why) for sid, d, k, why in moves]
        return moves[0][2]


def _nothing(_sku: str | None) -> bool:
    return False


def _send(session: Session, rows: _PageRows,
          order_ids: Callable[[], tuple[dict[str, int], int]], booked: Booked,
          now: datetime | None) -> list[str]:
    """Send the page's lines and movements and fold the new movements into stock;
    returns the source keys of those whose channel moved its own quantity.

    PostgreSQL runs the orders' upsert while the rows are built, and the movements'
    insert while the lines are sent; a result waits for all sent before it."""
    ids, booked.new_orders = order_ids()
    new_moves = stock.send_movements(session, rows.moves, now)
    # One row per line (an upsert cannot touch a row twice: a page may carry an order
    # twice); the most units refunded wins, as LINE_CONFLICT does across pages.
    lines: dict[tuple[int, str], list[Any]] = {}
    for row in rows.lines:
        row[0] = ids[row[0]]
        was = lines.get((row[0], row[1]))
        if was is None or row[-1] > was[-1]:
            lines[(row[0], row[1])] = row
    bulk.insert_rows(session, bulk.table_of(m.OrderLine), LINE_COLUMNS, list(lines.values()),
                     LINE_CONFLICT)
    followed: list[str] = []
    for key, sku_id, delta in stock.fold_into_on_hand(session, new_moves()):
        booked.movements += 1
        if delta:
            booked.sku_deltas[sku_id] = booked.sku_deltas.get(sku_id, 0) + delta
        if key in rows.channel:
            followed.append(key)
    return followed


def _settle_races(session: Session, account: str, group: Callable[[str], str],
                  rows: _PageRows, followed: Sequence[str], booked: Booked) -> None:
    """On a channel of blind writes, a new sale that raced one of them stays on our
    belief (races.py); the channel's other moves are followed."""
    raced: dict[int, int] = {}
    for key in races.raced(session, account, group,
                           {k: rows.sold_at[k] for k in followed if k in rows.sold_at}):
        bid, cdelta = rows.channel.pop(key)
        raced[bid] = raced.get(bid, 0) - cdelta
    _follow_channel(session, booked, rows.channel, followed)
    binding.note_raced_sales(session, raced)


def _follow_channel(session: Session, booked: Booked, channel: Mapping[str, tuple[int, int]],
                    keys: Sequence[str]) -> None:
    """The selling channel moved its own quantities for these new movements: follow."""
    for key in keys:
        if key in channel:
            bid, cdelta = channel[key]
            booked.channel_deltas[bid] = booked.channel_deltas.get(bid, 0) + cdelta
    binding.follow_channel_sales(session, booked.channel_deltas)


def _line_targets(session: Session, account: str, orders: Sequence[Order]
                  ) -> tuple[dict[str, Target], dict[str, int]]:
    """Resolve order lines to (binding_id, sku_id): by binding first, then by exact SKU."""
    listing_ids = sorted({ln.listing_external_id for o in orders for ln in o.lines
                          if ln.listing_external_id is not None})
    by_listing: dict[str, Target] = {}
    if listing_ids:
        by_listing = {ext: (bid, sid)
                      for ext, bid, sid in _bindings_of(session, account, listing_ids)}
    # Only lines that no bound listing resolves need their SKU text looked up.
    by_sku = stock.sku_ids(session, (ln.sku for o in orders for ln in o.lines if ln.sku and
                                     by_listing.get(ln.listing_external_id or "",
                                                    (0, None))[1] is None))
    return by_listing, by_sku


def _bindings_of(session: Session, account: str,
                 listing_ids: Sequence[str]) -> list[tuple[str, int, int | None]]:
    """(external_id, binding id, sku_id) of these listings. Once per page, so straight to
    the driver (a Core IN of a page's listing ids costs more to render than to run)."""
    cursor = bulk.driver_cursor(session)
    try:
        if bulk.is_pg(session):
            kind = bulk.table_of(m.Binding).c.external_id.type
            cursor.execute("SELECT external_id, id, sku_id FROM bindings WHERE account = %b"
                           " AND external_id = ANY(%t::varchar[])",
                           [account, pg_array_literal(kind, listing_ids)])
            return list(cursor.fetchall())
        found = []
        for start in range(0, len(listing_ids), bulk.SQLITE_MAX_PARAMS - 1):
            chunk = listing_ids[start:start + bulk.SQLITE_MAX_PARAMS - 1]
            cursor.execute("SELECT external_id, id, sku_id FROM bindings WHERE account = ?"
                           f" AND external_id IN ({', '.join('?' * len(chunk))})",
                           [account, *chunk])
            found += cursor.fetchall()
        return found
    finally:
        cursor.close()


def _upsert_orders(session: Session, account: str, orders: Sequence[Order]
                   ) -> Callable[[], tuple[dict[str, int], int]]:
    """Insert or update the order book rows.

    Returns a function giving ({external_id: order id}, how many orders were new).
    """
    session.connection()  # begins the transaction (SQLite: takes the write lock) first
    now = m.utcnow()
    # One row per order (an upsert cannot touch a row twice); the last version wins.
    rows = list({o.external_id: (
        account, o.external_id, o.status, o.currency, o.total, o.created_at, o.updated_at,
        now, o.paid_at) for o in orders}.values())
    table = bulk.table_of(m.Order)
    pg = bulk.is_pg(session)
    # Which rows this statement inserted: PostgreSQL says so (xmax = 0); on SQLite an
    # updated row keeps the recorded_at of an earlier transaction, and `now` was taken
    # under this transaction's write lock (BEGIN IMMEDIATE), so no other one shares it.
    stamp = sqlalchemy_processor(table.c.recorded_at.type, session.get_bind().dialect)
    mine = stamp(now) if stamp is not None else now
    # An older version of an order (an overlapping poll, a slow process) never overwrites
    # a newer one; the row is still touched so RETURNING gives every order's id.
    newer = "excluded.updated_at >= orders.updated_at"
    fetch = bulk.insert_rows(
        session, table, ("account", "external_id", "status", "currency", "total",
                         "created_at", "updated_at", "recorded_at", "paid_at"), rows,
        "ON CONFLICT (account, external_id) DO UPDATE SET "
        # The first paid time seen stays (a channel never un-pays an order).
        "paid_at = COALESCE(orders.paid_at, excluded.paid_at), "
        f"status = CASE WHEN {newer} THEN excluded.status ELSE orders.status END, "
        f"total = CASE WHEN {newer} THEN excluded.total ELSE orders.total END, "
        f"updated_at = CASE WHEN {newer} THEN excluded.updated_at ELSE orders.updated_at END",
        f"external_id, id, {'xmax = 0' if pg else 'recorded_at'}")

    def result() -> tuple[dict[str, int], int]:
        found = fetch()
        new = sum(1 for _, _, n in found if (n is True if pg else n == mine))
        return {ext: oid for ext, oid, _ in found}, new

    return result
