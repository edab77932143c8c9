"""What a job's end writes to its account's state row, and the alerts that end with it.

`status` and `health` read these columns; the poll stretching (oneshop.conditions) reads
`last_attempt_at`. Only finished jobs write here: a job that never started (its account
busy, the service stopping) leaves no trace.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from oneshop import alerts
from oneshop.ledger import models as m
from oneshop.ledger.account_state import account_state, is_paused, request_full_plan
from oneshop.ledger.db import transaction

AUTH_REFUSED = "credentials refused; the account is paused until they work again"


def succeeded(sessions: sessionmaker[Session], account: str, *, now: datetime,
              orders: bool) -> None:
    """A job went through: the failure streak ends; an orders pull ends a stale channel."""
    with transaction(sessions) as s:
        state = account_state(s, account)
        state.last_attempt_at = now
        if orders:
            state.last_success_at = now
            alerts.resolve(s, "channel_stale", now=now, account=account)
        state.consecutive_failures = 0
        state.last_error = ""
        if not state.paused:  # a push in this very job may have just paused it
            alerts.resolve(s, "auth_failed", now=now, account=account)


def failed(sessions: sessionmaker[Session], account: str, job: str, error: str, *,
           now: datetime, refused: bool = False) -> None:
    """A job failed; `refused` credentials also pause the account and raise `auth_failed`."""
    with transaction(sessions) as s:
        state = account_state(s, account)
        state.last_attempt_at = now
        state.consecutive_failures += 1
        state.last_error = error[:2000]
        state.paused = state.paused or refused
        if refused:
            alerts.raise_alert(s, "auth_failed", "critical", AUTH_REFUSED, now=now,
                               account=account, fields={"job": job, "error": error,
                                                        "action": alerts.advice(account)})


def paused(sessions: sessionmaker[Session], account: str) -> bool:
    with sessions() as s:
        return is_paused(s, account)


def resume(sessions: sessionmaker[Session], account: str) -> None:
    """Un-pause; the episode of refused credentials ends with the next successful job."""
    with transaction(sessions) as s:
        state = account_state(s, account)
        state.paused = False
        state.consecutive_failures = 0
        request_full_plan(s, account)


def scanned(sessions: sessionmaker[Session], account: str) -> bool:
    """The account's catalog was read at least once (it has a binding)."""
    with sessions() as s:
        return s.scalar(select(m.Binding.id).where(m.Binding.account == account)
                        .limit(1)) is not None
