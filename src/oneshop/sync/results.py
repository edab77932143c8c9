"""What a push's answers mean for the ledger: the `pushes` log, the binding's state
(`ledger/binding.py`), and the alerts. Store functions: they take a Session and never commit.

One function per answer status (`PushResult.status`):
- ok: the channel shows what we wrote;
- policy: the channel's zero-stock rule applied instead (Etsy takes a listing off sale);
- stale: the channel moved under us (a sale, a hand edit, or our own lost write);
- anything else: refused (a deleted listing, a validation error).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from oneshop import alerts
from oneshop.errors import AuthError
from oneshop.ledger import account_state, binding, catalog, pushes
from oneshop.ledger.drift import unconfirmed_push
from oneshop.values import PushResult

if TYPE_CHECKING:
    from oneshop.sync.push import PlannedPush



def apply(s: Session, account: str, planned: Sequence[PlannedPush],
          answers: Sequence[PushResult], now: datetime) -> list[catalog.Target]:
    """Record every answer; the listings that came back stale."""
    # The channel answered: an episode of pushes failing after retries is over.
    alerts.resolve(s, "push_failed", now=now, account=account)
    episodes = {event: alerts.open_subjects(s, event, account)
                for event in ("push_failed", "zero_stock_policy_applied")}
    stale: list[catalog.Target] = []
    for p, r in zip(planned, answers, strict=True):
        t = p.target
        pushes.record_answer(s, p.push_id, r, now)
        if r.status == "ok":
            _written(s, account, t, episodes, now)
        elif r.status == "policy":
            _held_by_policy(s, account, t, r, now)
        elif r.status == "stale":
            _moved(s, t, r, now)
            stale.append(t)
        else:
            _refused(s, account, t, r, now)
    return stale


def _written(s: Session, account: str, t: catalog.Target,
             episodes: Mapping[str, Mapping[str, object]], now: datetime) -> None:
    # What we wrote, not the read-back: a sale landing between the write and the
    # read-back is booked by the next pull, which lowers this too.
    binding.confirm_written(s, t.binding_id, t.published, now)
    for event, subjects in episodes.items():
        if t.external_id in subjects:
            alerts.resolve(s, event, now=now, account=account, subject=t.external_id)


def _held_by_policy(s: Session, account: str, t: catalog.Target, r: PushResult,
                    now: datetime) -> None:
    # "…left inactive (not deactivated by oneshop)" must not read as ours.
    deactivated = r.detail.startswith("deactivated") or (
        t.deactivated_by_us and r.listing is not None and r.listing.state != "active")
    # The state just read too: a held listing that comes back on sale (renewed by the
    # seller) is told from one that never left (drift.py).
    binding.hold_for_zero_policy(s, t.binding_id, r.observed, now, held=t.published,
                                 deactivated_by_us=deactivated,
                                 state=r.listing.state if r.listing is not None else None)
    if t.deactivated_by_us and r.detail.startswith("already off sale"):
        return  # sent along with a sibling variant: no news to tell
    alerts.raise_alert(s, "zero_stock_policy_applied", "info", f"{t.sku} on {account}: "
                       f"{r.detail}", now=now, account=account, subject=t.external_id,
                       sku_id=t.sku_id, remind=False,
                       fields={"sku": t.sku, "listing": t.external_id})


def _moved(s: Session, t: catalog.Target, r: PushResult, now: datetime) -> None:
    ours = t.deactivated_by_us
    if r.observed is not None and unconfirmed_push(s, t.binding_id, r.observed, t.observed):
        # Our own earlier write whose answer was lost (a crash, a timeout): believe the
        # channel, or every compare-and-set fails from now on.
        binding.believe_lost_push(s, t.binding_id, r.observed, now, deactivated_by_us=ours)
    elif catalog.raced_explains(t.observed, t.raced, r.observed):
        # A sale that raced a blind write and was not erased by it after all.
        binding.settle_race(s, t.binding_id, r.observed, now, deactivated_by_us=ours)
    elif (t.restock_pending and t.observed is not None
          and r.observed == t.observed + t.restock_pending):
        # The channel put a cancelled sale's units back itself (Etsy may).
        binding.settle_channel_restock(s, t.binding_id, r.observed, now,
                                       deactivated_by_us=ours)
    else:
        # Counted for the reconcile: pushes that never settle (drift.py).
        binding.count_stale_push(s, t.binding_id, t.observed, now, deactivated_by_us=ours)


def _refused(s: Session, account: str, t: catalog.Target, r: PushResult,
             now: datetime) -> None:
    # The same write would be refused every poll. Hold what it should show, so it goes
    # out again only when that changes or a push of it succeeds.
    binding.hold_refused(s, t.binding_id, t.observed, now, held=t.published,
                         deactivated_by_us=t.deactivated_by_us)
    alerts.raise_alert(s, "push_failed", "error", f"a stock push to {t.sku} on {account} "
                       "was refused", now=now, account=account, subject=t.external_id,
                       sku_id=t.sku_id, fields={"sku": t.sku, "listing": t.external_id,
                                                "detail": r.detail})


def push_failed(s: Session, account: str, planned: Sequence[PlannedPush],
                exc: Exception, now: datetime) -> None:
    """`push_stock` failed after its retries: every push of the call failed."""
    auth = isinstance(exc, AuthError)
    pushes.record_failed(s, [p.push_id for p in planned], str(exc), now)
    account_state.note_push_failure(s, account, str(exc), pause=auth)
    if auth:
        alerts.raise_alert(s, "auth_failed", "critical", "credentials refused; the account "
                           "is paused until they work again", now=now, account=account,
                           fields={"error": str(exc), "action": alerts.advice(account)})
    else:
        # One episode per account while its pushes keep failing, not a line a try.
        alerts.raise_alert(s, "push_failed", "error", "stock could not be pushed after "
                           "retries", now=now, account=account,
                           fields={"skus": [p.target.sku for p in planned][:20],
                                   "error": str(exc)})
