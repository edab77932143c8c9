"""Alerts delivered through Apprise (`[alerts] notify = [URL, …]`, the `notify` extra):
ntfy, e-mail, Telegram and the 100+ other services Apprise knows, one URL each.

An ALERT_HOOKS entry, like the alert command: it sees every alert line once its
transaction has committed, so the episode rules hold here too (one line when an
episode starts, its reminders, one when it is resolved). It keeps the lines at least
`min_severity` (a resolved line goes wherever its start went), queues them (bounded),
and one background thread delivers them: a slow or unreachable service never holds up
a sync. A target that fails is logged once when it starts failing
(`alert_notify.failed`) and once when it works again (`alert_notify.recovered`).

The URLs are secrets (tokens, passwords, topics): they are registered for redaction at
load and never logged; log lines name a target by its position and scheme only.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from oneshop.logs import ALERT_HOOKS

log = structlog.get_logger("oneshop.alertnotify")
QUEUE_SIZE = 200
RANK = {"info": 0, "warning": 1, "error": 2, "critical": 3}
# What Apprise shows (colour, icon) for each of our severities.
KIND = {"critical": "failure", "error": "failure", "warning": "warning", "info": "info"}
# Not repeated in the body: the title and first line say them already.
SHOWN_ELSEWHERE = frozenset({"event", "severity", "message", "alert", "level", "timestamp",
                             "episode", "started_severity"})
EXTRA = "oneshop[notify]"


def quiet_apprise() -> None:
    """Apprise logs failures with the host, path and sometimes the token of a URL: our
    own failure line (position and scheme only) replaces them."""
    logging.getLogger("apprise").setLevel(logging.CRITICAL + 1)


def scheme(url: str) -> str:
    return url.split("://", 1)[0].lower()


def apprise_problems(urls: Sequence[tuple[int, str]]) -> list[tuple[str, str]]:
    """(where, why) for each URL Apprise cannot send to; never the URL itself."""
    try:
        import apprise
    except ImportError:
        return [("", f"Apprise is not installed: pip install '{EXTRA}'")]
    quiet_apprise()
    return [(f".{index}", f"Apprise knows no service for this URL (scheme "
                          f"{scheme(url)!r}; see https://github.com/caronc/apprise/wiki)")
            for index, url in urls if not apprise.Apprise().add(url)]


def render(record: dict[str, Any]) -> tuple[str, str, str]:
    """(title, body, Apprise notify type) of one alert line."""
    episode = record.get("episode", "started")
    severity = str(record.get("severity", "info"))
    event = record.get("event", "alert")
    resolved = episode == "resolved"
    title = f"oneshop {'resolved' if resolved else severity}: {event}" + (
        f" ({episode})" if episode in ("reminder", "deepened") else "")
    details = [f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
               for k, v in record.items() if k not in SHOWN_ELSEWHERE and v is not None]
    body = "\n".join([str(record.get("message", "")), *details])
    return title, body, "success" if resolved else KIND.get(severity, "info")


@dataclass(slots=True)
class Target:
    """One URL, with its own Apprise object so that each target's failures are its own."""

    index: int
    scheme: str
    apprise: Any
    failing: bool = False
    failed: int = 0  # deliveries lost since it started failing


@dataclass(slots=True)
class Counts:
    delivered: int = 0
    failed: int = 0
    dropped: int = 0
    skipped: int = 0  # below min_severity


class AppriseNotifier:
    """An ALERT_HOOKS entry: filters by severity, queues, and delivers off the sync's path."""

    def __init__(self, urls: Sequence[str], *, min_severity: str = "warning") -> None:
        import apprise

        quiet_apprise()
        self.targets = []
        for index, url in enumerate(urls):
            sender = apprise.Apprise()
            sender.add(url)
            self.targets.append(Target(index, scheme(url), sender))
        self.min_rank = RANK[min_severity]
        self.counts = Counts()
        self._full = False
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(QUEUE_SIZE)
        self._thread = threading.Thread(target=self._work, name="alert-notify", daemon=True)
        self._thread.start()

    def wanted(self, record: dict[str, Any]) -> bool:
        severity = record.get("severity", "info")
        if record.get("episode") == "resolved":  # goes wherever its start went
            severity = record.get("started_severity", severity)
        return RANK.get(str(severity), 0) >= self.min_rank

    def __call__(self, record: dict[str, Any]) -> None:
        if not self.wanted(record):
            self.counts.skipped += 1
            return
        try:
            self._queue.put_nowait(dict(record))
            self._full = False
        except queue.Full:
            self.counts.dropped += 1
            if not self._full:  # once per backlog, not once per lost line
                self._full = True
                log.warning("alert_notify.dropped", alert_event=record.get("event"),
                            why=f"{QUEUE_SIZE} alerts waiting: the services are too slow")

    def close(self, timeout_s: float = 5.0) -> None:
        """Deliver what is queued (for up to `timeout_s`), then stop the thread."""
        try:
            self._queue.put(None, timeout=timeout_s)
        except queue.Full:
            return
        self._thread.join(timeout_s)

    def idle(self) -> bool:
        """Nothing queued or being delivered (tests wait for it)."""
        return self._queue.unfinished_tasks == 0

    def _work(self) -> None:
        while (record := self._queue.get()) is not None:
            try:
                title, body, kind = render(record)
                for target in self.targets:
                    self._deliver(target, title, body, kind, str(record.get("event")))
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def _deliver(self, target: Target, title: str, body: str, kind: str, event: str) -> None:
        try:
            ok = bool(target.apprise.notify(body=body, title=title, notify_type=kind))
        except Exception as exc:  # a plugin's bug must not end the delivery thread
            ok, why = False, type(exc).__name__
        else:
            why = "the service refused it or could not be reached"
        if ok:
            self.counts.delivered += 1
            if target.failing:
                log.info("alert_notify.recovered", target=target.index, scheme=target.scheme,
                         lost=target.failed)
                target.failing, target.failed = False, 0
            return
        self.counts.failed += 1
        target.failed += 1
        if not target.failing:
            target.failing = True
            log.warning("alert_notify.failed", target=target.index, scheme=target.scheme,
                        alert_event=event, error=why,
                        action="check the URL with `apprise -vv -b test URL`; oneshop "
                               "keeps syncing and says when delivery works again")


def install(urls: Sequence[str], min_severity: str) -> AppriseNotifier | None:
    """Register a notifier for the configured URLs (replacing an earlier one)."""
    for hook in [h for h in ALERT_HOOKS if isinstance(h, AppriseNotifier)]:
        ALERT_HOOKS.remove(hook)
        hook.close()
    if not urls:
        return None
    notifier = AppriseNotifier(urls, min_severity=min_severity)
    ALERT_HOOKS.append(notifier)
    log.info("alert_notify.installed", targets=[t.scheme for t in notifier.targets],
             min_severity=min_severity)
    return notifier


def uninstall(notifier: AppriseNotifier | None, timeout_s: float = 5.0) -> None:
    if notifier is not None:
        if notifier in ALERT_HOOKS:
            ALERT_HOOKS.remove(notifier)
        notifier.close(timeout_s)
