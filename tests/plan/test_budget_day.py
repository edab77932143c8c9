"""A simulated day of a budget-planned Etsy account, at the sandbox boundary: the
service's own jobs (Runner.poll, the rolling reconcile's slices, re-plans every
REPLAN_S, discovery, Shopify's polls pushing its sales to Etsy) run on a virtual clock
at the times the plan gives, against the Etsy sandbox's rate limiter (10/s, a sliding
day). Sales on both channels, a cancellation, hand edits on Etsy through the day."""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from oneshop.coordinator import JobKind
from oneshop.ledger import models as m
from oneshop.planning import ALERT, REPLAN_S

from .conftest import PlanRig, make_plan_rig

pytestmark = pytest.mark.slow
DAY_S = 86_400.0


@dataclass
class Day:
    """What the day did: Etsy requests, the stalest bound listing seen, plans, failures."""

    requests: int = 0
    stalest_s: float = 0.0
    polls: int = 0
    slices: int = 0
    failed: list[str] = field(default_factory=list)
    poll_intervals: list[float] = field(default_factory=list)
    edits: list[str] = field(default_factory=list)


def stalest(rig: PlanRig) -> float:
    with rig.app.sessions() as s:
        oldest = s.scalar(select(func.min(m.Binding.read_at)).where(
            m.Binding.account == "etsy", m.Binding.sku_id.is_not(None)))
    assert oldest is not None
    return (rig.clock.now() - oldest).total_seconds()


def run_day(rig: PlanRig, *, sales: int, edits: int, seed: int = 5) -> Day:
    """One day of the service's jobs at the plan's times (the Schedule's, without
    APScheduler's threads): each job reschedules itself by the current plan."""
    day, rng = Day(), random.Random(seed)
    start, runner = rig.clock.now(), rig.runner
    before = rig.etsy.requests
    cfg = rig.app.config.accounts["etsy"].config
    events: list[tuple[float, int, str]] = []
    skus = list(rig.ids)

    def at(when: float, what: str) -> None:
        heapq.heappush(events, (when, len(events) + rng.random(), what))

    for n in range(sales):
        at(rng.uniform(0, DAY_S), f"sell:{'etsy' if n % 2 else 'shopify'}")
    for _ in range(edits):
        at(rng.uniform(0, DAY_S - 3 * 3600), "edit")
    plan = runner.replan("etsy")
    assert plan is not None
    for first, what in ((1, "poll:etsy"), (plan.cycle_s, "slice"), (10, "replan"),
                        (cfg.discover_seconds, "discover"), (600, "poll:shopify")):
        at(first, what)
    jobs: dict[str, Callable[[], Any]] = {
        "poll:etsy": lambda: runner.poll("etsy"),
        "poll:shopify": lambda: runner.poll("shopify"),
        "slice": lambda: runner.scan("etsy", JobKind.RECONCILE),
        "discover": lambda: runner.scan("etsy", JobKind.DISCOVER),
    }
    while events:
        when, _, what = heapq.heappop(events)
        if when > DAY_S:
            break
        rig.clock.set(start + timedelta(seconds=when))
        plan = runner.plans["etsy"]
        if what.startswith("sell:"):
            kind = what.split(":")[1]
            sku = rng.choice(skus)
            rig.shop.sandboxes[kind].sell(rig.ids[sku][kind], 1)
        elif what == "edit":
            sku = rng.choice(skus)
            rig.etsy.hand_edit(rig.ids[sku]["etsy"], rng.randint(30, 40))
            day.edits.append(sku)
        elif what == "replan":
            runner.replan("etsy")
            day.poll_intervals.append(runner.plans["etsy"].poll_s)
            at(when + REPLAN_S, what)
        else:
            if what == "slice":  # the oldest read just before it is read: the longest
                day.stalest_s = max(day.stalest_s, stalest(rig))
            if not jobs[what]():
                day.failed.append(f"{what}@{when:.0f}")
            interval = {"poll:etsy": plan.poll_s, "slice": plan.cycle_s,
                        "discover": cfg.discover_seconds, "poll:shopify": 600.0}[what]
            day.polls += what == "poll:etsy"
            day.slices += what == "slice"
            at(when + interval, what)
    day.requests = rig.etsy.requests - before
    return day


@pytest.fixture
def shop_1k(tmp_path: Path, database_url: str) -> Any:
    rig = make_plan_rig(tmp_path, database_url, skus=1_000, kinds=("etsy", "shopify"))
    yield rig
    rig.close()


@pytest.mark.timeout(1800)  # ~2,000 real polls through the engine: minutes on a busy box
def test_a_day_of_a_1000_listing_shop_stays_inside_its_budget(shop_1k: PlanRig) -> None:
    rig = shop_1k
    per_day = 4_000  # a smaller budget than Etsy's default keeps the day short to run
    rig.etsy.set_rate_limits(per_day=per_day)
    day = run_day(rig, sales=200, edits=12)
    print(f"day: {day.requests} Etsy requests of {per_day} ({day.requests / per_day:.1%}), "
          f"{day.polls} polls (every {min(day.poll_intervals):.1f}-"
          f"{max(day.poll_intervals):.1f} s), {day.slices} slices, stalest listing "
          f"{day.stalest_s:.0f} s")
    assert day.failed == []
    # The plan's spending, pushes included, stays inside (1 - reserve) of the budget ...
    assert day.requests <= 0.9 * per_day, day
    assert day.requests <= 0.75 * per_day * 1.05, day  # the default reserve_share, 0.25
    # ... and uses it: polls faster than poll_seconds, as the budget allows.
    assert day.requests >= 0.5 * per_day, day
    assert max(day.poll_intervals) < 60 and min(day.poll_intervals) >= 10
    # Every bound listing was read within reconcile_seconds all day.
    assert day.stalest_s <= 3_600, day
    assert rig.alerts(ALERT) == []
    # Every hand edit was folded in, once (adopt): the channel's number is the stock.
    assert rig.count(m.Movement, m.Movement.kind == "channel_edit") == len(set(day.edits))
    for sku in set(day.edits):
        shown = rig.etsy.quantity(rig.ids[sku]["etsy"])
        assert rig.on_hand(sku) == shown


def test_status_json_shows_the_plan(shop_1k: PlanRig) -> None:
    from oneshop import planview

    rig = shop_1k
    for _ in range(3):
        rig.clock.advance(15)
        assert rig.runner.poll("etsy")
    rig.runner.replan("etsy")
    with rig.app.sessions() as s:
        shown = planview.plans(s, rig.app.config)
    (etsy,) = shown
    assert etsy["account"] == "etsy"
    assert etsy["describe"].startswith("polling every 1")
    assert "full reconcile every 54 min" in etsy["describe"]
    assert etsy["describe"].endswith("% of today's budget left")
    assert etsy["meets"] is True
