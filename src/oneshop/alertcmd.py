"""The optional alert command: `[alerts] command = [...]` runs with each alert as JSON on stdin.

Alerts are queued and run by one background thread, so a slow or hung notifier never
holds up a sync. At most one run per (event, account) every `min_interval_s`; the next
run that goes through says how many were held back. A failing command is logged
(`alert_command.failed`) and otherwise ignored.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import structlog

from oneshop.config import AlertsConfig
from oneshop.logs import ALERT_HOOKS, redact_mapping

log = structlog.get_logger("oneshop.alertcmd")
QUEUE_SIZE = 200
STDERR_TAIL = 500


class AlertCommand:
    """An ALERT_HOOKS entry: rate-limits, queues, and runs the command off the sync's path."""

    def __init__(self, argv: Sequence[str], *, min_interval_s: float = 60.0,
                 timeout_s: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.argv = list(argv)
        self.min_interval_s = min_interval_s
        self.timeout_s = timeout_s
        self.clock = clock
        self.runs = 0
        self.failures = 0
        self._last: dict[tuple[str, str], float] = {}
        self._held: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(QUEUE_SIZE)
        self._thread = threading.Thread(target=self._work, name="alert-command", daemon=True)
        self._thread.start()

    def __call__(self, record: dict[str, Any]) -> None:
        key = (str(record.get("event", "")), str(record.get("account", "")))
        now = self.clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.min_interval_s:
                self._held[key] = self._held.get(key, 0) + 1
                return
            self._last[key] = now
            held = self._held.pop(key, 0)
        payload = redact_mapping(dict(record))
        if held:
            payload["held_back"] = held  # alerts of this kind not sent since the last run
        try:
            self._queue.put_nowait(payload)
        except queue.Full:
            log.warning("alert_command.dropped", alert_event=key[0], account=key[1] or None,
                        why="queue full: the command is too slow")

    def close(self, timeout_s: float = 5.0) -> None:
        """Run what is queued (for up to `timeout_s`), then stop the thread."""
        try:
            self._queue.put(None, timeout=timeout_s)
        except queue.Full:
            return
        self._thread.join(timeout_s)

    def _work(self) -> None:
        while (payload := self._queue.get()) is not None:
            self._run(payload)

    def _run(self, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, default=str, sort_keys=True).encode() + b"\n"
        error: str | None = None
        try:
            done = subprocess.run(self.argv, input=data, capture_output=True,
                                  timeout=self.timeout_s, check=False)
            if done.returncode != 0:
                tail = done.stderr.decode(errors="replace").strip()[-STDERR_TAIL:]
                error = f"exit status {done.returncode}" + (f": {tail}" if tail else "")
        except subprocess.TimeoutExpired:
            error = f"killed after {self.timeout_s} s"
        except OSError as exc:
            error = f"{type(exc).__name__}: {exc.strerror or exc}"
        self.runs += 1
        if error is not None:
            self.failures += 1
            log.warning("alert_command.failed", command=self.argv[0],
                        alert_event=payload.get("event"), error=error)


def install(config: AlertsConfig | None) -> AlertCommand | None:
    """Register the configured command as an alert hook (replacing an earlier one)."""
    for hook in [h for h in ALERT_HOOKS if isinstance(h, AlertCommand)]:
        ALERT_HOOKS.remove(hook)
        hook.close()
    if config is None or config.command is None:
        return None
    command = AlertCommand(config.command, min_interval_s=config.min_interval_s,
                           timeout_s=config.timeout_s)
    ALERT_HOOKS.append(command)
    log.info("alert_command.installed", command=config.command[0],
             min_interval_s=config.min_interval_s)
    return command


def uninstall(command: AlertCommand | None, timeout_s: float = 5.0) -> None:
    if command is not None:
        if command in ALERT_HOOKS:
            ALERT_HOOKS.remove(command)
        command.close(timeout_s)
