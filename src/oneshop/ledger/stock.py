"""SKUs and their stock: the append-only movements and the cached on_hand they sum to.

Idempotency comes from unique constraints (INSERT … ON CONFLICT on the source key),
never from "check then insert": a movement recorded twice changes stock once.
Take a Session, never commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from oneshop.ledger import bulk
from oneshop.ledger import models as m

# A movement row as the hot path builds it: a plain tuple in this column order.
MOVE_COLUMNS = ("sku_id", "kind", "delta", "source_key", "account", "order_external_id",
                "reason")
Move = tuple[int, str, int, str, str | None, str | None, str]
# Session.info key of the operator batch being recorded (ledger.batches).
BATCH_KEY = "oneshop.operator_batch"


def sku_ids(session: Session, skus: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    table = bulk.table_of(m.Sku)
    rows: Any = session.connection().execute(
        select(table.c.sku, table.c.id).where(bulk.among(session, table.c.sku, wanted)))
    return {str(sku): int(sku_id) for sku, sku_id in rows}


def ensure_skus(session: Session, skus: Mapping[str, str]) -> dict[str, int]:
    """Ids for the given SKUs (sku -> title), creating the missing ones."""
    if skus:
        stmt = bulk.insert(session, m.Sku).on_conflict_do_nothing(index_elements=["sku"])
        session.execute(stmt, [{"sku": s, "title": t, "on_hand": 0} for s, t in skus.items()])
    return sku_ids(session, skus)


def send_movements(session: Session, moves: Sequence[Move],
                   now: datetime | None = None) -> bulk.Fetch:
    """Insert the movements not seen before; fetch: their (source_key, sku_id, delta).

    now: the engine's clock (what its reads and pushes are stamped with), else the wall's.
    """
    now = now or m.utcnow()
    rows = sorted(((*mv, now) for mv in moves), key=itemgetter(3))  # by source_key
    return bulk.insert_rows(session, bulk.table_of(m.Movement), (*MOVE_COLUMNS, "created_at"),
                            rows, "ON CONFLICT (source_key) DO NOTHING",
                            "source_key, sku_id, delta")


def fold_into_on_hand(session: Session, new: list[Any]) -> list[tuple[str, int, int]]:
    """Add the new movements' deltas to their SKUs' on_hand; returns them as given."""
    totals: dict[int, int] = defaultdict(int)
    for _, sku_id, delta in new:
        totals[sku_id] += delta
    bulk.add_to(session, bulk.table_of(m.Sku), "on_hand", totals)
    return new


def insert_movements(session: Session, moves: Sequence[Move],
                     at: datetime | None = None) -> list[tuple[str, int, int]]:
    """Append movements not seen before (stamped `at`, else now) and fold them into
    on_hand.

    Returns (source_key, sku_id, delta) of the movements that were new. Inside an
    operator batch (`ledger.batches.operator_batch`) they carry its id.
    """
    new = fold_into_on_hand(session, send_movements(session, moves, at)())
    batch_id = session.info.get(BATCH_KEY)
    if batch_id is not None and new:
        session.execute(update(m.Movement).where(m.Movement.source_key.in_(
            [key for key, _, _ in new])).values(batch_id=batch_id))
    return new


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
