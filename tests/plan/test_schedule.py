"""The service's Schedule runs a planned account at its plan's intervals, follows the
plan as the budget moves, and keeps the configured cadence for other channels."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from oneshop.coordinator import JobKind
from oneshop.schedule import Schedule, job_id

from .conftest import PlanRig


def interval(schedule: Schedule, account: str, kind: JobKind) -> Any:
    """The job's interval (to compare with ==, to the microsecond APScheduler keeps)."""
    job: Any = schedule.scheduler.get_job(job_id(account, kind))
    assert job is not None
    assert isinstance(job.trigger.interval, timedelta)
    return pytest.approx(job.trigger.interval.total_seconds(), abs=1e-5)  # type: ignore[no-any-return]


def test_the_schedule_follows_the_plan(plan_rig: PlanRig) -> None:
    rig = plan_rig
    schedule = Schedule()
    schedule.plan(rig.runner)
    planned = rig.runner.plans["etsy"]
    assert "shopify" not in rig.runner.plans  # no daily budget: configured cadence
    assert interval(schedule, "etsy", JobKind.ORDERS) == planned.poll_s
    assert 10 <= planned.poll_s < 60
    assert interval(schedule, "etsy", JobKind.RECONCILE) == planned.cycle_s
    assert interval(schedule, "shopify", JobKind.ORDERS) == 60
    assert interval(schedule, "shopify", JobKind.RECONCILE) == 3600
    assert schedule.scheduler.get_job("etsy:plan") is not None
    assert schedule.scheduler.get_job("shopify:plan") is None
    # The budget falls under the reserve (another app on the key): polls slow down.
    rig.etsy.set_rate_limits(per_day=2_000)
    rig.clock.advance(10)
    assert rig.runner.poll("etsy")
    schedule._replan(rig.runner, "etsy")
    slower = rig.runner.plans["etsy"]
    assert slower.poll_s > planned.poll_s
    assert interval(schedule, "etsy", JobKind.ORDERS) == slower.poll_s
    # Back to a full budget: fast again.
    rig.etsy.set_rate_limits(per_day=10_000)
    rig.clock.advance(10)
    assert rig.runner.poll("etsy")
    schedule._replan(rig.runner, "etsy")
    assert interval(schedule, "etsy", JobKind.ORDERS) == rig.runner.plans["etsy"].poll_s
    assert rig.runner.plans["etsy"].poll_s < 20


def test_a_reconcile_turn_of_a_planned_account_reads_a_slice(plan_rig: PlanRig) -> None:
    rig = plan_rig
    rig.runner.replan("etsy")
    rig.clock.advance(rig.runner.plans["etsy"].full_s)
    before = rig.etsy.requests
    assert rig.runner.scan("etsy", JobKind.RECONCILE)
    # The orders pull (receipts, and the cancellation rescan: due after 15 min) and one
    # batch read (40 listings fit in one), not the catalog page by page and state by state.
    assert rig.etsy.requests - before == 3
    assert rig.runner.plans["etsy"].listings_per_cycle >= 40
