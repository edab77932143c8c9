"""Listings the seller raised by hand from 0 while their SKU was oversold.

The adopted units covered the oversold orders, so the SKU published 0 before and after
the edit: pushing 0 back puts back what oneshop published all along, and the bulk-zero
guard (`oneshop.guard`) must not count it as a listing zeroed for no sale.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oneshop.ledger import catalog
from oneshop.ledger import models as m


def not_typed_over_oversold(s: Session, account: str, zeros: Sequence[catalog.Target]
                             ) -> list[catalog.Target]:
    """Zeros other than a listing still showing units the seller typed over its 0 while
    its SKU was oversold: its own hand edit is the SKU's last movement but sales, it
    raised the count and left it at most 0, so the SKU published 0 before and after it."""
    empty = {t.sku_id for t in zeros if t.on_hand <= 0}
    if not empty:
        return list(zeros)
    last = (select(m.Movement.sku_id, func.max(m.Movement.id).label("id"))
            .where(m.Movement.sku_id.in_(empty), m.Movement.kind != "sale")
            .group_by(m.Movement.sku_id).subquery())
    edits = {sku_id: (edit_id, key) for sku_id, edit_id, key in s.execute(
        select(m.Movement.sku_id, m.Movement.id, m.Movement.source_key)
        .join(last, last.c.id == m.Movement.id)
        .where(m.Movement.kind == "channel_edit", m.Movement.account == account,
               m.Movement.delta > 0))}
    if not edits:
        return list(zeros)
    later = dict(s.execute(
        select(m.Movement.sku_id, func.sum(m.Movement.delta))
        .join(last, (last.c.sku_id == m.Movement.sku_id) & (m.Movement.id > last.c.id))
        .where(m.Movement.sku_id.in_(set(edits))).group_by(m.Movement.sku_id)).all())
    return [t for t in zeros if not (
        t.sku_id in edits and t.on_hand - int(later.get(t.sku_id) or 0) <= 0
        and _edit_of(edits[t.sku_id][1], account, t.external_id))]


def _edit_of(source_key: str, account: str, listing: str) -> bool:
    """Is this `channel_edit` source key (`edit:ACCOUNT:LISTING:ISO-TIME`) the listing's?"""
    prefix = f"edit:{account}:{listing}:"
    if not source_key.startswith(prefix):
        return False
    try:
        datetime.fromisoformat(source_key[len(prefix):])
    except ValueError:
        return False  # another listing whose id starts with this one's and a colon
    return True
