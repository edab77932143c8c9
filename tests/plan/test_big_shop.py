"""A 100,000-listing Etsy shop cannot be read every hour on 10,000 requests a day: the
`reconcile_budget` alert is one episode over a simulated day of re-plans while the
budget moves (spent through the connector, the limit raised mid-day), and it ends once
when the budget can."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select
from structlog.testing import capture_logs

from oneshop.ledger import models as m
from oneshop.planning import ALERT, REPLAN_S
from oneshop.plugins import available_connectors
from oneshop.service import Runner
from oneshop.testing import VirtualClock
from oneshop.testing.shop import SandboxShop

pytestmark = pytest.mark.slow
LISTINGS = 100_000


@pytest.fixture
def big(tmp_path: Path, database_url: str) -> Iterator[tuple[SandboxShop, Runner, VirtualClock]]:
    if "etsy" not in available_connectors():
        pytest.skip("needs the etsy connector")
    clock = VirtualClock()
    shop = SandboxShop(state_dir=tmp_path / "state", kinds=("etsy",),
                       database_url=database_url, clock=clock.now)
    etsy: Any = shop.sandboxes["etsy"]
    ids = [etsy.seed_listing(f"B{i:06d}", 5) for i in range(LISTINGS)]
    shop.prepare_ledger()
    app = shop.build_app(clock=clock.now, sleep=clock.sleep)
    # The ledger as a discovery and an adoption leave it (reading 100,000 listings
    # through the sandbox takes minutes): one adopted SKU and one bound listing each.
    now = clock.now()
    with app.sessions.begin() as s:
        s.execute(insert(m.Sku), [{"sku": f"B{i:06d}", "on_hand": 5, "adopted_at": now}
                                  for i in range(LISTINGS)])
        sku_ids = {sku: id_ for sku, id_ in s.execute(select(m.Sku.sku, m.Sku.id))}
        s.execute(insert(m.Binding), [
            {"account": "etsy", "external_id": ext, "sku_id": sku_ids[ext.split(":")[1]],
             "channel_sku": ext.split(":")[1], "bound_by": "auto", "observed_qty": 5,
             "observed_at": now, "read_qty": 5, "read_at": now, "seen_at": now,
             "extra": {}} for ext in ids])
    yield shop, Runner(app), clock
    app.close()
    shop.close()


def alert_lines(logs: list[dict[str, Any]], episode: str) -> list[dict[str, Any]]:
    return [e for e in logs if e.get("event") == ALERT and e.get("episode") == episode]


def test_the_cannot_alert_is_one_episode_over_a_day(
        big: tuple[SandboxShop, Runner, VirtualClock]) -> None:
    shop, runner, clock = big
    etsy: Any = shop.sandboxes["etsy"]
    connector = runner.app.accounts.connectors["etsy"]
    shares = set()
    with capture_logs() as logs:
        for step in range(int(86_400 / REPLAN_S)):
            clock.advance(REPLAN_S)
            # Spend a varying share through the connector's real requests (order reads).
            for _ in range(step % 7):
                for _page in connector.fetch_orders(None):
                    pass
            if step == 144:  # mid-day, Etsy raises the limit; still not enough
                etsy.set_rate_limits(per_day=20_000)
            plan = runner.replan("etsy")
            assert plan is not None and not plan.meets
            shares.add(round(plan.share_left or 0, 2))
        assert len(shares) > 5, "the budget did not move: the test proves nothing"
        with runner.app.sessions() as s:
            rows = list(s.scalars(select(m.Alert).where(m.Alert.event == ALERT)))
        assert len(rows) == 1 and rows[0].resolved_at is None
        assert len(alert_lines(logs, "started")) == 1
        (started,) = alert_lines(logs, "started")
        assert started["message"].startswith("full reconcile every ")
        assert "at this budget" in started["message"]
        assert alert_lines(logs, "resolved") == []
        # A budget that can read 1,000 batches an hour ends the episode, once.
        etsy.set_rate_limits(per_day=200_000)
        clock.advance(timedelta(seconds=REPLAN_S).total_seconds())
        for _page in connector.fetch_orders(None):
            pass
        plan = runner.replan("etsy")
        assert plan is not None and plan.meets
        runner.replan("etsy")
    assert len(alert_lines(logs, "resolved")) == 1
    assert len(alert_lines(logs, "started")) == 1
