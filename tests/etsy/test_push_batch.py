"""Pushes read listings in batches of READ_AHEAD and take the PUT's answer as the read-back:
request counts, stale detection, policies in a mixed batch, and failures mid-push."""

from __future__ import annotations

import json
from collections import Counter

import httpx
import pytest
from oneshop_connectors.etsy.push import READ_AHEAD

from oneshop.errors import RateLimited, RetryableError
from oneshop.values import Listing, StockLevel

from .conftest import Rig


def level(listing: Listing, quantity: int, *, may_activate: bool = False) -> StockLevel:
    return StockLevel(listing=listing, quantity=quantity, observed=listing.quantity,
                      push_id=f"push-{listing.external_id}", may_activate=may_activate)


def kind(request: httpx.Request) -> str:
    """A request as "METHOD what": batch, inventory (one listing's), listing (PATCH)."""
    path = request.url.path
    what = ("batch" if path.endswith("/listings/batch") else
            "inventory" if path.endswith("/inventory") else
            "listing" if "/shops/" in path and "/listings/" in path else path)
    return f"{request.method} {what}"


def calls_since(rig: Rig, start: int) -> Counter[str]:
    return Counter(kind(r) for r in rig.transport.sent[start:])


def is_batch(request: httpx.Request) -> bool:
    return request.url.path.endswith("/listings/batch")


def is_put(request: httpx.Request) -> bool:
    return request.method == "PUT"


def seed_many(rig: Rig, count: int) -> list[str]:
    return [rig.sandbox.seed_listing(f"B-{i:04d}", 5) for i in range(count)]


def test_150_listings_cost_thirty_batch_reads_and_150_puts(rig: Rig) -> None:
    ids = seed_many(rig, 150)
    conn = rig.connector()
    found = rig.listings(conn)
    start, requests = len(rig.transport.sent), rig.sandbox.requests
    results = conn.push_stock([level(found[e], 3 + i % 4) for i, e in enumerate(ids)])
    assert [(r.status, r.observed) for r in results] == [("ok", 3 + i % 4)
                                                         for i in range(150)]
    assert [rig.sandbox.quantity(e) for e in ids] == [3 + i % 4 for i in range(150)]
    assert calls_since(rig, start) == {"GET batch": 30, "PUT inventory": 150}  # 5 a batch
    assert rig.sandbox.requests - requests == 180  # was 450: GET, PUT, GET per listing
    batches = [r for r in rig.transport.sent[start:] if is_batch(r)]
    assert [len(r.url.params.get_list("listing_ids")) for r in batches] == [READ_AHEAD] * 30


def test_quantities_moved_on_etsy_are_stale_from_the_batch_read(rig: Rig) -> None:
    ids = seed_many(rig, 3)
    red, blue = rig.sandbox.seed_variant_listing("Mug", [("M-R", "Red", 4), ("M-B", "Blue", 4)])
    conn = rig.connector()
    found = rig.listings(conn)
    rig.sandbox.sell(ids[1], 2)
    rig.sandbox.hand_edit(blue, 9)
    start = len(rig.transport.sent)
    results = conn.push_stock([level(found[e], 2) for e in (*ids, red, blue)])
    assert [(r.status, r.observed) for r in results] == [
        ("ok", 2), ("stale", 3), ("ok", 2), ("ok", 2), ("stale", 9)]
    assert [rig.sandbox.quantity(e) for e in (*ids, red, blue)] == [2, 3, 2, 2, 9]
    # The stale listing is not written at all; the mug is written without Blue's change.
    assert calls_since(rig, start) == {"GET batch": 1, "PUT inventory": 3}


