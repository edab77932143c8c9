"""Rate limits: pacing to the per-second limit, both header spellings, the daily budget."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from oneshop.errors import RateLimited

from .conftest import Rig


def seed(rig: Rig, count: int) -> None:
    for i in range(count):
        rig.sandbox.seed_listing(f"P-{i:04d}", 1)


def test_requests_are_paced_to_the_per_second_limit_without_429(rig: Rig) -> None:
    rig.sandbox.set_rate_limits(per_second=2)
    seed(rig, 450)
    conn = rig.connector()
    assert len(rig.listings(conn)) == 450
    statuses = [s for s in rig.clock.sleeps if s > 0]
    assert statuses, "the connector never waited"
    budget = conn.budget()
    assert budget.throttle_wait_s > 0
    # 5 active pages + inactive + sold_out = 7 requests at 2/s: about 3 s of waiting.
    assert budget.requests == 7
    assert rig.sandbox.requests == 7, "a request was refused and retried"


def test_the_misspelt_remaining_header_is_read(rig: Rig) -> None:
    rig.sandbox.set_rate_limits(per_second=1, misspelt_header=True)
    seed(rig, 1)
    conn = rig.connector()
    rig.listings(conn)
    assert rig.sandbox.requests == 3  # no 429s: each request waited for the next second
    assert sum(rig.clock.sleeps) >= 1.9


def test_budget_reports_etsys_daily_figures(rig: Rig) -> None:
    rig.sandbox.set_rate_limits(per_day=500)
    seed(rig, 1)
    conn = rig.connector()
    rig.listings(conn)
    budget = conn.budget()
    assert (budget.limit, budget.remaining, budget.requests) == (500, 497, 3)


def test_an_exhausted_day_raises_rate_limited_with_the_wait(rig: Rig) -> None:
    rig.sandbox.set_rate_limits(per_day=2)
    seed(rig, 1)
    conn = rig.connector()
    with pytest.raises(RateLimited) as caught:
        rig.listings(conn)
    assert caught.value.retry_after_s is not None and caught.value.retry_after_s > 3600
    assert sum(rig.clock.sleeps) < 60, "a day-long wait must not block the sync thread"


def test_low_budget_is_reported_once(rig: Rig) -> None:
    rig.sandbox.set_rate_limits(per_day=20)
    external_id = rig.sandbox.seed_listing("B-1", 3)
    rig.sandbox.sell(external_id, 1)
    conn = rig.connector(budget_low_share=0.5)
    with capture_logs() as logs:
        for _ in range(6):
            list(conn.fetch_orders(None))
            rig.clock.advance(60)
    stretched = [e for e in logs if e["event"] == "budget.stretched"]
    assert len(stretched) == 1 and "alert" not in stretched[0]  # the core alerts, once
    assert conn.budget().remaining is not None and conn.budget().limit == 20
