"""The bulk-zero guard: a push batch that would take a large share of an account's
listings to 0 for reasons other than sales is held until the seller releases it.

A config mistake (a `reserve` of 1000), a takeover or a link gone wrong would otherwise
zero a catalog in one cycle (the seller's fear #8 in DESIGN.md). Sales never trip it:
a listing that goes to 0 with sales booked since its last read is let through, however
many there are, so the backlog after a day of downtime goes out at once. Nor does a
listing the seller raised by hand from 0 while its SKU was oversold: the adopted units
covered the oversold orders, and pushing 0 back puts back what oneshop published all along.
Nor does a 0 sent already that never got through (the channel moved under it): sending it
again changes nothing oneshop publishes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import structlog
from sqlalchemy.orm import Session, sessionmaker

from oneshop import alerts
from oneshop.ledger import account_state, catalog, pushes, typed_over
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
            state = account_state.health(s, account)
            if state.release_once and zeros:  # `oneshop release`: this batch goes as planned
                account_state.set_hold(s, account, None, release_once=False)
                return list(todo)
            unexplained = _not_from_sales(s, zeros) if zeros else []
            unexplained = typed_over.not_typed_over_oversold(s, account, unexplained)
            total = catalog.bound_listings(s, account)
            if state.hold_reason is not None and not unexplained and full:
                account_state.set_hold(s, account, None)
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
                account_state.set_hold(s, account, reason)
                alerts.raise_alert(
                    s, "bulk_change_held", "critical", reason, now=now, account=account,
                    fields={"listings": len(unexplained), "of": total,
                            "skus": [t.sku for t in unexplained][:20],
                            "action": "check the config, adjustments and links; if the "
                                      f"change is right, run `oneshop release {account}`"})
        return [t for t in todo if t.binding_id not in held_ids]


    def _held(self, account: str) -> bool:
        with self.sessions() as s:
            return account_state.hold_reason(s, account) is not None


def _not_from_sales(s: Session, zeros: Sequence[catalog.Target]) -> list[catalog.Target]:
    """Zeros without a sale of their SKU booked since the listing was last read, and
    not sent already: a 0 whose push the channel refused as stale (it moved under us:
    a hand edit not folded in yet) is read again by the reconcile, which must not turn
    that 0, owed to sales booked before the read, into one "for no sale"."""
    sold = catalog.sold_since_read(s, zeros)
    unsold = [t for t in zeros if t.sku_id not in sold]
    sent = pushes.zeros_not_through(s, [t.binding_id for t in unsold])
    return [t for t in unsold if t.binding_id not in sent]


def release(s: Session, account: str) -> str | None:
    """Let the account's next push batch go out unguarded; the reason it was held."""
    reason = account_state.health(s, account).hold_reason
    account_state.set_hold(s, account, None, release_once=True)
    account_state.request_full_plan(s, account)
    if reason is not None:
        alerts.resolve(s, "bulk_change_held", now=datetime.now(UTC), account=account)
    return reason
