"""An account's pauses, as stored in its `account_state` row.

Three can hold an account, each for its own reason:
- the seller's (`oneshop pause`): orders are still pulled and booked, and every listing
  is published at 0, which each channel turns into off sale by its own means; it ends by
  `oneshop resume` or on its own at `pause_until`;
- the channel's (Etsy `is_vacation` read true): no pushes and no hand edits folded in,
  until the channel says it is back;
- refused credentials (`paused`): no job runs until they work again (`ledger.account_state`).

Take a Session, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from oneshop.ledger import models as m
from oneshop.ledger.account_state import account_state, request_full_plan

SELLER = "paused by the seller"
CREDENTIALS = "paused: credentials refused"
VACATION = "the channel says the shop is on vacation"


@dataclass(frozen=True, slots=True, kw_only=True)
class Pause:
    """The pauses an account is in (all None/False: none)."""

    account: str
    since: datetime | None = None  # the seller's pause
    until: datetime | None = None
    reason: str = ""
    batch: int | None = None
    credentials: bool = False
    error: str = ""
    vacation_since: datetime | None = None

    @property
    def seller(self) -> bool:
        return self.since is not None

    def any(self) -> bool:
        return self.seller or self.credentials or self.vacation_since is not None

    def as_dict(self) -> dict[str, Any]:
        return {"account": self.account, "paused": self.any(),
                "by_seller": self.seller,
                "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None,
                "reason": self.reason, "credentials": self.credentials,
                "vacation_since": (self.vacation_since.isoformat()
                                   if self.vacation_since else None)}

    def why(self) -> str:
        """One line for `status`: which pauses, why, until when."""
        parts = []
        if self.seller:
            until = f" until {self.until:%Y-%m-%d %H:%M}Z" if self.until else ""
            parts.append(f"{SELLER}{until}" + (f" ({self.reason})" if self.reason else ""))
        if self.vacation_since is not None:
            parts.append(VACATION)
        if self.credentials:
            parts.append(CREDENTIALS)
        return "; ".join(parts)


def _value(row: m.AccountState | None, account: str) -> Pause:
    if row is None:
        return Pause(account=account)
    return Pause(account=account, since=row.paused_at, until=row.pause_until,
                 reason=row.pause_reason or "", batch=row.pause_batch_id,
                 credentials=bool(row.paused), error=row.last_error or "",
                 vacation_since=row.vacation_at)


def pause_of(s: Session, account: str) -> Pause:
    return _value(s.get(m.AccountState, account), account)


def every_pause(s: Session) -> dict[str, Pause]:
    return {r.account: _value(r, r.account) for r in s.scalars(select(m.AccountState))}


def off_sale(s: Session, account: str, now: datetime) -> bool:
    """The seller's pause holds now: publish every listing of the account at 0. A pause
    whose `until` has come is ended here, in the push plan's own transaction."""
    row = s.get(m.AccountState, account)
    if row is None or row.paused_at is None:
        return False
    if row.pause_until is not None and row.pause_until <= now:
        _clear(row)
        request_full_plan(s, account)
        return False
    return True


def on_vacation(s: Session, account: str) -> bool:
    # The row by primary key: in the push plan's session it is loaded already (no query).
    row = s.get(m.AccountState, account)
    return row is not None and row.vacation_at is not None


def _snapshot(row: m.AccountState) -> dict[str, Any] | None:
    if row.paused_at is None:
        return None
    return {"since": row.paused_at.isoformat(),
            "until": row.pause_until.isoformat() if row.pause_until else None,
            "reason": row.pause_reason, "batch": row.pause_batch_id}


def _clear(row: m.AccountState) -> None:
    row.paused_at = row.pause_until = row.pause_reason = row.pause_batch_id = None


def begin(s: Session, account: str, *, now: datetime, until: datetime | None,
          reason: str, batch: int | None) -> dict[str, Any] | None:
    """Start (or change the end or reason of) the seller's pause; the pause it replaced."""
    row = account_state(s, account)
    before = _snapshot(row)
    row.paused_at = row.paused_at or now
    row.pause_until, row.pause_reason = until, reason
    row.pause_batch_id = batch if before is None else row.pause_batch_id
    request_full_plan(s, account)  # every listing, not only the SKUs that moved
    return before


def end(s: Session, account: str) -> tuple[list[str], dict[str, Any] | None, bool]:
    """End every pause a person can end: (which ended, the seller's pause as it was,
    whether credentials were paused). The channel's vacation ends only when it says so."""
    row = account_state(s, account)
    before, credentials = _snapshot(row), bool(row.paused)
    ended = []
    if before is not None:
        ended.append(SELLER)
        _clear(row)
    if credentials:
        ended.append(CREDENTIALS)
        row.paused = False
        row.consecutive_failures = 0
    request_full_plan(s, account)
    return ended, before, credentials


def restore(s: Session, account: str, snapshot: dict[str, Any] | None) -> None:
    """Put the seller's pause back as a snapshot had it (None: not paused)."""
    row = account_state(s, account)
    request_full_plan(s, account)
    if snapshot is None:
        _clear(row)
        return
    row.paused_at = datetime.fromisoformat(snapshot["since"])
    row.pause_until = (datetime.fromisoformat(snapshot["until"])
                       if snapshot.get("until") else None)
    row.pause_reason, row.pause_batch_id = snapshot.get("reason"), snapshot.get("batch")


def note_vacation(s: Session, account: str, on: bool, now: datetime) -> bool:
    """What the channel said about vacation; True when that changed."""
    row = account_state(s, account)
    if on == (row.vacation_at is not None):
        return False
    row.vacation_at = now if on else None
    request_full_plan(s, account)
    return True
