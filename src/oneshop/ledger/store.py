"""Store functions: take a Session, never commit (the sync engine owns transactions).

Idempotency comes from unique constraints (INSERT … ON CONFLICT), never from
"check then insert": the same order recorded by overlapping polls or by two processes
at once changes stock exactly once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from operator import attrgetter, itemgetter
from typing import Any

from sqlalchemy import Float, Integer, Numeric, String, Table, any_, bindparam, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from oneshop.ledger import models as m
from oneshop.values import Order, Rejected


def _insert(session: Session, table: Any) -> Any:
    """A dialect insert that knows ON CONFLICT (SQLite and PostgreSQL both do)."""
    dialect = session.get_bind().dialect.name
    mod: Any = postgresql if dialect == "postgresql" else sqlite
    return mod.insert(table)


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# SQLite binds at most 32,766 parameters per statement (3.32+); multi-row inserts are
# split to stay under it.
SQLITE_MAX_PARAMS = 32_766


Fetch = Callable[[], list[tuple[Any, ...]]]


def _no_rows() -> list[tuple[Any, ...]]:
    return []


def _insert_rows(session: Session, table: Table, cols: Sequence[str],
                 rows: Sequence[Sequence[Any]], on_conflict: str,
                 returning: str = "") -> Fetch:
    """INSERT rows (values in `cols` order) … `on_conflict` [RETURNING `returning`].

    Returns a function that gives the RETURNING rows: inside `_pipelined` (PostgreSQL)
    the statement is only sent, and its rows arrive when asked for.

    The hot path of order ingestion. SQLAlchemy's per-row parameter handling costs more
    than the database's work here, so each column goes through its type's bind processor
    once and then straight to the driver: one statement per page (and per table).
    """
    if not rows:
        return _no_rows
    conn = session.connection()  # begins the transaction (SQLite: takes the write lock)
    dialect = conn.dialect
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
    memo: dict[int, Any] = {}
    for i, c in enumerate(cols):
        proc = _bind_processor(table.c[c].type, dialect, memo)
        if proc is not None:
            columns[i] = list(map(proc, columns[i]))
    head = f"INSERT INTO {table.name} ({', '.join(cols)}) "
    tail = f" {on_conflict}" + (f" RETURNING {returning}" if returning else "")
    cursor = _driver_cursor(session)
    if dialect.name == "postgresql":
        # One array per column: the statement text is the same for every page, so
        # psycopg prepares it and the server plans it once. Each array goes as one
        # text literal built with str.join: psycopg dumps a list element by element in
        # Python, which was a third of the ledger's CPU time per order line.
        params: list[Any] = []
        arrays = []
        stamps: dict[int, str] = {}
        for c, values in zip(cols, columns, strict=True):
            kind = table.c[c].type
            literal = _pg_array_literal(kind, values, stamps)
            params.append(list(values) if literal is None else literal)
            arrays.append(f"{'%b' if literal is None else '%t'}"
                          f"::{kind.compile(dialect=dialect)}[]")
        cursor.execute(f"{head}SELECT * FROM unnest({', '.join(arrays)}){tail}", params)
        return cursor.fetchall if returning else _no_rows
    values = list(zip(*columns, strict=True))
    one = "(" + ", ".join("?" * len(cols)) + ")"
    if not returning:  # the driver's executemany: one prepared statement, a C loop
        cursor.executemany(f"{head}VALUES {one}{tail}", values)
        cursor.close()
        return _no_rows
    found: list[tuple[Any, ...]] = []
    step = SQLITE_MAX_PARAMS // len(cols)
    for start in range(0, len(values), step):
        chunk = values[start:start + step]
        cursor.execute(f"{head}VALUES {', '.join([one] * len(chunk))}{tail}",
                       [v for row in chunk for v in row])
        found += cursor.fetchall()
    cursor.close()
    return lambda: found


# SQLAlchemy's SQLite DATETIME text, which SQL compares as strings: kept byte-identical.
_SQLITE_DATETIME = ("%(year)04d-%(month)02d-%(day)02d "
                    "%(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d")
# The same by position: %-formatting a tuple is twice as fast as a dict (or an f-string).
_DATETIME_TEXT = "%04d-%02d-%02d %02d:%02d:%02d.%06d"


def _bind_processor(kind: Any, dialect: Any,
                    memo: dict[int, Any]) -> Callable[[Any], Any] | None:
    """The type's bind processor; for UTC timestamps a faster one giving the same values.

    Every order has its own timestamps, and SQLAlchemy's chain (astimezone, then a
    dict-keyed format on SQLite) cost more than the database's work on them. On SQLite
    each datetime object is formatted once per call (`memo`, by identity: the rows keep
    them alive): a page's `now` is in every row, an order's created_at often its
    updated_at.
    """
    proc: Callable[[Any], Any] | None = kind._cached_bind_processor(dialect)
    if proc is None or not isinstance(kind, m.UtcDateTime):
        return proc
    slow = proc
    impl = getattr(kind.dialect_impl(dialect), "impl_instance", None)
    if getattr(impl, "_storage_format", None) == _SQLITE_DATETIME:
        def to_text(v: Any) -> Any:
            done = memo.get(id(v))
            if done is not None:
                return done
            if v is None or v.tzinfo is not UTC:  # naive (refused) or another zone
                return slow(v)
            done = memo[id(v)] = _DATETIME_TEXT % (
                v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond)
            return done
        return to_text
    if impl is not None and impl.bind_processor(dialect) is None:  # aware ones go as they are
        def as_utc(v: Any) -> Any:
            return v if v is not None and v.tzinfo is UTC else slow(v)
        return as_utc
    return proc


def _pg_timestamp(v: datetime) -> str:
    if v.tzinfo is not UTC:
        if v.tzinfo is None:
            raise ValueError("naive datetime given to the ledger")
        v = v.astimezone(UTC)
    return _DATETIME_TEXT % (
        v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond) + "+00"


def _pg_array_literal(kind: Any, values: Sequence[Any],
                      memo: dict[int, str] | None = None) -> str | None:
    """PostgreSQL's text form of an array of `values` for a column of type `kind`
    (every element quoted), or None for a type or a value it does not cover.

    memo: timestamps already formatted, by id() of datetime objects kept alive.
    """
    if memo is None:
        memo = {}
    kinds = set(map(type, values))
    nulls = type(None) in kinds
    kinds.discard(type(None))
    items: list[str]
    if isinstance(kind, Integer | Numeric) and not isinstance(kind, Float):
        if not kinds <= {int, Decimal}:  # bool is not int here: type() is exact
            return None
        items = ["NULL" if v is None else str(v) for v in values] if nulls else [
            *map(str, values)]
    elif isinstance(kind, String):
        if kinds - {str}:
            return None
        if not nulls:
            joined = "".join(values)
            if "\\" not in joined and '"' not in joined:  # nothing to escape
                return '{"' + '","'.join(values) + '"}'
        items = ["NULL" if v is None else v.replace("\\", "\\\\").replace('"', '\\"')
                 for v in values]
    elif isinstance(kind, m.UtcDateTime):
        if kinds - {datetime}:
            return None
        # Each object formatted once: a page's `now` is in every row.
        items = [
            "NULL" if v is None else memo[id(v)] if id(v) in memo
            else memo.setdefault(id(v), _pg_timestamp(v)) for v in values]
    else:
        return None
    if nulls:  # NULL unquoted, every other element quoted
        return "{" + ",".join(t if t == "NULL" and v is None else f'"{t}"'
                              for t, v in zip(items, values, strict=True)) + "}"
    return '{"' + '","'.join(items) + '"}'


@contextmanager
def _pipelined(session: Session) -> Iterator[None]:
    """PostgreSQL: send statements without waiting for each one's result (psycopg's
    pipeline mode), so the server works on one while Python prepares the next.

    Only driver-level statements inside: SQLAlchemy reads each result as it executes.
    """
    if not _is_pg(session):
        yield
        return
    with session.connection().connection.driver_connection.pipeline():  # type: ignore[union-attr]
        yield


def _driver_cursor(session: Session) -> Any:
    """A cursor of the DBAPI connection under the session's transaction (begun first)."""
    return session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]


