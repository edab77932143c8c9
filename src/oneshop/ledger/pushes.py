"""The `pushes` log: every stock write asked of a channel, written before asking (its
id goes to the channel as the write's idempotency key) and completed with the answer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from oneshop.ledger import binding, catalog
from oneshop.ledger import models as m
from oneshop.values import PushResult


def log_pushes(s: Session, account: str, todo: Sequence[catalog.Target],
               now: datetime) -> list[int]:
    """One row per listing, before asking; their ids in the order of `todo`."""
    rows = [m.Push(account=account, binding_id=t.binding_id, sku_id=t.sku_id,
                   quantity=t.published, observed_before=t.observed, created_at=now)
            for t in todo]
    s.add_all(rows)
    # A push to 0 may take the listing off sale (Etsy). Own that before asking: if the
    # answer is lost (crash, dropped connection), the listing must still come back when
    # stock does. A definite answer sets the flag right afterwards.
    binding.claim_deactivation(
        s, [t.binding_id for t in todo if t.published == 0 and not t.deactivated_by_us])
    s.flush()
    return [r.id for r in rows]


def record_answer(s: Session, push_id: int, answer: PushResult, now: datetime) -> None:
    s.execute(update(m.Push).where(m.Push.id == push_id).values(
        status=answer.status, observed_after=answer.observed, detail=answer.detail[:2000],
        completed_at=now))


def record_failed(s: Session, push_ids: Sequence[int], error: str, now: datetime) -> None:
    """The call failed after its retries: none of its writes is known to have landed."""
    s.execute(update(m.Push).where(m.Push.id.in_(list(push_ids))).values(
        status="failed", detail=error[:2000], completed_at=now))


def zeros_not_through(s: Session, binding_ids: Sequence[int]) -> set[int]:
    """Those of these listings whose latest push asked for 0 and never came back
    confirmed (stale, failed, unanswered): sending that 0 again changes nothing we
    publish (the bulk-zero guard let it through, or the seller released it)."""
    if not binding_ids:
        return set()
    latest = (select(func.max(m.Push.id).label("id"))
              .where(m.Push.binding_id.in_(list(binding_ids)))
              .group_by(m.Push.binding_id).subquery())
    return set(s.scalars(select(m.Push.binding_id).join(latest, latest.c.id == m.Push.id)
                         .where(m.Push.quantity == 0,
                                m.Push.status.in_(("pending", "stale", "failed")))))
