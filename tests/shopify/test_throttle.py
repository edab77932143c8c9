"""The cost-based throttle: waits come from throttleStatus and go through the injected sleep."""

from __future__ import annotations

import pytest

from oneshop.errors import RateLimited, RetryableError

from .conftest import Rig, make_rig


def test_throttled_query_waits_as_long_as_the_bucket_needs_then_succeeds(rig: Rig) -> None:
    rig.sandbox.seed_listing("A", 1)
    rig.sandbox.exhaust_budget()
    listings = rig.listings()
    assert [li.sku for li in listings.values()] == ["A"]
    # Locations ask for 2 + 250 points at 100/s: ~2.5 s; then the variants page asks for
    # 998 while the bucket holds what locations did not use: the client waits for the rest.
    assert 2.5 <= rig.clock.sleeps[0] <= 2.7
    assert sum(rig.clock.sleeps) <= (252 + 998) / 100 + 0.5
    assert rig.connector.budget().throttle_wait_s == pytest.approx(sum(rig.clock.sleeps))


def test_throttle_answered_with_http_429_is_handled_the_same(rig: Rig) -> None:
    rig.sandbox.seed_listing("B", 1)
    rig.sandbox.throttle_http_status = 429
    rig.sandbox.exhaust_budget()
    assert len(rig.listings()) == 1
    assert sum(rig.clock.sleeps) >= 2.0


def test_the_client_waits_before_a_query_the_bucket_cannot_afford(clock, sandbox) -> None:  # type: ignore[no-untyped-def]
    sandbox.set_plan(bucket_size=1000, restore_rate=50)
    sandbox.add_variants(600)
    rig = make_rig(clock, sandbox)
    assert len(rig.listings()) == 600
    # Three pages of ~998 points each from a 1,000-point bucket refilled at 50/s: the
    # client sleeps ahead instead of being refused (no THROTTLED answer was needed).
    assert sum(clock.sleeps) > 30
    assert rig.connector.budget().limit == 1000


def test_throttling_that_outlasts_the_retries_raises_rate_limited(clock, sandbox) -> None:  # type: ignore[no-untyped-def]
    waits: list[float] = []
    rig = make_rig(clock, sandbox, sleep=waits.append)  # time does not move: no refill
    sandbox.exhaust_budget()
    with pytest.raises(RateLimited) as caught:
        rig.listings()
    assert caught.value.retry_after_s is not None and caught.value.retry_after_s > 2
    assert len(waits) >= 4


def test_dropped_connections_and_server_errors_are_retried(rig: Rig) -> None:
    rig.sandbox.seed_listing("D", 1)
    rig.sandbox.drop_next(1)
    rig.sandbox.fail_next(1, status=502)
    assert len(rig.listings()) == 1


def test_persistent_server_errors_surface_as_retryable(rig: Rig) -> None:
    rig.sandbox.fail_next(10, status=503)
    with pytest.raises(RetryableError):
        rig.listings()
