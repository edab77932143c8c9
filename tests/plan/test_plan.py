"""The budget planner over many inputs: listings 10..100,000, budget left 0..10,000,
reserve shares 0..0.5, with and without pushes and other fixed costs."""

from __future__ import annotations

import itertools
import math

import pytest

from oneshop.plan import DAY_S, POLL_REQUESTS, SLACK, Demand, allowance, duration, plan, slices

LISTINGS = (10, 100, 999, 1_000, 5_000, 20_000, 50_000, 100_000)
REMAINING = (None, 0, 1, 500, 1_000, 2_500, 5_000, 9_000, 10_000)
RESERVES = (0.0, 0.1, 0.25, 0.5)
OTHER = (0.0, 250.0, 3_000.0)


def demand(**kw: object) -> Demand:
    base: dict[str, object] = {"listings": 1_000, "limit": 10_000, "remaining": 10_000,
                               "reserve_share": 0.25, "min_poll_s": 10.0, "max_poll_s": 60.0,
                               "reconcile_s": 3_600.0, "other_per_day": 0.0}
    return Demand(**{**base, **kw})  # type: ignore[arg-type]


GRID = [demand(listings=n, remaining=r, reserve_share=s, other_per_day=o)
        for n, r, s, o in itertools.product(LISTINGS, REMAINING, RESERVES, OTHER)]


@pytest.mark.parametrize("d", GRID, ids=lambda d: f"{d.listings}-{d.remaining}-"
                         f"{d.reserve_share}-{d.other_per_day:g}")
def test_every_plan_keeps_its_promises(d: Demand) -> None:
    p = plan(d)
    allowed = allowance(d)
    assert allowed <= (1 - d.reserve_share) * d.limit + 1e-9
    # Polls stay between the account's bounds; the budget_low stretch is not the plan's.
    assert d.min_poll_s <= p.poll_s <= d.max_poll_s
    slowest = POLL_REQUESTS * DAY_S / d.max_poll_s
    if allowed - d.other_per_day >= slowest:
        # Whenever the slowest polls fit, the plan spends no more than allowed.
        assert p.planned_per_day <= allowed + 1e-6
    # Every listing is read once per full_s: the slices cover the catalog.
    reads = math.ceil(d.listings / d.per_request)
    assert p.requests_per_cycle >= 1
    assert math.ceil(reads / p.requests_per_cycle) * p.cycle_s == pytest.approx(p.full_s)
    assert p.listings_per_cycle * round(p.full_s / p.cycle_s) >= d.listings
    assert p.cycle_s >= 60
    assert p.meets == (p.full_s <= d.reconcile_s)
    wanted = slices(reads, d.reconcile_s * SLACK)
    if allowed - d.other_per_day - slowest >= wanted.per_day:
        assert p.meets and p.full_s <= d.reconcile_s * SLACK + 1e-6
    else:
        assert p.poll_s == d.max_poll_s  # the reconcile takes what polls leave


@pytest.mark.parametrize("n,s", list(itertools.product(LISTINGS, RESERVES)))
def test_less_budget_never_plans_more(n: int, s: float) -> None:
    plans = [plan(demand(listings=n, remaining=r, reserve_share=s))
             for r in range(0, 10_001, 250)]
    for before, after in itertools.pairwise(plans):  # more left: never slower, never less
        assert after.poll_s <= before.poll_s + 1e-9
        assert after.full_s <= before.full_s + 1e-6
        assert after.allowance_per_day >= before.allowance_per_day


@pytest.mark.parametrize("r", REMAINING[1:])
def test_more_listings_never_plan_faster(r: int) -> None:
    plans = [plan(demand(listings=n, remaining=r)) for n in LISTINGS]
    for before, after in itertools.pairwise(plans):
        assert (after.poll_s, after.full_s) >= (before.poll_s, before.full_s) or \
            after.full_s >= before.full_s


def test_small_shop_polls_fast_and_reconciles_in_time() -> None:
    p = plan(demand(listings=1_000, remaining=10_000, reserve_share=0.1))
    assert p.meets and p.full_s <= 3_600
    assert p.poll_s < 11  # 1,000 listings cost 10 reads an hour: polls get the rest
    assert p.planned_per_day <= 9_000


def test_min_poll_bounds_a_tiny_shop() -> None:
    p = plan(demand(listings=10, remaining=10_000, reserve_share=0.0, min_poll_s=10))
    assert p.poll_s == 10
    assert p.planned_per_day < 10_000 * 0.9


def test_big_shop_cannot_and_says_what_it_can() -> None:
    p = plan(demand(listings=100_000, remaining=10_000, other_per_day=500))
    assert not p.meets
    assert p.poll_s == 60
    # 7,500 allowed - 500 other - 1,440 polls: 5,560 a day for 1,000 batch reads a pass,
    # 3 a slice, each slice one orders pull more: 1,334 a pass, 4.2 passes a day.
    assert 5 * 3_600 < p.full_s < 6 * 3_600
    assert p.shortfall().startswith("full reconcile every 5.8 h at this budget")
    assert "reconcile_seconds asks for 1.0 h" in p.shortfall()


def test_reserve_below_left_shrinks_in_proportion() -> None:
    full = demand(remaining=2_500, reserve_share=0.25)
    half = demand(remaining=1_250, reserve_share=0.25)
    assert allowance(full) == 7_500
    assert allowance(half) == 3_750
    assert allowance(demand(remaining=0)) == 0
    assert allowance(demand(remaining=None)) == 7_500
    assert allowance(demand(remaining=5, reserve_share=0.0)) == 10_000


def test_nothing_left_polls_at_the_upper_bound() -> None:
    p = plan(demand(remaining=0))
    assert p.poll_s == 60 and not p.meets
    assert "> 400 d" in p.shortfall()


def test_describe_reads_like_the_issue() -> None:
    p = plan(demand(listings=30_000, remaining=6_200, reserve_share=0.1))
    text = p.describe()
    assert text.startswith("polling every ")
    assert ", full reconcile every " in text
    assert text.endswith(", 62 % of today's budget left")
    assert plan(demand(remaining=None)).describe().endswith("budget not seen yet")
    assert p.as_dict()["describe"] == text


@pytest.mark.parametrize("seconds,text", [(45 * 60, "45 min"), (3.2 * 3600, "3.2 h"),
                                          (31 * 3600, "31 h"), (12 * DAY_S, "12.0 d")])
def test_duration(seconds: float, text: str) -> None:
    assert duration(seconds) == text


@pytest.mark.parametrize("limit,n", list(itertools.product(
    (10_000, 50_000, 200_000, 1_000_000), LISTINGS)))
def test_a_pass_that_fits_ends_inside_the_period(limit: int, n: int) -> None:
    # Rounding the slices must not push the last one past the period (a budget of
    # 200,000 for 100,000 listings once planned a pass of 3,263 s for 3,240).
    p = plan(demand(listings=n, limit=limit, remaining=limit))
    reads = math.ceil(n / 100)
    if slices(reads, 3_600 * SLACK).per_day + DAY_S / 60 <= allowance(
            demand(limit=limit, remaining=limit)):  # the budget affords the wanted pass
        assert p.meets and p.full_s <= 3_600 * SLACK + 1e-6
    assert p.cycle_s >= 60 - 1e-9
