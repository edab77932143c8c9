"""A broken ledger is loud: `ledger_unavailable` after three failed transactions in a row,
`health` told through a small state file (it cannot ask the dead ledger), and the service
exits non-zero after `ledger_fail_exit_s` of continuous failure, so systemd restarts it
(and `OnFailure=` reports it).

| state   | a transaction fails                          | a transaction succeeds       |
| ------- | -------------------------------------------- | ---------------------------- |
| ok      | -> failing; log `ledger.failing` once        | -                            |
| failing | 3rd in a row -> down: alert, state file      | -> ok                        |
| down    | after ledger_fail_exit_s: `should_exit`      | -> ok; `ledger.recovered`    |
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError

from oneshop.alerts import announce

log = structlog.get_logger("oneshop.ledger")
FAILURES_FOR_ALERT = 3
STATE_FILE = "ledger-health.json"
# What a ledger that cannot be used raises (locked, disk full, read-only, connection
# refused or lost). Other database errors (a constraint violated) are bugs: a job's
# traceback, not the ledger's health.
UNAVAILABLE = (OperationalError, InterfaceError)
# The state file keeps a fixed size and is rewritten in place: on a full disk a write
# into blocks the file already owns still succeeds, so `health` learns the news.
STATE_BYTES = 2048


def describe(exc: BaseException, database_url: str) -> str:
    """One line for a person: what failed, on which database (password masked), why."""
    orig = getattr(exc, "orig", None) or exc
    reason = (str(orig).strip().splitlines() or [type(orig).__name__])[0][:300]
    try:
        where = make_url(database_url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is named by its scheme only
        where = database_url.split(":", 1)[0]
    return f"ledger {where} unavailable: {reason}"


def ledger_problem(state_dir: Path) -> str | None:
    """What `health` reports from the state file the service writes; None when fine."""
    try:
        state = json.loads((state_dir / STATE_FILE).read_text() or "{}")
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or state.get("ok", True):
        return None
    return f"{state.get('reason', 'ledger unavailable')} (since {state.get('since', '?')})"


class LedgerWatch:
    """Counts the ledger's failed and successful transactions (thread-safe)."""

    def __init__(self, database_url: str, state_dir: Path | None, *, fail_exit_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.database_url = database_url
        self.fail_exit_s = fail_exit_s
        self.clock = clock
        self.failures = 0
        self.down = False
        self._failing_since: float | None = None
        self._since_wall = ""
        self._lock = threading.Lock()
        self._fd: int | None = None
        if state_dir is not None:
            self._open(state_dir)
            self._write({"ok": True})

    def failed(self, exc: BaseException) -> None:
        reason = describe(exc, self.database_url)
        with self._lock:
            self.failures += 1
            first, alert_now = self.failures == 1, self.failures == FAILURES_FOR_ALERT
            if first:
                self._failing_since = self.clock()
                self._since_wall = datetime.now(UTC).isoformat(timespec="seconds")
            if alert_now:
                self.down = True
        if first:
            log.warning("ledger.failing", error=reason)
        if alert_now:
            self._write({"ok": False, "reason": reason, "since": self._since_wall})
            announce("ledger_unavailable", "critical", reason, failures=FAILURES_FOR_ALERT,
                     action="free the disk, fix the file's permissions or bring the database "
                            f"back; oneshop exits after {self.fail_exit_s:g} s of this, so "
                            "its supervisor restarts it")

    def succeeded(self) -> None:
        with self._lock:
            if not self.failures:
                return
            was_down, self.failures, self.down = self.down, 0, False
            lasted = self.clock() - (self._failing_since or self.clock())
            self._failing_since = None
        if was_down:
            self._write({"ok": True})
        log.info("ledger.recovered", after_s=round(lasted, 1))

    def should_exit(self) -> bool:
        with self._lock:
            return (self.down and self._failing_since is not None
                    and self.clock() - self._failing_since >= self.fail_exit_s)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _open(self, state_dir: Path) -> None:
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(state_dir / STATE_FILE, os.O_RDWR | os.O_CREAT, 0o600)
            if os.fstat(self._fd).st_size < STATE_BYTES:
                os.pwrite(self._fd, b" " * STATE_BYTES, 0)
        except OSError as exc:
            log.warning("ledger.state_file_unwritable", error=str(exc))

    def _write(self, state: dict[str, Any]) -> None:
        if self._fd is None:
            return
        data = json.dumps(state).encode()[:STATE_BYTES]
        try:
            os.pwrite(self._fd, data.ljust(STATE_BYTES), 0)
        except OSError as exc:
            log.warning("ledger.state_file_unwritable", error=str(exc))
