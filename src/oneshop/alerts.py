"""Alerts are episodes (DESIGN.md 2.10): raised once, reminded now and then, resolved once.

Every alert goes through `raise_alert`, inside the transaction that found the condition:
it stores the episode and queues its log line, which is written (with the same message
and fields) only when that transaction commits, so a rolled-back transaction tells
nobody anything and a committed one always does. `resolve` ends an episode the same way.
Only `announce` logs without storing: for the one condition the ledger cannot hold, the
ledger itself being unavailable.

An episode's key is event + account + subject (a listing, a SKU, a record digest):

| state  | raise_alert                                          | resolve                 |
| ------ | ---------------------------------------------------- | ----------------------- |
| none   | store the episode, log `episode=started`             | nothing                 |
| open   | deeper (`deepen_on` grew): update, log `deepened`;   | close it, log `resolved`|
|        | reminder due: log `reminder`; otherwise nothing      |                         |

An episode raised with `remind=False` is told once and never reminded (a rejected record:
one alert per record, ever, unless the record changes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from oneshop.config import Config
from oneshop.ledger import models as m
from oneshop.ledger.records import add_rejected
from oneshop.logs import alert as log_alert
from oneshop.values import Rejected

DEFAULT_REMINDER_S = 6 * 3600.0
_PENDING = "oneshop.alerts.pending"


@dataclass(slots=True)
class Policy:
    """How often an open episode is reminded; set from the config (`[service]`)."""

    reminder_s: float = DEFAULT_REMINDER_S
    advice: dict[str, str] = field(default_factory=dict)


POLICY = Policy()


def configure(reminder_s: float, advice: Mapping[str, str] | None = None) -> None:
    """The reminder interval, and per account what to run when its credentials fail."""
    POLICY.reminder_s = reminder_s
    if advice is not None:
        POLICY.advice = dict(advice)


def credential_advice(config: Config, account: str) -> str:
    """What to run when an account's credentials are refused: a command that exists."""
    from oneshop.protocols import InteractiveAuth

    acc = config.accounts[account]
    if isinstance(acc.factory, InteractiveAuth):
        return f"run `oneshop auth {acc.config.kind} --account {account}`"
    return (f"put a working credential where accounts.{account}.secrets points, then run "
            f"`systemctl reload oneshop` or `oneshop resume {account}`")


def advice(account: str) -> str:
    return POLICY.advice.get(account) or (
        f"fix the credentials, then run `oneshop resume {account}`")


@dataclass(frozen=True, slots=True, kw_only=True)
class Line:
    """One alert line, written once its transaction has committed."""

    event: str
    severity: str
    message: str
    fields: Mapping[str, Any] = field(default_factory=dict)


def key_of(event: str, account: str | None, subject: str = "") -> str:
    return f"{event}:{account or ''}:{subject}"


def raise_alert(s: Session, event: str, severity: str, message: str, *, now: datetime,
                account: str | None = None, subject: str = "", sku_id: int | None = None,
                fields: Mapping[str, Any] | None = None, remind: bool = True,
                deepen_on: str | None = None, dedupe_key: str | None = None) -> bool:
    """Start (or remind, or deepen) the episode of `event` for `account` + `subject`.

    True when an alert line was queued. `deepen_on` names a numeric field: an open
    episode whose value grew is told again at once (an oversell that got worse).
    `dedupe_key`: a condition that must never be told twice (one crossing of zero).
    """
    values = dict(fields or {})
    key = key_of(event, account, subject)
    row = open_episode(s, key)
    if row is None:
        if dedupe_key is not None and s.scalar(
                select(m.Alert.id).where(m.Alert.dedupe_key == dedupe_key)) is not None:
            return False
        if not _insert_episode(s, event=event, severity=severity, message=message, now=now,
                               account=account, sku_id=sku_id, key=key, fields=values,
                               dedupe_key=dedupe_key):
            return False  # another instance started it a moment ago: it tells the seller
        _queue(s, Line(event=event, severity=severity, message=message,
                       fields=_shown(account, values, "started")))
        return True
    if deepen_on is not None and _num(values.get(deepen_on)) > _num(row.fields.get(deepen_on)):
        # The stored episode keeps what started it (the crossing orders); the line names
        # what is new.
        row.fields, row.notified_at = {**row.fields, deepen_on: values[deepen_on]}, now
        _queue(s, Line(event=event, severity=severity, message=message,
                       fields=_shown(account, values, "deepened",
                                     since=row.created_at.isoformat())))
        return True
    last = row.notified_at or row.created_at
    if remind and (now - last).total_seconds() >= POLICY.reminder_s:
        row.notified_at, row.reminders = now, row.reminders + 1
        _queue(s, Line(event=event, severity=severity, message=message,
                       fields=_shown(account, values, "reminder",
                                     since=row.created_at.isoformat(),
                                     reminder=row.reminders)))
        return True
    return False