def test_observed_quantities_come_from_the_puts_answer(rig: Rig) -> None:
    small, large = rig.sandbox.seed_variant_listing(
        "Tee", [("T-S", "Small", 4), ("T-L", "Large", 5)])
    conn = rig.connector()
    found = rig.listings(conn)
    rig.sandbox.set_enabled(large, False)  # the seller switched Large off, stock kept
    found_now = rig.listings(conn)
    start = len(rig.transport.sent)
    results = conn.push_stock([level(found[small], 7), level(found_now[large], 3)])
    # Large is written but stays off (we re-enable only what was off for lack of stock):
    # the answer shows it disabled, so buyers see 0, not the 3 we asked for.
    assert [(r.status, r.observed) for r in results] == [("ok", 7), ("ok", 0)]
    assert rig.sandbox.quantity(small) == 7 and not rig.sandbox.is_enabled(large)
    assert calls_since(rig, start) == {"GET batch": 1, "PUT inventory": 1}


def test_policies_apply_per_listing_within_one_batch(rig: Rig) -> None:
    last, ours, theirs, sold, plain = (rig.sandbox.seed_listing(s, 2) for s in (
        "P-LAST", "P-OURS", "P-THEIRS", "P-SOLD", "P-PLAIN"))
    rig.sandbox.set_listing_state(ours, "inactive")    # as our zero-stock push left it
    rig.sandbox.set_listing_state(theirs, "inactive")  # the seller's own choice
    rig.sandbox.sell(sold, 2)
    conn = rig.connector()
    found = rig.listings(conn)
    start = len(rig.transport.sent)
    results = conn.push_stock([
        level(found[last], 0), level(found[ours], 4, may_activate=True),
        level(found[theirs], 4), level(found[sold], 4, may_activate=True),
        level(found[plain], 1)])
    assert [(r.status, r.observed, r.detail.split(" (")[0]) for r in results] == [
        ("policy", 0, "deactivated"), ("ok", 4, "reactivated"),
        ("policy", 0, "quantities written; listing left inactive"),
        ("policy", 0, "sold_out: not renewed"), ("ok", 1, "")]
    assert [r.listing.state for r in results if r.listing] == [
        "inactive", "active", "inactive", "sold_out", "active"]
    assert [rig.sandbox.listing_state(e) for e in (last, ours, theirs, sold, plain)] == [
        "inactive", "active", "inactive", "sold_out", "active"]
    assert rig.sandbox.fees == []
    # One read for all five; PATCH to deactivate, PUT + PATCH to reactivate, no write
    # to the sold_out listing, and no write of all-zero quantities (Etsy refuses it).
    assert calls_since(rig, start) == {"GET batch": 1, "PUT inventory": 3,
                                       "PATCH listing": 2}
    puts = [json.loads(r.content) for r in rig.transport.sent[start:] if is_put(r)]
    assert all(p["products"][0]["offerings"][0]["quantity"] > 0 for p in puts)


def test_a_renewal_is_read_back_because_etsy_sets_quantities_itself(rig: Rig) -> None:
    sold = rig.sandbox.seed_listing("R-SOLD", 1)
    rig.sandbox.sell(sold, 1)
    conn = rig.connector(renew_sold_out=True)
    listing = rig.listings(conn)[sold]
    start = len(rig.transport.sent)
    (result,) = conn.push_stock([level(listing, 3)])
    assert (result.status, result.observed, result.detail) == (
        "ok", 3, "renewed (a listing fee applies)")
    assert [kind(r) for r in rig.transport.sent[start:]] == [
        "GET batch", "PUT inventory", "PATCH listing", "GET inventory"]


def test_a_missing_processing_profile_comes_from_the_listing_not_the_batch(rig: Rig) -> None:
    small, _ = rig.sandbox.seed_variant_listing(
        "Cap", [("C-S", "S", 2), ("C-L", "L", 2)])
    with rig.sandbox.state.lock:  # an offering Etsy holds without a processing profile
        rig.sandbox.state.find_product(small)[1].offering.readiness_state_id = None
    conn = rig.connector()
    found = rig.listings(conn)
    start = len(rig.transport.sent)
    conn.push_stock([level(found[small], 1)])
    # The batch read was the only read, and its listings carry readiness_state_id null.
    assert calls_since(rig, start) == {"GET batch": 1, "PUT inventory": 1}
    (body,) = [json.loads(r.content) for r in rig.transport.sent[start:] if is_put(r)]
    profile = rig.sandbox.state.readiness_state_id
    assert [p["offerings"][0]["readiness_state_id"] for p in body["products"]] == [
        profile, profile]


