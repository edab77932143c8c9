"""The bulk-zero guard: a push batch that would take a large share of an account's
listings to 0 for reasons other than sales is held until the seller releases it.

A config mistake (a `reserve` of 1000), a takeover or a link gone wrong would otherwise
zero a catalog in one cycle (the seller's fear #8 in DESIGN.md). Sales never trip it:
a listing that goes to 0 with sales booked since its last read is let through, however
many there are, so the backlog after a day of downtime goes out at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from oneshop import alerts
from oneshop.ledger import catalog
from oneshop.ledger import models as m
from oneshop.ledger.account_state import account_state
from oneshop.ledger.db import transaction

log = structlog.get_logger("oneshop.guard")
MIN_LISTINGS = 2  # one listing going to 0 is an ordinary adjustment, never held


class BulkGuard:
    def __init__(self, sessions: sessionmaker[Session], *, share: float) -> None:
        self.sessions = sessions
        self.share = share

    def screen(self, account: str, todo: Sequence[catalog.Target], now: datetime, *,
               full: bool) -> list[catalog.Target]:
        """The targets that may go out now; the unexplained zeros are held when there
        are too many of them (or the account is held already).

        full: `todo` is everything out of step on the account, so a hold with nothing
        unexplained left in it has ended (the change was undone)."""
        zeros = [t for t in todo if t.published == 0 and (t.observed is None or t.observed > 0)]
        if not zeros and not (full and self._held(account)):
            return list(todo)
        with transaction(self.sessions) as s:
            state = account_state(s, account)
            if state.release_once and zeros:  # `oneshop release`: this batch goes as planned
                state.release_once, state.hold_reason = False, None
                return list(todo)
            unexplained = _not_from_sales(s, zeros) if zeros else []
            total = _bound_listings(s, account)
            if state.hold_reason is not None and not unexplained and full:
                state.hold_reason = None
                alerts.resolve(s, "bulk_change_held", now=now, account=account)
                log.info("bulk_change.resolved", account=account)
                return list(todo)
            if state.hold_reason is None and not (
                    len(unexplained) >= MIN_LISTINGS and len(unexplained) > self.share * total):
                return list(todo)
            held_ids = {t.binding_id for t in unexplained}
            first = state.hold_reason is None
            reason = (f"{len(unexplained)} of {total} listings would go to 0 for reasons "
                      "other than sales")
            if first and held_ids:
                state.hold_reason = reason
                alerts.raise_alert(
                    s, "bulk_change_held", "critical", reason, now=now, account=account,
                    fields={"listings": len(unexplained), "of": total,
                            "skus": [t.sku for t in unexplained][:20],
                            "action": "check the config, adjustments and links; if the "
                                      f"change is right, run `oneshop release {account}`"})
        return [t for t in todo if t.binding_id not in held_ids]


    def _held(self, account: str) -> bool:
        with self.sessions() as s:
            return s.scalar(select(m.AccountState.hold_reason)
                            .where(m.AccountState.account == account)) is not None


def _not_from_sales(s: Session, zeros: Sequence[catalog.Target]) -> list[catalog.Target]:
    """Zeros without a sale of their SKU booked since the listing was last read."""
    # One query for every zero (a bulk change can zero thousands of listings).
    reads = list(s.scalars(select(m.Binding.read_at).where(
        m.Binding.id.in_({t.binding_id for t in zeros}))))
    since = None if None in reads else min(r for r in reads if r is not None)
    q = (select(m.Movement.sku_id).where(m.Movement.kind == "sale",
                                         m.Movement.sku_id.in_({t.sku_id for t in zeros}))
         .group_by(m.Movement.sku_id))
    if since is not None:
        q = q.where(m.Movement.created_at >= since)
    sold = set(s.scalars(q))
    return [t for t in zeros if t.sku_id not in sold]


def _bound_listings(s: Session, account: str) -> int:
    return int(s.scalar(select(func.count(m.Binding.id)).where(
        m.Binding.account == account, m.Binding.sku_id.is_not(None))) or 0)


def release(s: Session, account: str) -> str | None:
    """Let the account's next push batch go out unguarded; the reason it was held."""
    state = account_state(s, account)
    reason = state.hold_reason
    state.hold_reason, state.release_once = None, True
    if reason is not None:
        alerts.resolve(s, "bulk_change_held", now=datetime.now(UTC), account=account)
    return reason