def resolve(s: Session, event: str, *, now: datetime, account: str | None = None,
            subject: str = "") -> bool:
    """End the open episode of `event` for `account` + `subject`; True if one was open."""
    row = open_episode(s, key_of(event, account, subject))
    if row is None:
        return False
    _close(s, row, now)
    return True


def open_episode(s: Session, key: str) -> m.Alert | None:
    return s.scalar(select(m.Alert).where(m.Alert.episode_key == key,
                                          m.Alert.resolved_at.is_(None)))


def open_subjects(s: Session, event: str, account: str | None = None) -> dict[str, m.Alert]:
    """Open episodes of `event` (for `account`) by subject."""
    prefix = key_of(event, account)
    return {str(r.episode_key)[len(prefix):]: r for r in s.scalars(select(m.Alert).where(
        m.Alert.episode_key.startswith(prefix, autoescape=True),
        m.Alert.resolved_at.is_(None)))}


def announce(event: str, severity: str, message: str, **fields: Any) -> None:
    """Log an alert that cannot be stored (the ledger is what failed): log and command."""
    log_alert(event, severity, message, **fields)


def reject(s: Session, account: str, stream: str, records: Iterable[Rejected],
           now: datetime) -> int:
    """Keep each rejected record aside once and alert it once: a record a poll reads again
    (polls overlap on purpose) is neither stored nor told twice, unless it changed."""
    new = 0
    for record in records:
        digest = hashlib.sha256(record.raw.encode()).hexdigest()[:16]
        subject = f"{stream}:{record.external_id or '-'}:{digest}"
        if raise_alert(s, "rejected_record", "warning",
                       "a record could not be read and was kept aside", now=now,
                       account=account, subject=subject, remind=False,
                       fields={"external_id": record.external_id, "reason": record.reason}):
            new += add_rejected(s, account, stream, [record])
    return new


# -- internals ---------------------------------------------------------------------------

def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _shown(account: str | None, values: Mapping[str, Any], phase: str,
           **more: Any) -> dict[str, Any]:
    return {**({"account": account} if account else {}), **values, "episode": phase, **more}


def _insert_episode(s: Session, *, event: str, severity: str, message: str, now: datetime,
                    account: str | None, sku_id: int | None, key: str,
                    fields: dict[str, Any], dedupe_key: str | None) -> bool:
    mod: Any = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
    stmt = mod.insert(m.Alert).values(
        event=event, severity=severity, message=message, account=account, sku_id=sku_id,
        fields=fields, created_at=now, episode_key=key, notified_at=now, reminders=0,
        dedupe_key=dedupe_key,
    ).on_conflict_do_nothing().returning(m.Alert.id)
    return s.execute(stmt).first() is not None


def _close(s: Session, row: m.Alert, now: datetime) -> None:
    s.execute(update(m.Alert).where(m.Alert.id == row.id).values(resolved_at=now))
    fields = {"since": row.created_at.isoformat(),
              "lasted_s": int((now - row.created_at).total_seconds()),
              # A notifier keeping only severe alerts tells the end of what it told.
              "started_severity": row.severity}
    for name in ("sku", "listing", "external_id"):
        if name in row.fields:
            fields[name] = row.fields[name]
    _queue(s, Line(event=row.event, severity="info", message=f"resolved: {row.message}",
                   fields=_shown(row.account, fields, "resolved")))


def _queue(s: Session, line: Line) -> None:
    """Hold the line until the transaction commits (dropped if it rolls back)."""
    pending: list[Line] | None = s.info.get(_PENDING)
    if pending is None:
        pending = s.info[_PENDING] = []
        sa_event.listen(s, "after_commit", _flush)
        sa_event.listen(s, "after_rollback", _drop)
    pending.append(line)


def _flush(s: Session) -> None:
    lines, s.info[_PENDING] = list(s.info.get(_PENDING, [])), []
    for line in lines:
        log_alert(line.event, line.severity, line.message, **line.fields)


def _drop(s: Session) -> None:
    s.info[_PENDING] = []
