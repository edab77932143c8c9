"""Store functions: take a Session, never commit (the sync engine owns transactions).

Idempotency comes from unique constraints (INSERT … ON CONFLICT), never from
"check then insert": the same order recorded by overlapping polls or by two processes
at once changes stock exactly once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, Table, any_, bindparam, func, select, update
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


def _insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]],
                 tail: str) -> list[Any]:
    """One multi-row INSERT … `tail` (ON CONFLICT …, RETURNING …) through the driver.

    The hot path of order ingestion: SQLAlchemy's per-row parameter handling costs more
    than the database's work here, so values go through each column's bind processor
    and then straight to the driver, in one statement (one round trip) per page.
    """
    if not rows:
        return []
    conn = session.connection()
    dialect = conn.dialect
    cols = list(rows[0])
    procs = [table.c[c].type._cached_bind_processor(dialect) for c in cols]
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    one = "(" + ", ".join([mark] * len(cols)) + ")"
    columns = []
    for c, proc in zip(cols, procs, strict=True):
        values = [row[c] for row in rows]
        if proc is not None:
            done: dict[Any, Any] = {}  # timestamps repeat within a page: convert once
            values = [done[v] if v in done else done.setdefault(v, proc(v)) for v in values]
        columns.append(values)
    if dialect.name == "postgresql":
        # One array per column: the statement text is the same for every page, so the
        # server parses and plans it once (a VALUES list of 2,000 parameters is re-planned
        # on every page).
        arrays = ", ".join(f"%s::{table.c[c].type.compile(dialect=dialect)}[]" for c in cols)
        sql = (f"INSERT INTO {table.name} ({', '.join(cols)}) "
               f"SELECT * FROM unnest({arrays}) {tail}")
        result = conn.exec_driver_sql(sql, tuple(columns))
        return list(result) if result.returns_rows else []
    params = [v for row_values in zip(*columns, strict=True) for v in row_values]
    sql = (f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES "
           + ", ".join([one] * len(rows)) + " " + tail)
    result = conn.exec_driver_sql(sql, tuple(params))
    return list(result) if result.returns_rows else []


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
    listing_ids = {ln.listing_external_id for o in orders for ln in o.lines}
    listing_ids.discard(None)
    by_listing: dict[str, tuple[int | None, int | None]] = {}
    if listing_ids:
        b = _table(m.Binding)
        rows: Any = session.connection().execute(
            select(b.c.external_id, b.c.id, b.c.sku_id).where(
                b.c.account == account, _among(session, b.c.external_id, sorted(listing_ids))
            )
        )
        by_listing = {str(ext): (bid, sid) for ext, bid, sid in rows}
    # Only lines that no bound listing resolves need their SKU text looked up.
    by_sku = sku_ids(session, (ln.sku for o in orders for ln in o.lines if ln.sku and
                               by_listing.get(ln.listing_external_id or "", (0, None))[1]
                               is None))
    return by_listing, by_sku


def record_orders(session: Session, account: str, orders: Sequence[Order]) -> Booked:
    """Record a page of orders: order book rows, lines, and their stock movements."""
    booked = Booked()
    if not orders:
        return booked
    # Every row is written in key order, so concurrent writers lock in the same order
    # and never deadlock (PostgreSQL).
    orders = sorted(orders, key=lambda o: o.external_id)
    by_listing, by_sku = _line_targets(session, account, orders)
    order_ids = _upsert_orders(session, account, orders, booked)
    line_rows: list[dict[str, Any]] = []
    moves: list[dict[str, Any]] = []
    channel: dict[str, tuple[int, int]] = {}  # source_key -> (binding_id, channel delta)
    for order in orders:
        resolved: dict[str, tuple[int | None, int | None]] = {}
        for line in order.lines:
            known = by_listing.get(line.listing_external_id or "")
            binding_id, sku_id = known or (None, None)
            if known is None and line.sku:  # no listing we know: match the SKU exactly
                sku_id = by_sku.get(line.sku)
            resolved[line.external_id] = (binding_id, sku_id)
            line_rows.append({
                "order_id": order_ids[order.external_id], "external_id": line.external_id,
                "sku": line.sku, "listing_external_id": line.listing_external_id,
                "sku_id": sku_id, "quantity": line.quantity, "unit_price": line.unit_price,
            })
            if sku_id is None:
                booked.unlinked.append((line.listing_external_id, line.sku))
                continue
            key = f"sale:{account}:{order.external_id}:{line.external_id}"
            moves.append(_move(sku_id, "sale", -line.quantity, key, account, order.external_id))
            if binding_id is not None and order.channel_decremented:
                channel[key] = (binding_id, -line.quantity)
        for restock in order.restocks:
            binding_id, sku_id = resolved.get(restock.line_external_id, (None, None))
            if sku_id is None or restock.quantity <= 0:
                continue
            key = f"restock:{account}:{order.external_id}:{restock.key}"
            moves.append(_move(sku_id, "restock", restock.quantity, key, account,
                               order.external_id))
            if binding_id is not None and restock.channel_applied:
                channel[key] = (binding_id, restock.quantity)
    if line_rows:
        _insert_rows(session, _table(m.OrderLine), line_rows,
                     "ON CONFLICT (order_id, external_id) DO NOTHING")
    for key, sku_id, delta in insert_movements(session, moves):
        booked.movements += 1
        booked.sku_deltas[sku_id] = booked.sku_deltas.get(sku_id, 0) + delta
        if key in channel:
            bid, cdelta = channel[key]
            booked.channel_deltas[bid] = booked.channel_deltas.get(bid, 0) + cdelta
    _apply_channel_deltas(session, booked.channel_deltas)
    return booked


def _move(sku_id: int, kind: str, delta: int, key: str, account: str | None,
          order: str | None = None, reason: str = "") -> dict[str, Any]:
    return {"sku_id": sku_id, "kind": kind, "delta": delta, "source_key": key,
            "account": account, "order_external_id": order, "reason": reason}


def _upsert_orders(
    session: Session, account: str, orders: Sequence[Order], booked: Booked
) -> dict[str, int]:
    """Insert or update the order book rows; returns {external_id: order id}."""
    session.connection()  # begins the transaction (SQLite: takes the write lock) first
    now = m.utcnow()
    # One row per order (an upsert cannot touch a row twice); the last version wins.
    rows = list({o.external_id: {
        "account": account, "external_id": o.external_id, "status": o.status,
        "currency": o.currency, "total": o.total, "created_at": o.created_at,
        "updated_at": o.updated_at, "recorded_at": now,
    } for o in orders}.values())
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
    found = _insert_rows(session, table, rows, (
        "ON CONFLICT (account, external_id) DO UPDATE SET "
        f"status = CASE WHEN {newer} THEN excluded.status ELSE orders.status END, "
        f"total = CASE WHEN {newer} THEN excluded.total ELSE orders.total END, "
        f"updated_at = CASE WHEN {newer} THEN excluded.updated_at ELSE orders.updated_at END "
        f"RETURNING external_id, id, {'xmax = 0' if pg else 'recorded_at'}"))
    booked.new_orders = sum(1 for _, _, new in found if (new is True if pg else new == mine))
    return {ext: oid for ext, oid, _ in found}


def insert_movements(
    session: Session, moves: Sequence[dict[str, Any]]
) -> list[tuple[str, int, int]]:
    """Append movements not seen before and fold them into on_hand.

    Returns (source_key, sku_id, delta) of the movements that were new.
    """
    if not moves:
        return []
    now = m.utcnow()
    rows = sorted(({**mv, "created_at": now} for mv in moves),
                  key=lambda mv: str(mv["source_key"]))
    result = _insert_rows(session, _table(m.Movement), rows,
                          "ON CONFLICT (source_key) DO NOTHING "
                          "RETURNING source_key, sku_id, delta")
    new: list[tuple[str, int, int]] = [(str(k), int(s), int(d)) for k, s, d in result]
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
    conn, col = session.connection(), table.c[column]
    cond = [col.is_not(None)] if only_set else []
    if not _is_pg(session):  # in-process: the driver's executemany is the fast path
        conn.exec_driver_sql(
            f"UPDATE {table.name} SET {column} = {column} + ? WHERE id = ?"
            + (f" AND {column} IS NOT NULL" if only_set else ""),
            [(d, k) for k, d in rows])
        return
    # PostgreSQL: two round trips instead of one per row; the FOR UPDATE takes the row
    # locks in id order first, since UPDATE … FROM locks in whatever order its plan reads
    # (NO KEY UPDATE, as an UPDATE takes: it must not conflict with foreign-key checks).
    ids = [k for k, _ in rows]
    conn.execute(select(table.c.id).where(_among(session, table.c.id, ids)).order_by(table.c.id)
                 .with_for_update(key_share=True)).close()
    v = select(
        func.unnest(bindparam("ids", ids, type_=postgresql.ARRAY(BigInteger))).label("k"),
        func.unnest(bindparam("ds", [d for _, d in rows], type_=postgresql.ARRAY(Integer)))
        .label("d"),
    ).subquery("v")
    conn.execute(update(table).where(table.c.id == v.c.k, *cond).values({col: col + v.c.d}))


def _apply_channel_deltas(session: Session, deltas: Mapping[int, int]) -> None:
    """The selling channel moved its own quantity; follow it instead of pushing."""
    _add_to(session, _table(m.Binding), "observed_qty", deltas, only_set=True)


def record_movement(session: Session, *, sku_id: int, kind: str, delta: int, source_key: str,
                    account: str | None = None, reason: str = "") -> bool:
    """Append one movement; False when its source key was recorded before."""
    return bool(insert_movements(session, [_move(sku_id, kind, delta, source_key, account,
                                                 None, reason)]))


def on_hand(session: Session, sku_id: int) -> int:
    return int(session.scalar(select(m.Sku.on_hand).where(m.Sku.id == sku_id)) or 0)


def recount(session: Session) -> dict[int, tuple[int, int]]:
    """SKUs whose cached on_hand differs from the sum of movements: {id: (cached, sum)}."""
    from sqlalchemy import func

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
