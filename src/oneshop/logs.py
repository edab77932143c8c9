"""Logging: structlog, JSON lines when not on a terminal, readable on one.

Every line (ours and the stdlib loggers of APScheduler, httpx, SQLAlchemy) passes one
redaction step that removes configured secret values, bearer tokens, Authorization
headers and access_token parameters, wherever they appear, tracebacks included.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "[redacted]"
SENSITIVE_KEYS = re.compile(r"(token|secret|password|authorization|api[-_]?key|cookie)", re.I)
PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)((?:access|refresh)_token[\"']?\s*[=:]\s*[\"']?)[^\"'&\s,}]+"),
    re.compile(r"(?i)(x-(?:api-key|shopify-access-token)[\"']?\s*[:=]\s*[\"']?)[^\"'\s,}]+"),
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)[^\"',}]+"),
    re.compile(r"(shpat_|shpca_)[A-Za-z0-9]+"),
)


class Redactor:
    """A structlog processor; `secrets` can grow when the config is (re)loaded."""

    def __init__(self) -> None:
        self.secrets: set[str] = set()

    def add(self, values: Iterable[str]) -> None:
        self.secrets.update(v for v in values if v and len(v) >= 4)

    def scrub(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern in PATTERNS:
            text = pattern.sub(lambda mt: (mt.group(1) if mt.lastindex else "") + REDACTED, text)
        return text

    def _value(self, key: str, value: Any) -> Any:
        if SENSITIVE_KEYS.search(key) and value not in (None, True, False) \
                and not isinstance(value, int | float):
            return REDACTED
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {k: self._value(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._value(key, v) for v in value]
        if isinstance(value, BaseException):
            return self.scrub(repr(value))
        if value is None or isinstance(value, bool | int | float):
            return value
        # Anything else is rendered through its repr (a request, a model, …): scrub that.
        return self.scrub(repr(value))

    def __call__(self, _logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
        return {k: self._value(k, v) for k, v in event.items()}


REDACTOR = Redactor()
# Called with every alert (event, severity, message and fields) after it is logged; a hook
# must return at once and never raise (alertcmd queues, metrics counts).
ALERT_HOOKS: list[Callable[[dict[str, Any]], None]] = []


def configure(level: str = "info", fmt: str = "auto", stream: TextIO | None = None,
              secrets: Iterable[str] = ()) -> None:
    """Set up structlog and route the stdlib loggers through the same pipeline."""
    stream = stream or sys.stdout
    REDACTOR.add(secrets)
    console = fmt == "console" or (fmt == "auto" and stream.isatty())
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # Tracebacks become text before the redaction step on a terminal too: the pretty
    # console tracebacks would print local variables (secrets among them) unredacted.
    renderer: Processor = (
        structlog.dev.ConsoleRenderer(colors=stream.isatty(),
                                      exception_formatter=structlog.dev.plain_traceback)
        if console else structlog.processors.JSONRenderer())
    exc: list[Processor] = [structlog.processors.format_exc_info]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    *exc, REDACTOR, renderer],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "apscheduler", "sqlalchemy", "alembic", "werkzeug"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    scheduler = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, _SkippedRunsToDebug) for f in scheduler.filters):
        scheduler.addFilter(_SkippedRunsToDebug())
    structlog.configure(
        processors=[*shared, structlog.processors.StackInfoRenderer(),
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


class _SkippedRunsToDebug(logging.Filter):
    """APScheduler warns each time a job's turn comes while its last run is still going
    ("maximum number of running instances reached"): by design here (a poll waits for its
    account), so it is debug news, not a warning a seller should learn to ignore."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "maximum number of running instances reached" not in str(record.msg):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


def alert(event: str, severity: str, message: str, **fields: Any) -> None:
    """An alert line: `alert=true`, a stable event name, a severity (docs/alerts.md)."""
    log = structlog.get_logger("oneshop.alert")
    method = {"critical": log.critical, "error": log.error}.get(severity, log.warning)
    method(event, alert=True, severity=severity, message=message, **fields)
    for hook in list(ALERT_HOOKS):  # hooks see what the log line shows: redacted
        hook(redact_mapping({"event": event, "severity": severity, "message": message,
                             **fields}))


def redact_mapping(values: MutableMapping[str, Any]) -> dict[str, Any]:
    return {k: REDACTOR._value(k, v) for k, v in values.items()}
