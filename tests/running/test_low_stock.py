"""Low-stock alerts (issue 18.1) from a shop with history: one `low_stock` alert when a
SKU crosses to its threshold or below, re-armed only once it rises above it, per-SKU
thresholds winning over `[service]`, and one digest line a day at the configured hour.

Each test counts alert lines and stored rows over many polls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from structlog.testing import capture_logs

from oneshop.cli import cli
from oneshop.digest import DailyDigest
from oneshop.service import Runner
from tests.running.conftest import KINDS_HERE, Rig, alert_lines

POLLS = 12
RULES: dict[str, Any] = {
    "service": {"low_stock": 5, "reorder_to": 12},
    "skus": {"PIN": {"low_stock": 1}, "CARD": {"reorder_to": 25}},
}


def sell_down(rig: Rig, sku: str, to: int) -> list[tuple[str, str]]:
    """Sell one unit at a time, rotating channels, each sale pulled; the orders."""
    orders = []
    turn = 0
    while rig.on_hand(sku) > to:
        kind = KINDS_HERE[turn % len(KINDS_HERE)]
        orders.append((kind, rig.sell(kind, sku)))
        rig.poll(kind)
        turn += 1
    return orders


def test_a_sku_crossing_its_threshold_is_one_alert_over_many_polls_with_the_reorder(
        make_rig: Any) -> None:
    rig: Rig = make_rig(**RULES)
    rig.poll_all()
    assert rig.on_hand("MUG") > 8, "the history should leave MUG well above 5"
    with capture_logs() as logs:
        sell_down(rig, "MUG", 2)
        for _ in range(POLLS):
            rig.poll_all(every_s=3600)  # hours pass: a low SKU is not reminded
    (line,) = alert_lines(logs, "low_stock")
    assert line["episode"] == "started" and line["sku"] == "MUG"
    assert line["available"] == 5 and line["threshold"] == 5
    assert line["message"] == "MUG is low: 5 left (threshold 5); order 7 more to reach 12"
    assert line["severity"] == "warning"
    (row,) = rig.rows("low_stock")
    assert row.resolved_at is None and row.fields["order"] == 7


def test_a_per_sku_threshold_wins_over_the_service_one(make_rig: Any) -> None:
    rig: Rig = make_rig(**RULES)
    with capture_logs() as logs:
        sell_down(rig, "PIN", 2)  # at or below the service's 5 from the start
        assert alert_lines(logs, "low_stock") == []
        sell_down(rig, "PIN", 0)
        sell_down(rig, "CARD", 4)
    pin, card = alert_lines(logs, "low_stock")
    assert pin["sku"] == "PIN" and pin["available"] == 1 and pin["threshold"] == 1
    # Key by key: PIN's own threshold, the service's reorder_to.
    assert pin["message"] == "PIN is low: 1 left (threshold 1); order 11 more to reach 12"
    assert card["sku"] == "CARD" and card["threshold"] == 5 and card["reorder_to"] == 25
    assert card["message"].endswith("order 20 more to reach 25")


def test_it_is_re_armed_only_after_rising_above_the_threshold(make_rig: Any) -> None:
    rig: Rig = make_rig(**RULES)
    shopify = "shopify" if "shopify" in KINDS_HERE else KINDS_HERE[0]
    with capture_logs() as logs:
        sell_down(rig, "MUG", 6)
        cancel = [rig.sell(shopify, "MUG") for _ in range(4)]  # 6 -> 2
        rig.poll(shopify)
        rig.shop.sandboxes[shopify].cancel(cancel[0])  # back to 3: still low
        rig.poll_all()
        rig.poll_all()
        for order in cancel[1:]:  # back to 6: above 5, re-armed
            rig.shop.sandboxes[shopify].cancel(order)
        for _ in range(3):
            rig.poll_all()
        sell_down(rig, "MUG", 5)  # crosses again: a second episode
        for _ in range(POLLS):
            rig.poll_all()
    assert [e["episode"] for e in alert_lines(logs, "low_stock")] == [
        "started", "resolved", "started"]
    first, second = rig.rows("low_stock")
    assert first.resolved_at is not None and second.resolved_at is None
    assert first.fields["available"] == 2 and second.fields["available"] == 5


def test_the_digest_is_one_line_a_day_at_its_hour_over_three_days(make_rig: Any) -> None:
    rig: Rig = make_rig(service={**RULES["service"], "low_stock_digest_hour": 8},
                        skus=RULES["skus"])
    sell_down(rig, "MUG", 3)
    with capture_logs() as logs:
        for half_hour in range(3 * 48):  # three days, housekeeping every half hour
            rig.clock.advance(1800)
            rig.runner.check_stale()
            if half_hour == 60:  # a restart on day 2, after that day's digest
                rig.runner = Runner(rig.app)
            if half_hour == 70:
                sell_down(rig, "CARD", 5)
    digests = alert_lines(logs, "low_stock_digest")
    assert len(digests) == 3
    assert [d["day"] for d in digests] == ["2026-11-02", "2026-11-03", "2026-11-04"]
    # At the first half-hourly check of the 08:00 hour (polls moved the clock off :00).
    assert [r.created_at.hour for r in rig.rows("low_stock_digest")] == [8, 8, 8]
    assert [s["sku"] for s in digests[0]["skus"]] == ["MUG"]
    assert [s["sku"] for s in digests[2]["skus"]] == ["CARD", "MUG"]
    assert "MUG 3/5 (order 9)" in digests[0]["message"]
    assert len(rig.rows("low_stock_digest")) == 3
    assert all(r.resolved_at is not None for r in rig.rows("low_stock_digest"))


def test_a_second_process_sends_no_second_digest_the_same_day(make_rig: Any) -> None:
    rig: Rig = make_rig(service={**RULES["service"], "low_stock_digest_hour": 6},
                        skus=RULES["skus"])
    sell_down(rig, "MUG", 4)
    with capture_logs() as logs:
        first, second = DailyDigest(rig.app), DailyDigest(rig.app)
        assert [low.sku for low in first.tick()] == ["MUG"]
        assert second.tick() == [] and first.tick() == []
    assert len(alert_lines(logs, "low_stock_digest")) == 1


def test_adjust_crosses_and_re_arms_from_the_command_line(make_rig: Any,
                                                           tmp_path: Path) -> None:
    rig: Rig = make_rig(**RULES)
    env = rig.shop.write_config(tmp_path / "oneshop.toml",
                                extra='\n[skus.MUG]\nlow_stock = 8\nreorder_to = 20\n')
    runner = CliRunner()
    start = rig.on_hand("MUG")

    def adjust(delta: int) -> None:
        done = runner.invoke(cli, ["--config", str(tmp_path / "oneshop.toml"), "adjust", "MUG",
                                   f"{delta:+d}", "--reason", "count"], env=env, obj={})
        assert done.exit_code == 0, done.output

    adjust(8 - start)  # down to 8: crosses
    adjust(-1)  # 7: still low, nothing new
    adjust(+2)  # 9: re-armed
    adjust(-1)  # 8: crosses again
    # (The command reconfigures logging, so the stored episodes are what is counted.)
    first, second = rig.rows("low_stock")
    assert first.resolved_at is not None and second.resolved_at is None
    assert (first.fields["available"], second.fields["available"]) == (8, 8)
    assert second.message == "MUG is low: 8 left (threshold 8); order 12 more to reach 20"


def test_an_idle_poll_runs_no_query_for_low_stock(make_rig: Any) -> None:
    """The check runs only where stock changed: with thresholds set (and an episode
    open), an idle cycle sends the ledger exactly the statements it sends without."""
    from sqlalchemy import event

    from oneshop.ledger.lowstock import LowStockRules

    rig: Rig = make_rig(**RULES)
    sell_down(rig, "MUG", 3)
    rig.poll_all()
    statements: list[str] = []
    event.listen(rig.app.db, "before_cursor_execute",
                 lambda _c, _cur, sql, *_a: statements.append(sql))

    def idle_cycles(count: int) -> set[str]:
        statements.clear()
        for _ in range(count):
            rig.poll_all()
        return set(statements)

    configured = rig.app.engine.parts.low_stock
    rig.app.engine.parts.low_stock = LowStockRules()
    without = idle_cycles(4)  # (periodic work, an Etsy rescan, shows up in both)
    rig.app.engine.parts.low_stock = configured
    with_rules = idle_cycles(3)
    # The check reads only skus and alerts; other periodic work (an Etsy rescan) may
    # land in either run.
    assert with_rules
    assert [q for q in with_rules - without if "skus" in q or "alerts" in q] == []


def test_the_low_stock_command_lists_what_is_low_now(make_rig: Any, tmp_path: Path) -> None:
    rig: Rig = make_rig(**RULES)
    sell_down(rig, "MUG", 4)
    sell_down(rig, "PIN", 1)
    config = tmp_path / "oneshop.toml"
    env = rig.shop.write_config(config, extra=(
        '\n[skus.MUG]\nlow_stock = 5\nreorder_to = 12\n[skus.PIN]\nlow_stock = 1\n'))
    done = CliRunner().invoke(cli, ["--config", str(config), "low-stock"], env=env, obj={})
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == [
        {"sku": "MUG", "available": 4, "threshold": 5, "reorder_to": 12, "order": 8},
        {"sku": "PIN", "available": 1, "threshold": 1, "reorder_to": None, "order": None}]
    helped = CliRunner().invoke(cli, ["low-stock", "--help"], obj={})
    assert "Changes nothing" in helped.output
    bare = tmp_path / "bare.toml"
    env = rig.shop.write_config(bare)
    refused = CliRunner().invoke(cli, ["--config", str(bare), "low-stock"], env=env, obj={})
    assert refused.exit_code == 1 and "no low_stock threshold" in refused.output