def _among(session: Session, column: Any, values: Sequence[Any]) -> Any:
    """`column IN values`; on PostgreSQL `= ANY(array)`: one parameter, one cached plan."""
    if _is_pg(session):
        return column == any_(bindparam("among", list(values), unique=True,
                                        type_=postgresql.ARRAY(column.type)))
    return column.in_(values)


def _table(model: type[m.Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


@dataclass(slots=True, kw_only=True)
class Booked:
    """What recording a page of orders changed."""

    sku_deltas: dict[int, int] = field(default_factory=dict)  # sku_id -> stock change
    channel_deltas: dict[int, int] = field(default_factory=dict)  # binding_id -> qty change
    new_orders: int = 0
    movements: int = 0
    unlinked: list[tuple[str | None, str | None]] = field(default_factory=list)


def sku_ids(session: Session, skus: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    table = _table(m.Sku)
    rows: Any = session.connection().execute(
        select(table.c.sku, table.c.id).where(_among(session, table.c.sku, wanted)))
    return {str(sku): int(sku_id) for sku, sku_id in rows}


def ensure_skus(session: Session, skus: Mapping[str, str]) -> dict[str, int]:
    """Ids for the given SKUs (sku -> title), creating the missing ones."""
    if skus:
        stmt = _insert(session, m.Sku).on_conflict_do_nothing(index_elements=["sku"])
        session.execute(stmt, [{"sku": s, "title": t, "on_hand": 0} for s, t in skus.items()])
    return sku_ids(session, skus)


def _line_targets(
    session: Session, account: str, orders: Sequence[Order]
) -> tuple[dict[str, tuple[int | None, int | None]], dict[str, int]]:
    """Resolve order lines to (binding_id, sku_id): by binding first, then by exact SKU."""
    listing_ids = sorted({ln.listing_external_id for o in orders for ln in o.lines
                          if ln.listing_external_id is not None})
    by_listing: dict[str, tuple[int | None, int | None]] = {}
    if listing_ids:
        # Once per page, so straight to the driver (a Core IN of a page's listing ids
        # costs more to render than to run).
        cursor = _driver_cursor(session)
        try:
            if _is_pg(session):
                cursor.execute("SELECT external_id, id, sku_id FROM bindings WHERE account = %b"
                               " AND external_id = ANY(%t::varchar[])",
                               [account, _pg_array_literal(_table(m.Binding).c.external_id.type,
                                                           listing_ids)])
                found = cursor.fetchall()
            else:
                found = []
                for start in range(0, len(listing_ids), SQLITE_MAX_PARAMS - 1):
                    chunk = listing_ids[start:start + SQLITE_MAX_PARAMS - 1]
                    cursor.execute("SELECT external_id, id, sku_id FROM bindings WHERE account = ?"
                                   f" AND external_id IN ({', '.join('?' * len(chunk))})",
                                   [account, *chunk])
                    found += cursor.fetchall()
        finally:
            cursor.close()
        by_listing = {ext: (bid, sid) for ext, bid, sid in found}
    # Only lines that no bound listing resolves need their SKU text looked up.
    by_sku = sku_ids(session, (ln.sku for o in orders for ln in o.lines if ln.sku and
                               by_listing.get(ln.listing_external_id or "", (0, None))[1]
                               is None))
    return by_listing, by_sku


LINE_COLUMNS = ("order_id", "external_id", "sku", "listing_external_id", "sku_id",
                "quantity", "unit_price")
# A movement row as the hot path builds it: a plain tuple in this column order.
MOVE_COLUMNS = ("sku_id", "kind", "delta", "source_key", "account", "order_external_id",
                "reason")
Move = tuple[int, str, int, str, str | None, str | None, str]


HISTORY = "history"  # movement kind of a sale or restock already in the adopted counts
BEFORE_TAKEOVER = "before the takeover: already in the adopted count"


@dataclass(frozen=True, slots=True, kw_only=True)
class Cutoffs:
    """Which of an account's orders are history: already reflected in the counts that
    were adopted at its takeover (DESIGN.md 2.8), so they move no stock.

    Before the takeover every order is history. After it, a sale is history when its
    order was created before the cut-off (the listing's own, for a listing adopted after
    the takeover, else the account's watermark), and a restock when its order was last
    updated before it. (What the takeover itself read is history already, under its
    source keys; an order at the very watermark that it did not read is new.)

    A history movement is stored with delta 0 under the same source key a sale would
    use, so a later read of the same order never books it.
    """

    taken_over: bool
    watermark: datetime | None
    by_listing: Mapping[str, datetime]
    own: bool = False  # some listing of the account has a cut-off of its own

    def sale_is_history(self, listing: str | None, created_at: datetime) -> bool:
        cutoff = self._cutoff(listing)
        return not self.taken_over or (cutoff is not None and created_at < cutoff)

    def restock_is_history(self, listing: str | None, updated_at: datetime) -> bool:
        cutoff = self._cutoff(listing)
        return not self.taken_over or (cutoff is not None and updated_at < cutoff)

    def _cutoff(self, listing: str | None) -> datetime | None:
        return self.by_listing.get(listing or "", self.watermark)


def load_cutoffs(session: Session, account: str, orders: Sequence[Order],
                 base: Cutoffs | None = None) -> Cutoffs:
    """The account's takeover state, with the listing cut-offs these orders may need.

    base: the account's state read earlier in the same pull (`account_cutoffs`), so a
    page costs no lookup unless some listing of the account has a cut-off of its own."""
    base = base or account_cutoffs(session, account)
    oldest = min((o.created_at for o in orders), default=None)
    if not base.taken_over or not base.own or oldest is None:
        return base
    # Only a cut-off later than this page's oldest order can make any of its lines history.
    rows: Any = session.connection().execute(
        select(m.Binding.external_id, m.Binding.history_until)
        .where(m.Binding.account == account, m.Binding.history_until > oldest))
    return Cutoffs(taken_over=True, watermark=base.watermark, own=True,
                   by_listing={ext: at for ext, at in rows})


def account_cutoffs(session: Session, account: str) -> Cutoffs:
    """Whether the account was taken over, its watermark, and whether any of its listings
    (adopted after the takeover) has a cut-off of its own."""
    conn = session.connection()
    state = conn.execute(select(m.AccountState.adopted_at, m.AccountState.watermark_at)
                         .where(m.AccountState.account == account)).first()
    if state is None or state.adopted_at is None:
        return Cutoffs(taken_over=False, watermark=None, by_listing={})
    own = conn.execute(select(m.Binding.id).where(
        m.Binding.account == account, m.Binding.history_until.is_not(None)).limit(1)).first()
    return Cutoffs(taken_over=True, watermark=state.watermark_at, by_listing={},
                   own=own is not None)


def record_orders(session: Session, account: str, orders: Sequence[Order], *,
                  blind_writes: Callable[[str], str] | None = None,
                  cutoffs: Cutoffs | None = None, now: datetime | None = None) -> Booked:
    """Record a page of orders: order book rows, lines, and their stock movements.

    cutoffs: the account's takeover state as `account_cutoffs` read it for this pull.
    now: when they are booked, on the engine's clock (default: the wall clock).
    blind_writes: the channel's stock writes replace its quantities without
    compare-and-set (Etsy); a sale made while one of them was in flight is then not
    taken off what we believe the channel shows (see `_raced`). It maps a listing's
    external id to the prefix shared by every listing one write replaces (an Etsy
    listing's variants).
    """
    booked = Booked()
    if not orders:
        return booked
    # Every row is written in key order, so concurrent writers lock in the same order
    # and never deadlock (PostgreSQL).
    orders = sorted(orders, key=attrgetter("external_id"))
    by_listing, by_sku = _line_targets(session, account, orders)
    cutoffs = load_cutoffs(session, account, orders, cutoffs)
    with _pipelined(session):
        order_ids = _upsert_orders(session, account, orders)
        line_rows: list[list[Any]] = []  # order_id first: the order's external id until known
        moves: list[Move] = []
        channel: dict[str, tuple[int, int]] = {}  # source_key -> (binding_id, channel delta)
        sold_at: dict[str, tuple[str, datetime]] = {}  # sale source_key -> (listing, made)
        for order in orders:
            ext = order.external_id
            resolved: dict[str, tuple[int | None, int | None]] = {}
            for line in order.lines:
                known = by_listing.get(line.listing_external_id or "")
                binding_id, sku_id = known or (None, None)
                if known is None and line.sku:  # no listing we know: match the SKU exactly
                    sku_id = by_sku.get(line.sku)
                resolved[line.external_id] = (binding_id, sku_id)
                line_rows.append([ext, line.external_id, line.sku, line.listing_external_id,
                                  sku_id, line.quantity, line.unit_price])
                if sku_id is None:
                    if cutoffs.taken_over:  # history needs no link to be right
                        booked.unlinked.append((line.listing_external_id, line.sku))
                    continue
                key = f"sale:{account}:{ext}:{line.external_id}"
                if cutoffs.sale_is_history(line.listing_external_id, order.created_at):
                    moves.append((sku_id, HISTORY, 0, key, account, ext, BEFORE_TAKEOVER))
                    continue
                moves.append((sku_id, "sale", -line.quantity, key, account, ext, ""))
                if binding_id is not None and order.channel_decremented:
                    channel[key] = (binding_id, -line.quantity)
                    sold_at[key] = (line.listing_external_id or "", order.created_at)
            for restock in order.restocks:
                binding_id, sku_id = resolved.get(restock.line_external_id, (None, None))
                if sku_id is None or restock.quantity <= 0:
                    continue
                key = f"restock:{account}:{ext}:{restock.key}"
                listing = next((ln.listing_external_id for ln in order.lines
                                if ln.external_id == restock.line_external_id), None)
                if cutoffs.restock_is_history(listing, order.updated_at):
                    moves.append((sku_id, HISTORY, 0, key, account, ext, BEFORE_TAKEOVER))
                    continue
                moves.append((sku_id, "restock", restock.quantity, key, account, ext, ""))
                if binding_id is not None and restock.channel_applied:
                    channel[key] = (binding_id, restock.quantity)
        # PostgreSQL runs the orders' upsert while the rows above are built, and the
        # movements' insert while the lines are sent; a result waits for all sent before.
        ids, booked.new_orders = order_ids()
        new_moves = _send_movements(session, moves, now)
        for row in line_rows:
            row[0] = ids[row[0]]
        _insert_rows(session, _table(m.OrderLine), LINE_COLUMNS, line_rows,
                     "ON CONFLICT (order_id, external_id) DO NOTHING")
        followed: list[str] = []
        for key, sku_id, delta in _fold_into_on_hand(session, new_moves()):
            booked.movements += 1
            if delta:
                booked.sku_deltas[sku_id] = booked.sku_deltas.get(sku_id, 0) + delta
            if key in channel:
                followed.append(key)
        if blind_writes is None:
            _follow_channel(session, booked, channel, followed)
    if blind_writes is not None:
        raced: dict[int, int] = {}
        for key in _raced(session, account, blind_writes,
                          {k: sold_at[k] for k in followed if k in sold_at}):
            bid, cdelta = channel.pop(key)
            raced[bid] = raced.get(bid, 0) - cdelta
        _follow_channel(session, booked, channel, followed)
        _add_to(session, _table(m.Binding), "raced_qty", raced)
    return booked


def _follow_channel(session: Session, booked: Booked, channel: Mapping[str, tuple[int, int]],
                    keys: Sequence[str]) -> None:
    """The selling channel moved its own quantities for these new movements: follow."""
    for key in keys:
        if key in channel:
            bid, cdelta = channel[key]
            booked.channel_deltas[bid] = booked.channel_deltas.get(bid, 0) + cdelta
    _apply_channel_deltas(session, booked.channel_deltas)


# A sale this close to one of our blind writes to its listing may have been erased by
# it: Etsy stamps receipts in whole seconds, and its clock is not quite ours.
RACE_SLACK_S = 2.0
# A write whose answer never came (the process died, the connection dropped) landed, if
# it landed, within this long of being sent.
UNANSWERED_WRITE_S = 60.0


def _raced(session: Session, account: str, group: Callable[[str], str],
           sales: Mapping[str, tuple[str, datetime]]) -> set[str]:
    """Sales (source_key -> (listing external id, made at)) made while a write of ours to
    the same listing was in flight, between its read and its answer. A write replaces
    every listing sharing its `group` prefix (an Etsy listing's variants, though we
    wrote only one of them).

    On a channel without compare-and-set the write most likely replaced the quantity the
    sale had just lowered, so the channel still shows that unit: taking the sale off our
    belief as well would leave the belief a unit below the channel, every later push
    refused as stale and the unit on sale. It is left on the belief instead, and the
    binding's raced_qty lets the next read settle which it was.
    """
    if not sales:
        return set()
    slack = timedelta(seconds=RACE_SLACK_S)
    since = min(at for _, at in sales.values()) - slack - timedelta(seconds=UNANSWERED_WRITE_S)
    p, b = _table(m.Push), _table(m.Binding)
    prefixes = sorted({group(ext) for ext, _ in sales.values()})
    same = or_(*(b.c.external_id.startswith(pre, autoescape=True) for pre in prefixes))
    windows: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    rows: Any = session.execute(
        select(b.c.external_id, p.c.created_at, p.c.completed_at)
        .join(b, b.c.id == p.c.binding_id)
        .where(b.c.account == account, same, p.c.status != "stale", p.c.created_at >= since))
    for ext, sent, answered in rows:
        end = answered or sent + timedelta(seconds=UNANSWERED_WRITE_S)
        windows[group(ext)].append((sent - slack, end + slack))
    return {key for key, (ext, at) in sales.items()
            if any(start <= at <= end for start, end in windows.get(group(ext), ()))}


def _upsert_orders(
    session: Session, account: str, orders: Sequence[Order]
) -> Callable[[], tuple[dict[str, int], int]]:
    """Insert or update the order book rows.

    Returns a function giving ({external_id: order id}, how many orders were new).
    """
    session.connection()  # begins the transaction (SQLite: takes the write lock) first
    now = m.utcnow()
    # One row per order (an upsert cannot touch a row twice); the last version wins.
    rows = list({o.external_id: (
        account, o.external_id, o.status, o.currency, o.total, o.created_at, o.updated_at,
        now) for o in orders}.values())
    table = _table(m.Order)
    pg = _is_pg(session)
    # Which rows this statement inserted: PostgreSQL says so (xmax = 0); on SQLite an
    # updated row keeps the recorded_at of an earlier transaction, and `now` was taken
    # under this transaction's write lock (BEGIN IMMEDIATE), so no other one shares it.
    stamp = table.c.recorded_at.type._cached_bind_processor(session.get_bind().dialect)
    mine = stamp(now) if stamp is not None else now
    # An older version of an order (an overlapping poll, a slow process) never overwrites
    # a newer one; the row is still touched so RETURNING gives every order's id.
    newer = "excluded.updated_at >= orders.updated_at"
    fetch = _insert_rows(
        session, table, ("account", "external_id", "status", "currency", "total",
                         "created_at", "updated_at", "recorded_at"), rows,
        "ON CONFLICT (account, external_id) DO UPDATE SET "
        f"status = CASE WHEN {newer} THEN excluded.status ELSE orders.status END, "
        f"total = CASE WHEN {newer} THEN excluded.total ELSE orders.total END, "
        f"updated_at = CASE WHEN {newer} THEN excluded.updated_at ELSE orders.updated_at END",
        f"external_id, id, {'xmax = 0' if pg else 'recorded_at'}")

    def result() -> tuple[dict[str, int], int]:
        found = fetch()
        new = sum(1 for _, _, n in found if (n is True if pg else n == mine))
        return {ext: oid for ext, oid, _ in found}, new

    return result


def insert_movements(session: Session, moves: Sequence[Move]) -> list[tuple[str, int, int]]:
    """Append movements not seen before and fold them into on_hand.

    Returns (source_key, sku_id, delta) of the movements that were new.
    """
    return _fold_into_on_hand(session, _send_movements(session, moves)())


def _send_movements(session: Session, moves: Sequence[Move],
                    now: datetime | None = None) -> Fetch:
    """Insert the movements not seen before; fetch: their (source_key, sku_id, delta).

    now: the engine's clock (what its reads and pushes are stamped with), else the wall's.
    """
    now = now or m.utcnow()
    rows = sorted(((*mv, now) for mv in moves), key=itemgetter(3))  # by source_key
    return _insert_rows(session, _table(m.Movement), (*MOVE_COLUMNS, "created_at"), rows,
                        "ON CONFLICT (source_key) DO NOTHING", "source_key, sku_id, delta")


def _fold_into_on_hand(session: Session, new: list[Any]) -> list[tuple[str, int, int]]:
    """Add the new movements' deltas to their SKUs' on_hand; returns them as given."""
    totals: dict[int, int] = defaultdict(int)
    for _, sku_id, delta in new:
        totals[sku_id] += delta
    _add_to(session, _table(m.Sku), "on_hand", totals)
    return new


def _add_to(session: Session, table: Table, column: str, deltas: Mapping[int, int],
            only_set: bool = False) -> None:
    """Add deltas[id] to `column` of each row, locking rows in id order (no deadlocks).

    only_set: leave rows whose column is NULL as they are.
    """
    rows = sorted((k, d) for k, d in deltas.items() if d)
    if not rows:
        return
    name = table.name
    when_set = f" AND {name}.{column} IS NOT NULL" if only_set else ""
    cursor = _driver_cursor(session)
    if not _is_pg(session):  # in-process: the driver's executemany is the fast path
        cursor.executemany(f"UPDATE {name} SET {column} = {column} + ? WHERE id = ?"
                           f"{when_set}", [(d, k) for k, d in rows])
        cursor.close()
        return
    # PostgreSQL: one statement. UPDATE … FROM locks rows in whatever order its plan
    # reads them, so the sub-select takes the row locks, in id order, and the update
    # only reaches rows it has locked (NO KEY UPDATE, as an UPDATE takes: it must not
    # conflict with foreign-key checks).
    cursor.execute(
        f"UPDATE {name} SET {column} = {name}.{column} + v.d FROM ("
        f"SELECT id, d FROM {name} JOIN unnest(%t::bigint[], %t::integer[]) AS u(k, d)"
        f" ON id = k ORDER BY id FOR NO KEY UPDATE OF {name}) AS v"
        f" WHERE {name}.id = v.id{when_set}",
        # Arrays as text literals: psycopg dumps a list element by element in Python.
        ["{" + ",".join([str(k) for k, _ in rows]) + "}",
         "{" + ",".join([str(d) for _, d in rows]) + "}"])


def _apply_channel_deltas(session: Session, deltas: Mapping[int, int]) -> None:
    """The selling channel moved its own quantity; follow it instead of pushing."""
    _add_to(session, _table(m.Binding), "observed_qty", deltas, only_set=True)


def record_movement(session: Session, *, sku_id: int, kind: str, delta: int, source_key: str,
                    account: str | None = None, reason: str = "") -> bool:
    """Append one movement; False when its source key was recorded before."""
    return bool(insert_movements(session, [(sku_id, kind, delta, source_key, account, None,
                                            reason)]))


def on_hand(session: Session, sku_id: int) -> int:
    return int(session.scalar(select(m.Sku.on_hand).where(m.Sku.id == sku_id)) or 0)


def recount(session: Session) -> dict[int, tuple[int, int]]:
    """SKUs whose cached on_hand differs from the sum of movements: {id: (cached, sum)}."""
    sums = dict(session.execute(select(m.Movement.sku_id, func.sum(m.Movement.delta))
                                .group_by(m.Movement.sku_id)).all())
    return {sid: (cached, int(sums.get(sid) or 0))
            for sid, cached in session.execute(select(m.Sku.id, m.Sku.on_hand))
            if cached != int(sums.get(sid) or 0)}


def load_cursor(session: Session, account: str, stream: str) -> str | None:
    return session.scalar(select(m.Cursor.value).where(
        m.Cursor.account == account, m.Cursor.stream == stream))


def save_cursor(session: Session, account: str, stream: str, value: str | None,
                now: datetime) -> None:
    stmt = _insert(session, m.Cursor).values(account=account, stream=stream, value=value,
                                             updated_at=now)
    session.execute(stmt.on_conflict_do_update(
        index_elements=["account", "stream"], set_={"value": value, "updated_at": now}))


def add_rejected(session: Session, account: str, stream: str,
                 records: Iterable[Rejected]) -> int:
    rows = [{"account": account, "stream": stream, "external_id": r.external_id,
             "reason": r.reason, "raw": r.raw} for r in records]
    if rows:
        session.execute(_insert(session, m.RejectedRecord), rows)
    return len(rows)


def add_alert(session: Session, *, event: str, severity: str, message: str,
              account: str | None = None, sku_id: int | None = None,
              dedupe_key: str | None = None, fields: Mapping[str, Any] | None = None,
              now: datetime) -> bool:
    """Store an alert; False when one with the same dedupe key exists already."""
    stmt = _insert(session, m.Alert).values(
        event=event, severity=severity, message=message, account=account, sku_id=sku_id,
        dedupe_key=dedupe_key, fields=dict(fields or {}), created_at=now,
    ).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(m.Alert.id)
    return session.execute(stmt).first() is not None


def account_state(session: Session, account: str) -> m.AccountState:
    """The account's health row, created on first use."""
    state = session.get(m.AccountState, account)
    if state is None:
        state = m.AccountState(account=account, consecutive_failures=0, last_error="",
                               paused=False)
        session.add(state)
        session.flush()
    return state
