"""Each account's health row: failures, pause, takeover, budget, the bulk-change hold.
Every write to it is here, one function per event; readers get `AccountHealth` values.

`status` and `health` read the failure columns; the poll stretching (oneshop.conditions)
reads `last_attempt_at`. Only finished jobs write them (oneshop.coordinator): a job that
never started (its account busy, the service stopping) leaves no trace. `account_state`
hands out the row itself only to the takeover (ledger.takeover). Take a Session, never
commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from oneshop.ledger import models as m

ERROR_CHARS = 2000  # of an error kept as `last_error` (an HTML error page can be huge)

@dataclass(frozen=True, slots=True, kw_only=True)
class AccountHealth:
    """An account's health as stored (the defaults: never recorded)."""

    account: str
    consecutive_failures: int = 0
    paused: bool = False
    last_error: str = ""
    last_success_at: datetime | None = None
    last_attempt_at: datetime | None = None
    budget_remaining: int | None = None
    budget_limit: int | None = None
    hold_reason: str | None = None  # the bulk-zero guard holds its pushes
    release_once: bool = False  # `oneshop release`: the next batch goes as planned


def account_state(session: Session, account: str) -> m.AccountState:
    """The account's health row, created on first use."""
    state = session.get(m.AccountState, account)
    if state is None:
        state = m.AccountState(account=account, consecutive_failures=0, last_error="",
                               paused=False)
        session.add(state)
        session.flush()
    return state


def _value(row: m.AccountState) -> AccountHealth:
    return AccountHealth(
        account=row.account, consecutive_failures=row.consecutive_failures or 0,
        paused=bool(row.paused), last_error=row.last_error or "",
        last_success_at=row.last_success_at, last_attempt_at=row.last_attempt_at,
        budget_remaining=row.budget_remaining, budget_limit=row.budget_limit,
        hold_reason=row.hold_reason, release_once=bool(row.release_once))


def health(session: Session, account: str) -> AccountHealth:
    """The account's health, its row created on first use."""
    return _value(account_state(session, account))


def recorded_health(session: Session, account: str) -> AccountHealth | None:
    """The account's health, None when nothing was ever recorded for it."""
    row = session.get(m.AccountState, account)
    return None if row is None else _value(row)


def is_paused(session: Session, account: str) -> bool:
    row = session.get(m.AccountState, account)
    return bool(row is not None and row.paused)


def every_health(session: Session) -> dict[str, AccountHealth]:
    return {row.account: _value(row) for row in session.scalars(select(m.AccountState))}


def hold_reason(session: Session, account: str) -> str | None:
    """Why the bulk-zero guard holds the account's pushes (None: it does not)."""
    return session.scalar(select(m.AccountState.hold_reason)
                          .where(m.AccountState.account == account))


def set_hold(session: Session, account: str, reason: str | None, *,
             release_once: bool | None = None) -> None:
    """Hold (reason) or stop holding (None) the account's pushes; `release_once`: let
    its next batch go out as planned (True), or that batch went (False)."""
    state = account_state(session, account)
    state.hold_reason = reason
    if release_once is not None:
        state.release_once = release_once


def note_budget(session: Session, account: str, remaining: int | None,
                limit: int | None) -> None:
    """The API budget the channel reported last."""
    state = account_state(session, account)
    state.budget_remaining, state.budget_limit = remaining, limit


def note_push_failure(session: Session, account: str, error: str, *, pause: bool) -> None:
    """A push call failed after retries; refused credentials also pause the account."""
    state = account_state(session, account)
    state.last_error = error[:ERROR_CHARS]
    state.paused = bool(state.paused) or pause


def note_success(session: Session, account: str, *, now: datetime,
                 orders: bool) -> AccountHealth:
    """A job went through: the failure streak ends. Only an orders pull counts as the
    channel answering (`last_success_at`, what staleness is measured from)."""
    state = account_state(session, account)
    state.last_attempt_at = now
    if orders:
        state.last_success_at = now
    state.consecutive_failures = 0
    state.last_error = ""
    return _value(state)


def note_failure(session: Session, account: str, error: str, *, now: datetime,
                 refused: bool = False) -> AccountHealth:
    """A job failed after retries; `refused` credentials also pause the account."""
    state = account_state(session, account)
    state.last_attempt_at = now
    state.consecutive_failures += 1
    state.last_error = error[:ERROR_CHARS]
    state.paused = state.paused or refused
    return _value(state)


def resume(session: Session, account: str) -> None:
    """Un-pause; the episode of refused credentials ends with the next successful job."""
    state = account_state(session, account)
    state.paused = False
    state.consecutive_failures = 0
    request_full_plan(session, account)


def scanned(session: Session, account: str) -> bool:
    """The account's catalog was read at least once (it has a binding)."""
    return session.scalar(select(m.Binding.id).where(m.Binding.account == account)
                          .limit(1)) is not None


@dataclass(frozen=True, slots=True)
class PlanGate:
    """What a push plan reads first: whether it may push, and whether it must read the
    whole account (the guard holds it, or an operator changed something)."""

    paused: bool
    held: bool
    epoch: int


def plan_gate(session: Session, account: str) -> PlanGate:
    row = session.execute(select(m.AccountState.paused, m.AccountState.hold_reason,
                                 m.AccountState.plan_epoch)
                          .where(m.AccountState.account == account)).first()
    if row is None:
        return PlanGate(paused=False, held=False, epoch=0)
    return PlanGate(paused=bool(row.paused), held=row.hold_reason is not None,
                    epoch=int(row.plan_epoch or 0))


def request_full_plan(session: Session, account: str) -> None:
    """An operator change (link, unlink, release, resume) that may put the account's
    listings out of step without a movement: its next push plan reads every listing."""
    state = account_state(session, account)
    state.plan_epoch = int(state.plan_epoch or 0) + 1

