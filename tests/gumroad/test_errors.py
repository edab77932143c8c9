"""Error translation: success:false, auth, retries, pacing, and secrets kept out."""

from __future__ import annotations

import httpx
import pytest

from oneshop.errors import AuthError, RateLimited, RetryableError
from oneshop.values import StockLevel

from .conftest import Rig, build_rig


def swap_transport(rig: Rig, answer: httpx.Response) -> None:
    rig.connector.client._http._transport = httpx.MockTransport(lambda request: answer)


def test_success_false_with_a_token_message_inside_http_200_is_an_auth_error(rig: Rig) -> None:
    swap_transport(rig, httpx.Response(200, json={
        "success": False, "message": "The access token you provided is invalid."}))
    with pytest.raises(AuthError):
        rig.orders()


def test_revoked_token_is_an_auth_error_and_never_retried(rig: Rig) -> None:
    rig.sandbox.seed_listing("A", 1)
    rig.sandbox.revoke_credentials()
    with pytest.raises(AuthError):
        rig.listings()
    assert rig.sandbox.requests == 1


def test_success_false_on_a_listing_read_is_retryable(rig: Rig) -> None:
    swap_transport(rig, httpx.Response(400, json={
        "success": False, "message": "Query timed out. Try narrowing your date range."}))
    with pytest.raises(RetryableError):
        rig.orders()


def test_success_false_on_a_write_fails_that_level(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("SHIRT", 2)
    listing = rig.listings()[product]
    swap_transport(rig, httpx.Response(200, json={"success": False, "message": "Nope."}))
    (result,) = rig.connector.push_stock(
        [StockLevel(listing=listing, quantity=1, observed=2, push_id="x")])
    assert result.status == "failed" and "Nope." in result.detail


def test_429_waits_retry_after_then_succeeds(rig: Rig) -> None:
    rig.sandbox.seed_listing("HAT", 1)
    rig.sandbox.fail_next(1, status=429, retry_after_s=12)
    assert rig.listings()
    assert any(s >= 12 for s in rig.clock.sleeps)
    assert rig.connector.budget().throttle_wait_s >= 12


def test_persistent_429_surfaces_as_rate_limited(rig: Rig) -> None:
    rig.sandbox.fail_next(10, status=429, retry_after_s=1)
    with pytest.raises(RateLimited):
        rig.orders()


def test_dropped_connections_are_retried(rig: Rig) -> None:
    rig.sandbox.seed_listing("SCARF", 1)
    rig.sandbox.faults.drop_next(2)
    assert any(li.sku == "SCARF" for li in rig.listings().values())


def test_requests_are_paced_to_the_configured_rate() -> None:
    rig = build_rig(requests_per_second=0.5)
    for i in range(25):
        rig.sandbox.seed_listing(f"S{i}", 1)
    rig.orders()  # as the service does before a scan: the units are counted from then on
    start, sent = rig.clock(), rig.connector.budget().requests
    rig.listings()  # three pages
    assert (rig.clock() - start).total_seconds() >= 4.0
    assert rig.connector.budget().requests - sent == 3


def test_token_never_appears_in_reprs_or_errors(rig: Rig) -> None:
    token = rig.sandbox.world.token
    assert token not in repr(rig.settings) and token not in repr(rig.connector)
    rig.sandbox.revoke_credentials()
    with pytest.raises(AuthError) as caught:
        rig.orders()
    assert token not in str(caught.value)


def test_a_write_that_keeps_timing_out_raises_instead_of_failing_its_level(rig: Rig) -> None:
    # A failed level is held until its quantity changes; a timeout says nothing against
    # the next try, so it must reach the engine as the retryable error it is.
    product = rig.sandbox.seed_listing("MITTENS", 2)
    listing = rig.listings()[product]
    rig.sandbox.faults.drop_next(100)
    with pytest.raises(RetryableError):
        rig.connector.push_stock([StockLevel(listing=listing, quantity=1, observed=2,
                                             push_id="x")])
