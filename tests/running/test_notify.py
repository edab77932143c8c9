"""Alerts delivered through Apprise (issue 18.5) to a local HTTP receiver (Apprise's
JSON scheme), from a shop with history: counted deliveries over many polls follow the
episode rules and `min_severity`; a failing or hung service never blocks a sync and is
logged once per outage; the URLs, secrets, never reach a log line."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from oneshop import alertnotify, logs, operate
from oneshop.config import AlertsConfig, load
from oneshop.errors import ConfigError
from oneshop.testing.shop import wait_for
from tests.running.conftest import KINDS_HERE, Rig
from tests.running.receiver import Receiver
from tests.running.test_low_stock import RULES, sell_down

POLLS = 12


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


def notifying(make_rig: Any, stops: list[Any], urls: list[str], min_severity: str = "warning",
              **rules: Any) -> tuple[Rig, alertnotify.AppriseNotifier]:
    """A rig whose config delivers alerts to `urls`, started as `oneshop run` does."""
    rig: Rig = make_rig(alerts=AlertsConfig(notify=list(urls), min_severity=min_severity),
                        **rules)
    rig.app.config = dataclasses.replace(rig.app.config, notify_urls=tuple(urls))
    stops.append(operate.start(lambda: rig.app))
    (notifier,) = [h for h in logs.ALERT_HOOKS if isinstance(h, alertnotify.AppriseNotifier)]
    return rig, notifier


@pytest.fixture
def stops() -> Iterator[list[Any]]:
    made: list[Any] = []
    yield made
    for stop in made:
        stop()


def settle(notifier: alertnotify.AppriseNotifier) -> None:
    wait_for(notifier.idle, timeout_s=30, what="deliveries")


def test_an_episode_is_delivered_once_when_it_starts_and_once_when_resolved(
        make_rig: Any, receiver: Receiver, stops: list[Any]) -> None:
    rig, notifier = notifying(make_rig, stops, [receiver.url()], **RULES)
    shopify = "shopify" if "shopify" in KINDS_HERE else KINDS_HERE[0]
    sell_down(rig, "MUG", 6)
    orders = [rig.sell(shopify, "MUG") for _ in range(3)]  # 6 -> 3: low
    for _ in range(POLLS):
        rig.poll_all(every_s=600)
    for order in orders:  # back to 6: resolved
        rig.shop.sandboxes[shopify].cancel(order)
    for _ in range(POLLS):
        rig.poll_all(every_s=600)
    settle(notifier)
    assert receiver.titles() == ["oneshop warning: low_stock", "oneshop resolved: low_stock"]
    started, resolved = receiver.posts
    assert started["type"] == "warning" and resolved["type"] == "success"
    assert started["message"].startswith("MUG is low: 3 left (threshold 5); order 9 more")
    assert "sku: MUG" in started["message"]
    assert notifier.counts.delivered == 2 and notifier.counts.failed == 0


def test_a_lasting_condition_is_delivered_with_its_reminders_and_below_min_severity_nothing(
        make_rig: Any, receiver: Receiver, stops: list[Any]) -> None:
    rig, notifier = notifying(make_rig, stops, [receiver.url("errors")], min_severity="error",
                              **RULES)
    kind = KINDS_HERE[0]
    sell_down(rig, "MUG", 3)  # a warning: not delivered at min_severity error
    rig.shop.sandboxes[kind].fail_next(100_000, status=503)
    for _ in range(13 * 12):  # 13 hours of failing polls, checked every 5 minutes
        rig.clock.advance(300)
        rig.runner.poll(kind)
        rig.runner.check_stale()
    rig.shop.sandboxes[kind].faults.clear()  # type: ignore[attr-defined]
    rig.poll(kind)
    rig.runner.check_stale()
    settle(notifier)
    # (The accounts not polled meanwhile are stale too: each its own episode.)
    mine = [p["title"] for p in receiver.posts if f"account: {kind}\n" in p["message"] + "\n"]
    assert mine == [
        "oneshop error: channel_stale", "oneshop error: channel_stale (reminder)",
        "oneshop error: channel_stale (reminder)", "oneshop resolved: channel_stale"]
    assert {p["title"].split(":")[1].split()[0] for p in receiver.posts} == {"channel_stale"}
    assert {p["path"] for p in receiver.posts} == {"/errors"}
    assert notifier.counts.skipped >= 1  # the low_stock warning, at least


def test_a_service_down_or_hung_never_blocks_the_sync_and_is_logged_once(
        make_rig: Any, receiver: Receiver, stops: list[Any]) -> None:
    down = Receiver()
    dead_port = down.port
    down.close()  # nothing listens there now
    # rto: Apprise waits this long for an answer (4 s by default) before it gives up.
    rig, notifier = notifying(make_rig, stops, [receiver.url("shop?rto=20"),
                                                f"json://127.0.0.1:{dead_port}/x"],
                              service=RULES["service"],
                              skus={"PIN": {"low_stock": 3}, "CARD": {"low_stock": 10}})
    shopify = "shopify" if "shopify" in KINDS_HERE else KINDS_HERE[0]
    with capture_logs() as logs_seen:
        receiver.released.clear()  # the working service hangs
        sell_down(rig, "PIN", 2)
        rig.poll_all()
        # The polls went through while the delivery of PIN's alert hangs.
        wait_for(lambda: receiver.waiting == 1, what="the delivery to hang")
        assert receiver.posts == [] and notifier.counts.delivered == 0
        receiver.released.set()
        sell_down(rig, "CARD", 10)
        sell_down(rig, "MUG", 6)
        orders = [rig.sell(shopify, "MUG") for _ in range(2)]
        for _ in range(POLLS):
            rig.poll_all()
        settle(notifier)
        back = Receiver(dead_port)  # the second service comes back
        try:
            for order in orders:  # MUG back to 6: its episode is resolved
                rig.shop.sandboxes[shopify].cancel(order)
            for _ in range(3):
                rig.poll_all()
            settle(notifier)
            assert [p["title"] for p in back.posts] == ["oneshop resolved: low_stock"]
        finally:
            back.close()
    assert [p["message"].split(" ")[0] for p in receiver.posts] == [
        "PIN", "CARD", "MUG", "resolved:"]
    failed = [e for e in logs_seen if e["event"] == "alert_notify.failed"]
    recovered = [e for e in logs_seen if e["event"] == "alert_notify.recovered"]
    assert len(failed) == 1 and failed[0]["target"] == 1 and failed[0]["scheme"] == "json"
    assert len(recovered) == 1 and recovered[0]["lost"] == 3
    assert notifier.counts.failed == 3 and notifier.counts.delivered == 5
    assert f":{dead_port}" not in json.dumps(logs_seen, default=str)


def test_urls_given_as_secret_references_are_resolved_and_never_logged(
        tmp_path: Path, make_rig: Any, receiver: Receiver) -> None:
    rig: Rig = make_rig()
    env = rig.shop.write_config(tmp_path / "oneshop.toml", extra=(
        '\n[alerts]\nnotify = [{ env = "ONESHOP_NOTIFY_URL" }]\nmin_severity = "info"\n'))
    url = receiver.url("tok-3141592653")
    config = load(tmp_path / "oneshop.toml", env={**env, "ONESHOP_NOTIFY_URL": url})
    assert config.notify_urls == (url,) and url in config.secrets
    out = io.StringIO()
    logs.configure(fmt="json", stream=out, secrets=config.secrets)
    logs.alert("hand_edit", "info", f"a line that happens to quote {url}")
    assert url not in out.getvalue() and "[redacted]" in out.getvalue()


@pytest.mark.parametrize(("entry", "expected"), [
    ('"not a url"', "alerts.notify.0: each entry must be an Apprise URL"),
    ('"nosuchservice://host/tok-2718281828"',
     "alerts.notify.0: Apprise knows no service for this URL (scheme 'nosuchservice'"),
    ('{ env = "ONESHOP_NOT_SET" }', "alerts.notify.0: environment variable ONESHOP_NOT_SET"),
])
def test_a_bad_notify_entry_is_refused_naming_the_key_never_the_url(
        tmp_path: Path, entry: str, expected: str, make_rig: Any) -> None:
    rig: Rig = make_rig()
    env = rig.shop.write_config(tmp_path / "oneshop.toml",
                                extra=f"\n[alerts]\nnotify = [{entry}]\n")
    with pytest.raises(ConfigError) as err:
        load(tmp_path / "oneshop.toml", env=env)
    (problem,) = err.value.problems
    assert expected in problem and "tok-2718281828" not in problem


def test_a_full_queue_drops_alerts_and_says_so_once_per_backlog(receiver: Receiver) -> None:
    receiver.released.clear()  # the service hangs: nothing leaves the queue
    notifier = alertnotify.AppriseNotifier([receiver.url("q?rto=20")])
    try:
        line = {"event": "oversell", "severity": "critical", "message": "m", "sku": "MUG"}
        with capture_logs() as logs_seen:
            for _ in range(alertnotify.QUEUE_SIZE + 30):
                notifier(dict(line))
        wait_for(lambda: receiver.waiting == 1, what="the first delivery to hang")
        dropped = [e for e in logs_seen if e["event"] == "alert_notify.dropped"]
        # One taken by the delivery thread, QUEUE_SIZE waiting, the rest dropped.
        assert notifier.counts.dropped in (29, 30) and len(dropped) == 1
    finally:
        receiver.released.set()
        notifier.close(timeout_s=30)
    assert notifier.counts.delivered == alertnotify.QUEUE_SIZE + 30 - notifier.counts.dropped