def test_a_listing_the_batch_did_not_return_is_read_alone(rig: Rig) -> None:
    gone, kept = seed_many(rig, 2)
    conn = rig.connector()
    found = rig.listings(conn)
    rig.sandbox.delete_listing(gone)
    start = len(rig.transport.sent)
    results = conn.push_stock([level(found[gone], 1), level(found[kept], 1)])
    assert results[0].status == "failed" and "404" in results[0].detail
    assert (results[1].status, results[1].observed) == ("ok", 1)
    assert calls_since(rig, start) == {"GET batch": 1, "GET inventory": 1,
                                       "PUT inventory": 1}


def test_a_refused_batch_read_falls_back_to_reading_each_listing(rig: Rig) -> None:
    ids = seed_many(rig, 2)
    conn = rig.connector()
    found = rig.listings(conn)
    rig.sandbox.fail_next(1, status=404)
    start = len(rig.transport.sent)
    results = conn.push_stock([level(found[e], 1) for e in ids])
    assert [(r.status, r.observed) for r in results] == [("ok", 1)] * 2
    assert calls_since(rig, start) == {"GET batch": 1, "GET inventory": 2,
                                       "PUT inventory": 2}


def test_a_429_mid_push_reports_nothing_and_the_repush_finds_our_writes(rig: Rig) -> None:
    ids = seed_many(rig, 150)
    conn = rig.connector()
    found = rig.listings(conn)
    levels = [level(found[e], 2) for e in ids]
    # The day's budget runs out after the first batch is written.
    rig.before(is_batch, lambda: rig.sandbox.fail_next(1, status=429, retry_after_s=3600),
               nth=2)
    with pytest.raises(RateLimited):
        conn.push_stock(levels)
    assert rig.sandbox.writes == READ_AHEAD
    rest = 150 - READ_AHEAD
    assert [rig.sandbox.quantity(e) for e in ids] == [2] * READ_AHEAD + [5] * rest
    # The engine marked all 150 failed; pushing again, the written ones read as moved
    # to exactly what we wrote (the engine believes its own lost write) and the rest go.
    results = conn.push_stock(levels)
    assert [(r.status, r.observed) for r in results] == [("stale", 2)] * READ_AHEAD + [
        ("ok", 2)] * (150 - READ_AHEAD)
    assert [rig.sandbox.quantity(e) for e in ids] == [2] * 150


class LoseAnswers(httpx.BaseTransport):
    """The request reaches Etsy and is done there, but its answer never comes back."""

    def __init__(self, inner: httpx.BaseTransport, count: int) -> None:
        self.inner, self.left = inner, count

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if self.left > 0 and is_put(request):
            self.left -= 1
            raise httpx.RemoteProtocolError("server disconnected", request=request)
        return response


def test_a_lost_answer_to_a_put_is_retried_and_the_write_is_reported_once(rig: Rig) -> None:
    ids = seed_many(rig, 3)
    conn = rig.connector()
    found = rig.listings(conn)
    rig.transport.inner = LoseAnswers(rig.transport.inner, count=1)
    results = conn.push_stock([level(found[e], 1) for e in ids])
    assert [(r.status, r.observed) for r in results] == [("ok", 1)] * 3
    assert rig.sandbox.writes == 4  # the same whole inventory, sent twice: harmless


def test_connections_that_keep_dropping_mid_push_raise_with_nothing_reported(
        rig: Rig) -> None:
    ids = seed_many(rig, 3)
    conn = rig.connector()
    found = rig.listings(conn)
    rig.before(is_put, lambda: rig.sandbox.faults.drop_next(5), nth=2)
    with pytest.raises(RetryableError):
        conn.push_stock([level(found[e], 1) for e in ids])
    assert [rig.sandbox.quantity(e) for e in ids] == [1, 5, 5]
