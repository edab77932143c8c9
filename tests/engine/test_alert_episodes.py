"""Alerts are episodes: over many polls with a fault held, one alert when it starts, at
most the reminders while it lasts, one `resolved` when it ends (docs/alerts.md).

Each test counts stored alert rows and logged alert lines, not just their presence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from structlog.testing import capture_logs

from oneshop.app import App
from oneshop.ledger import models as m
from oneshop.plugins import available_connectors
from oneshop.service import Runner, resume_account
from oneshop.testing import VirtualClock
from oneshop.testing.shop import KINDS, SandboxShop

KINDS_HERE = tuple(k for k in KINDS if k in available_connectors())
POLLS = 12


class Rig:
    def __init__(self, shop: SandboxShop, app: App, clock: VirtualClock) -> None:
        self.shop, self.app, self.clock, self.runner = shop, app, clock, Runner(app)

    def rows(self, event: str) -> list[m.Alert]:
        with self.app.sessions() as s:
            return list(s.scalars(select(m.Alert).where(m.Alert.event == event)))

    def count(self, model: Any, *where: Any) -> int:
        with self.app.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    def on_hand(self, sku: str) -> int:
        with self.app.sessions() as s:
            return int(s.scalar(select(m.Sku.on_hand).where(m.Sku.sku == sku)) or 0)

    def state(self, account: str) -> m.AccountState:
        with self.app.sessions() as s:
            state = s.get(m.AccountState, account)
            assert state is not None
            return state

    def start(self, sku: str, qty: int) -> dict[str, str]:
        ids = self.shop.seed(sku, qty)
        for kind in self.shop.kinds:
            assert self.runner.reconcile(kind, link=True)
        return ids

    def poll(self, account: str, every_s: float = 60.0) -> bool:
        self.clock.advance(every_s)
        return self.runner.poll(account)


def make_rig(tmp_path: Path, database_url: str, **overrides: Any) -> Rig:
    clock = VirtualClock()
    shop = SandboxShop(state_dir=tmp_path / "state", kinds=KINDS_HERE,
                       database_url=database_url, clock=clock.now,
                       settings_overrides=overrides)
    shop.prepare_ledger()
    return Rig(shop, shop.build_app(clock=clock.now, sleep=clock.sleep), clock)


@pytest.fixture
def rig(tmp_path: Path, database_url: str) -> Iterator[Rig]:
    made = make_rig(tmp_path, database_url)
    yield made
    made.app.close()
    made.shop.close()


def lines(logs: list[dict[str, Any]], event: str, episode: str | None = None
          ) -> list[dict[str, Any]]:
    return [e for e in logs if e.get("event") == event and e.get("alert")
            and (episode is None or e.get("episode") == episode)]


def needs(*kinds: str) -> None:
    missing = set(kinds) - set(KINDS_HERE)
    if missing:
        pytest.skip(f"needs the {', '.join(sorted(missing))} connector(s)")


@pytest.mark.parametrize("kind", KINDS_HERE)
def test_a_malformed_order_is_kept_and_alerted_once_however_often_it_is_read(
        rig: Rig, kind: str) -> None:
    rig.start("REJ", 3)
    rig.shop.sandboxes[kind].add_malformed_order()
    with capture_logs() as logs:
        for _ in range(POLLS):
            assert rig.poll(kind)
            rig.clock.advance(3600)  # past any reminder: a record is told once, ever
    assert rig.count(m.RejectedRecord) == 1
    assert len(rig.rows("rejected_record")) == 1
    assert len(lines(logs, "rejected_record")) == 1


def test_a_channel_down_is_one_push_failed_episode_then_one_resolved(rig: Rig) -> None:
    needs("etsy", "shopify")
    ids = rig.start("DOWN", 20)
    etsy, shopify = rig.shop.sandboxes["etsy"], rig.shop.sandboxes["shopify"]
    etsy.fail_next(100_000, status=503)
    with capture_logs() as logs:
        for _ in range(5):
            shopify.sell(ids["shopify"], 1)
            assert rig.poll("shopify"), "Etsy's failure failed Shopify's job"
        assert len(lines(logs, "push_failed")) == 1
        assert len(rig.rows("push_failed")) == 1
        etsy.faults.clear()  # type: ignore[attr-defined]
        shopify.sell(ids["shopify"], 1)
        assert rig.poll("shopify")
        assert rig.poll("shopify")
    assert etsy.quantity(ids["etsy"]) == 14
    assert [e["episode"] for e in lines(logs, "push_failed")] == ["started", "resolved"]
    assert len(rig.rows("push_failed")) == 1


def test_a_listing_deleted_on_etsy_is_one_episode_and_is_not_pushed_again(rig: Rig) -> None:
    needs("etsy", "shopify")
    ids = rig.start("GONE", 5)
    rig.shop.sandboxes["etsy"].delete_listing(ids["etsy"])  # type: ignore[attr-defined]
    rig.shop.sandboxes["shopify"].sell(ids["shopify"], 1)
    with capture_logs() as logs:
        assert rig.poll("shopify")
        for _ in range(POLLS):
            assert rig.poll("etsy", every_s=2)
            assert rig.poll("shopify", every_s=2)
    with rig.app.sessions() as s:
        binding = s.scalar(select(m.Binding.id).where(m.Binding.account == "etsy"))
    assert rig.count(m.Push, m.Push.binding_id == binding) == 1, "pushed again and again"
    assert len(lines(logs, "push_failed")) == 1
    (row,) = rig.rows("push_failed")
    assert row.fields["listing"] == ids["etsy"] and row.resolved_at is None


def test_a_restart_after_downtime_alerts_no_stale_channel_before_a_poll_is_tried(
        rig: Rig) -> None:
    rig.start("NAP", 2)
    for kind in rig.shop.kinds:
        assert rig.poll(kind)
    rig.clock.advance(86_400)  # the service was down for a day
    rig.runner = Runner(rig.app)  # and starts again
    down = rig.shop.kinds[0]
    with capture_logs() as logs:
        rig.runner.check_stale()
        rig.clock.advance(3 * 600)  # a slow start: no poll tried yet, three limits later
        rig.runner.check_stale()
        rig.runner.started_at = rig.clock.now()  # a quick one, whose first poll fails
        rig.shop.sandboxes[down].fail_next(100_000, status=503)
        assert not rig.poll(down, every_s=1)
        rig.runner.check_stale()
        rig.shop.sandboxes[down].faults.clear()  # type: ignore[attr-defined]
        assert all(rig.poll(kind, every_s=1) for kind in rig.shop.kinds)
        rig.runner.check_stale()
    assert rig.rows("channel_stale") == []
    assert lines(logs, "channel_stale") == []


def test_a_stale_channel_is_one_alert_reminded_every_interval_then_resolved(
        rig: Rig) -> None:
    kind = rig.shop.kinds[0]
    rig.start("STALE", 2)
    rig.shop.sandboxes[kind].fail_next(100_000, status=503)
    with capture_logs() as logs:
        # 13 hours of failing polls, checked as often (every 5 minutes).
        for _ in range(13 * 12):
            rig.clock.advance(300)
            rig.runner.poll(kind)
            rig.runner.check_stale()
        rig.shop.sandboxes[kind].faults.clear()  # type: ignore[attr-defined]
        assert rig.poll(kind)
        rig.runner.check_stale()
    episodes = [e["episode"] for e in lines(logs, "channel_stale") if e["account"] == kind]
    assert episodes == ["started", "reminder", "reminder", "resolved"]
    assert len([r for r in rig.rows("channel_stale") if r.account == kind]) == 1
    assert [e["event"] for e in logs if e["event"].startswith("job.")
            and e["account"] == kind] == ["job.failing", "job.recovered"]


@pytest.mark.parametrize("kind", KINDS_HERE)
def test_refused_credentials_are_one_episode_with_advice_that_names_a_real_command(
        rig: Rig, kind: str) -> None:
    rig.start("KEY", 4)
    sandbox = rig.shop.sandboxes[kind]
    sandbox.revoke_credentials()
    with capture_logs() as logs:
        for _ in range(POLLS):
            rig.poll(kind)
            rig.runner.check_stale()
        (line,) = lines(logs, "auth_failed")
    if kind == "etsy":
        assert "`oneshop auth etsy --account etsy`" in line["action"]
    else:
        assert "oneshop auth" not in line["action"]
        assert f"`oneshop resume {kind}`" in line["action"]
        assert "`systemctl reload oneshop`" in line["action"]
    assert len(rig.rows("auth_failed")) == 1
    assert rig.state(kind).paused


def test_a_paused_account_is_tried_once_at_start_and_resumes_if_it_works(
        rig: Rig) -> None:
    needs("gumroad")
    ids = rig.start("BACK", 4)
    gumroad: Any = rig.shop.sandboxes["gumroad"]
    gumroad.revoke_credentials()
    assert not rig.poll("gumroad")
    # A restart with the credential still refused: tried once, stays paused, says why.
    rig.runner = Runner(rig.app)
    requests = gumroad.faults.requests
    rig.runner.retry_paused()
    assert gumroad.faults.requests > requests, "the paused account was not tried"
    assert rig.state("gumroad").paused
    from oneshop import reports

    with rig.app.sessions() as s:
        ok, why = reports.health(s, rig.app.config, rig.clock.now())
    assert not ok and "gumroad: paused" in why and "oneshop resume gumroad" in why
    # Fixed meanwhile: the next start resumes it, and the episode ends once.
    gumroad.world.revoked = False
    gumroad.sell(ids["gumroad"], 1)
    with capture_logs() as logs:
        rig.runner = Runner(rig.app)
        rig.runner.retry_paused()
        assert rig.poll("gumroad")
    assert not rig.state("gumroad").paused
    assert [e["episode"] for e in lines(logs, "auth_failed")] == ["resolved"]
    assert len(rig.rows("auth_failed")) == 1


def test_oneshop_resume_un_pauses_and_the_episode_resolves_at_the_next_poll(
        rig: Rig) -> None:
    needs("shopify")
    rig.start("RES", 2)
    shopify: Any = rig.shop.sandboxes["shopify"]
    shopify.revoke_credentials()
    assert not rig.poll("shopify")
    shopify.revoked = False
    assert not rig.poll("shopify"), "polled while paused"
    resume_account(rig.app, "shopify")
    with capture_logs() as logs:
        assert rig.poll("shopify")
        assert rig.poll("shopify")
    assert [e["episode"] for e in lines(logs, "auth_failed")] == ["resolved"]


def test_an_oversell_that_deepens_is_told_again_naming_the_new_orders(rig: Rig) -> None:
    needs("etsy", "shopify", "gumroad")
    ids = rig.start("RING", 1)
    shopify, gumroad = rig.shop.sandboxes["shopify"], rig.shop.sandboxes["gumroad"]
    first = shopify.sell(ids["shopify"], 1)
    second = gumroad.sell(ids["gumroad"], 1)
    with capture_logs() as logs:
        assert rig.poll("shopify")
        assert rig.poll("gumroad")  # -1: the episode starts
        for _ in range(3):
            assert rig.poll("gumroad")
        # Sales nobody could stop (Gumroad was told 0, a buyer's cart was older).
        gumroad.hand_edit(ids["gumroad"], 3)
        later = [gumroad.sell(ids["gumroad"], 1) for _ in range(2)]
        assert rig.poll("gumroad")  # -3: deeper
        assert rig.poll("gumroad")
    said = lines(logs, "oversell")
    assert [e["episode"] for e in said] == ["started", "deepened"]
    assert f"gumroad:{second} x1" in said[0]["orders"]
    assert {f"gumroad:{o} x1" for o in later} == set(said[1]["orders"])
    assert f"shopify:{first} x1" not in said[1]["orders"]
    assert len(rig.rows("oversell")) == 1


def test_an_oversell_ends_with_one_resolved_line(rig: Rig) -> None:
    needs("shopify", "gumroad")
    ids = rig.start("LAST", 1)
    rig.shop.sandboxes["shopify"].sell(ids["shopify"], 1)
    order = rig.shop.sandboxes["gumroad"].sell(ids["gumroad"], 1)
    assert rig.poll("shopify") and rig.poll("gumroad")
    with capture_logs() as logs:
        rig.shop.sandboxes["gumroad"].cancel(order, restock=True)
        for _ in range(3):
            assert rig.poll("gumroad")
    assert [e["episode"] for e in lines(logs, "oversell")] == ["resolved"]
    (row,) = rig.rows("oversell")
    assert row.resolved_at is not None


def test_an_oversell_ended_by_oneshop_adjust_is_resolved_by_the_housekeeping(
        rig: Rig) -> None:
    from oneshop.ledger import stock
    from oneshop.ledger.db import transaction

    needs("shopify", "gumroad")
    ids = rig.start("FOUND", 1)
    rig.shop.sandboxes["shopify"].sell(ids["shopify"], 1)
    rig.shop.sandboxes["gumroad"].sell(ids["gumroad"], 1)
    assert rig.poll("shopify") and rig.poll("gumroad")
    with transaction(rig.app.sessions) as s:  # what `oneshop adjust FOUND +1` books
        sku_id = stock.sku_ids(s, ["FOUND"])["FOUND"]
        stock.record_movement(s, sku_id=sku_id, kind="adjust", delta=1,
                              source_key="adjust:test", reason="found")
    with capture_logs() as logs:
        for _ in range(3):
            rig.runner.check_stale()
    assert [e["episode"] for e in lines(logs, "oversell")] == ["resolved"]


def test_each_poll_logs_one_summary_line(rig: Rig) -> None:
    ids = rig.start("SUM", 9)
    kind = rig.shop.kinds[0]
    with capture_logs() as logs:
        for _ in range(5):
            rig.shop.sandboxes[kind].sell(ids[kind], 1)
            assert rig.poll(kind)
    info = [e for e in logs if e["log_level"] == "info"]
    assert [e["event"] for e in info] == ["sync.done"] * 5
    assert sum(e["new_orders"] for e in info) == 5
