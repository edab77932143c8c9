"""One coordinator owns what a job's outcome means, as Home Assistant's
`DataUpdateCoordinator` does: a job that starts failing is logged once (`job.failing`),
its recovery once (`job.recovered`), and every run that went through ends with one
summary line (`sync.done`). Nothing else logs a job's failure.

| error the job raised           | account state            | log                          |
| ------------------------------ | ------------------------ | ---------------------------- |
| none                           | streak ends              | `job.recovered` if failing;  |
|                                |                          | `sync.done`                  |
| AuthError                      | paused, `auth_failed`    | -                            |
| RetryableError                 | streak +1                | `job.failing` the first time |
| anything else (a bug)          | streak +1                | `job.failing` + traceback    |
| the ledger unavailable         | (cannot be written)      | re-raised: the ledger watch  |

A job is tried again at its next turn; a discovery or reconcile that did not run is
tried again sooner (oneshop.schedule).
"""

from __future__ import annotations

import dataclasses
import threading
import time
import traceback
from collections.abc import Callable
from enum import StrEnum
from typing import Any

import structlog

from oneshop import alerts, conditions
from oneshop.app import App
from oneshop.errors import AuthError, RetryableError
from oneshop.ledger import account_state
from oneshop.ledger.db import transaction
from oneshop.ledgerwatch import UNAVAILABLE, LedgerWatch

log = structlog.get_logger("oneshop.service")
AUTH_REFUSED = "credentials refused; the account is paused until they work again"


class JobKind(StrEnum):
    """The jobs each account runs; the value is the `job` field of every log line."""

    ORDERS = "orders"  # pull new orders, push what they changed
    DISCOVER = "discover"  # read the catalog and bind new listings, then pull
    RECONCILE = "reconcile"  # read the catalog to catch hand edits, then pull


class Coordinator:
    """Runs a job's body and turns its outcome into account state and log lines."""

    def __init__(self, app: App, watch: LedgerWatch) -> None:
        self.app = app
        self.watch = watch
        self.failing: set[tuple[str, JobKind]] = set()
        self._lock = threading.Lock()  # jobs of different accounts end at once

    def run(self, account: str, kind: JobKind, body: Callable[[], Any], *,
            stopping: Callable[[], bool]) -> bool:
        """True when `body` went through. The ledger being unavailable is raised."""
        started = time.monotonic()
        try:
            result = body()
        except UNAVAILABLE:
            raise
        except AuthError as exc:
            self._failed(account, kind, str(exc), refused=True)
            return False
        except RetryableError as exc:
            self._failed(account, kind, str(exc))
            return False
        except Exception as exc:  # a bug: log it once, the next tick resumes
            if stopping():
                return False  # stopping: a channel's client closed under the job
            self._failed(account, kind, f"{type(exc).__name__}: {exc}",
                         tb=traceback.format_exc())
            return False
        finally:
            conditions.note_budget(self.app, account)
        self._succeeded(account, kind, result, int((time.monotonic() - started) * 1000))
        return True

    def _failed(self, account: str, kind: JobKind, error: str, *, refused: bool = False,
                tb: str | None = None) -> None:
        self._record_failure(account, kind, error, refused=refused)
        self.watch.succeeded()
        if refused:  # the `auth_failed` alert says it, and reminds while it lasts
            return
        if self._turned(account, kind, failing=True):
            log.warning("job.failing", account=account, job=kind.value, error=error,
                        **({"traceback": tb} if tb else {}))

    def _succeeded(self, account: str, kind: JobKind, result: Any, ms: int) -> None:
        self._record_success(account, orders=kind is JobKind.ORDERS)
        self.watch.succeeded()
        if self._turned(account, kind, failing=False):
            log.info("job.recovered", account=account, job=kind.value)
        log.info("sync.done", account=account, job=kind.value, ms=ms, **_fields(result))

    def _record_failure(self, account: str, kind: JobKind, error: str, *,
                        refused: bool) -> None:
        """The job's end on the account's row; refused credentials raise `auth_failed`."""
        now = self.app.clock()
        with transaction(self.app.sessions) as s:
            account_state.note_failure(s, account, error, now=now, refused=refused)
            if refused:
                alerts.raise_alert(s, "auth_failed", "critical", AUTH_REFUSED, now=now,
                                   account=account,
                                   fields={"job": kind.value, "error": error,
                                           "action": alerts.advice(account)})

    def _record_success(self, account: str, *, orders: bool) -> None:
        """The job's end on the account's row; an orders pull ends a stale channel."""
        now = self.app.clock()
        with transaction(self.app.sessions) as s:
            if orders:
                alerts.resolve(s, "channel_stale", now=now, account=account)
            health = account_state.note_success(s, account, now=now, orders=orders)
            if not health.paused:  # a push in this very job may have just paused it
                alerts.resolve(s, "auth_failed", now=now, account=account)

    def _turned(self, account: str, kind: JobKind, *, failing: bool) -> bool:
        """Record the job's new state; True when it differs from the last one."""
        key = (account, kind)
        with self._lock:
            was = key in self.failing
            if failing:
                self.failing.add(key)
            else:
                self.failing.discard(key)
            return was != failing


def _fields(result: Any) -> dict[str, Any]:
    """A job's result as fields of its summary line."""
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return dataclasses.asdict(result)
    return result if isinstance(result, dict) else {"result": result}
