"""Logging: JSON lines off a terminal, one pipeline for stdlib loggers too, redaction of
configured secrets and tokens everywhere (tracebacks included), alert lines."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from oneshop import logs

SECRET = "s3cr3t-VALUE-from-config"


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, set(logs.REDACTOR.secrets))
    out = io.StringIO()
    logs.configure(level="debug", stream=out, secrets=[SECRET])
    yield out
    root.handlers[:], level, secrets = saved
    root.setLevel(level)
    logs.REDACTOR.secrets = secrets
    structlog.reset_defaults()


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def fail_with_secret() -> None:
    token = SECRET  # the kind of local a traceback would show
    raise RuntimeError(f"login refused for key {token}")


def test_off_a_terminal_every_line_is_json(stream: io.StringIO) -> None:
    structlog.get_logger("oneshop.test").info("orders.pulled", account="etsy", orders=3)
    (line,) = lines(stream)
    assert line["event"] == "orders.pulled" and line["orders"] == 3
    assert line["level"] == "info" and line["timestamp"].endswith("Z")


def test_stdlib_loggers_go_through_the_same_pipeline(stream: io.StringIO) -> None:
    for name in ("httpx", "apscheduler.scheduler", "sqlalchemy.engine"):
        logging.getLogger(name).warning("from %s with %s", name, SECRET)
    got = lines(stream)
    assert [line["event"] for line in got] == [
        f"from {n} with [redacted]" for n in ("httpx", "apscheduler.scheduler",
                                              "sqlalchemy.engine")]
    assert all(line["level"] == "warning" for line in got)


def test_a_configured_secret_never_appears_even_in_a_traceback(stream: io.StringIO) -> None:
    log = structlog.get_logger("oneshop.test")
    try:
        fail_with_secret()
    except RuntimeError as exc:
        log.exception("job.failing", error=exc, detail=f"key={SECRET}",
                      nested={"list": [SECRET, {"deeper": SECRET}]})
        logging.getLogger("apscheduler.executors").error("job raised", exc_info=True)
    text = stream.getvalue()
    assert SECRET not in text
    first, second = lines(stream)
    assert "RuntimeError: login refused for key [redacted]" in first["exception"]
    assert "RuntimeError: login refused for key [redacted]" in second["exception"]
    assert first["nested"] == {"list": ["[redacted]", {"deeper": "[redacted]"}]}


def test_a_secret_inside_an_arbitrary_object_is_redacted(stream: io.StringIO) -> None:
    class Request:
        def __repr__(self) -> str:
            return f"<Request headers={{'x-api-key': 'kid:{SECRET}'}}>"

    structlog.get_logger("oneshop.test").info("request.sent", request=Request())
    assert SECRET not in stream.getvalue()


def test_on_a_terminal_tracebacks_are_redacted_too() -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    out = Tty()
    try:
        logs.configure(level="info", stream=out, secrets=[SECRET])
        structlog.get_logger("oneshop.test").info("orders.pulled", account="etsy")
        try:
            fail_with_secret()
        except RuntimeError:
            structlog.get_logger("oneshop.test").exception("job.failing")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        structlog.reset_defaults()
    text = out.getvalue()
    assert "orders.pulled" in text and not text.lstrip().startswith("{")
    assert "login refused" in text and SECRET not in text


@pytest.mark.parametrize("leak", [
    "Authorization: Bearer abc.DEF-123_xyz",
    "GET https://api.example/v1/sales?access_token=tok987654&page=2",
    '{"access_token": "tok987654", "refresh_token": "ref123456"}',
    "headers={'authorization': 'Basic dXNlcjpwYXNz'}",
    "x-shopify-access-token: shpat_0123456789abcdef",
])
def test_tokens_and_authorization_headers_are_redacted(stream: io.StringIO, leak: str) -> None:
    structlog.get_logger("oneshop.test").info("http.sent", detail=leak)
    logging.getLogger("httpx").warning(leak)
    text = stream.getvalue()
    for token in ("abc.DEF-123_xyz", "tok987654", "ref123456", "dXNlcjpwYXNz",
                  "0123456789abcdef"):
        assert token not in text
    assert text.count("[redacted]") >= 2


def test_sensitive_keys_are_redacted_whatever_their_value(stream: io.StringIO) -> None:
    structlog.get_logger("oneshop.test").info(
        "auth.refreshed", access_token="aaaa1111", headers={"Authorization": "x y z"},
        client_secret="cccc", tokens_left=5)
    (line,) = lines(stream)
    assert line["access_token"] == "[redacted]" and line["client_secret"] == "[redacted]"
    assert line["headers"] == {"Authorization": "[redacted]"}
    assert line["tokens_left"] == 5  # numbers are not secrets


def test_alert_lines_carry_alert_severity_and_event(stream: io.StringIO) -> None:
    seen: list[dict[str, Any]] = []
    logs.ALERT_HOOKS.append(seen.append)
    try:
        logs.alert("oversell", "critical", "MUG is at -1", sku="MUG", on_hand=-1,
                   detail=f"token {SECRET}")
    finally:
        logs.ALERT_HOOKS.remove(seen.append)
    (line,) = lines(stream)
    assert (line["alert"], line["severity"], line["event"], line["level"]) == (
        True, "critical", "oversell", "critical")
    assert line["sku"] == "MUG" and line["message"] == "MUG is at -1"
    assert [(s["event"], s["sku"]) for s in seen] == [("oversell", "MUG")]
    assert SECRET not in stream.getvalue() + json.dumps(seen)
