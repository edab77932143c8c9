"""Catalog reads of large shops: one bulk operation instead of pages, and its faults.

Each fault ends in the whole catalog, each variant once, and one warning line per fault.
The threshold is lowered to 50 variants, and pages to 40, so the shops stay small.
"""

from __future__ import annotations

from typing import Any

import pytest
from oneshop_connectors.shopify import BULK_THRESHOLD_VARIANTS, ShopifySettings, bulk
from oneshop_sandboxes.shopify import ShopifySandbox
from structlog.testing import capture_logs

from oneshop.testing import VirtualClock

from .conftest import Rig, make_rig

VARIANTS = 120
THRESHOLD = 50


def big_shop(clock: VirtualClock, sandbox: ShopifySandbox) -> tuple[Rig, set[str]]:
    ids = {sandbox.add_variant(f"B-{i:04d}", i % 7) for i in range(VARIANTS)}
    return make_rig(clock, sandbox, bulk_threshold_variants=THRESHOLD, page_size=40), ids


def read_all(rig: Rig) -> list[str]:
    """External ids in the order handed over (duplicates kept, to be caught)."""
    return [li.external_id for page in rig.connector.fetch_listings() for li in page.listings]


def faults(logs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["reason"], e["then"]) for e in logs if e["event"] == "shopify.bulk_fault"]


def test_the_threshold_is_a_named_setting_of_2000_variants() -> None:
    assert BULK_THRESHOLD_VARIANTS == 2000
    assert ShopifySettings.model_fields["bulk_threshold_variants"].default == 2000


def test_a_catalog_over_the_threshold_is_read_in_bulk_as_the_pages_read_it(
        clock: VirtualClock, sandbox: ShopifySandbox) -> None:
    rig, ids = big_shop(clock, sandbox)
    paged = make_rig(clock, sandbox, bulk_threshold_variants=VARIANTS + 1,
                     page_size=40).listings()
    assert sandbox.bulk.operations == {}
    first = read_all(rig)
    assert sorted(first) == sorted(ids) and len(first) == len(set(first))
    assert rig.listings() == paged  # same quantities, SKUs, titles, extras
    assert len(sandbox.bulk.operations) == 2


def test_a_known_large_catalog_costs_the_run_and_status_checks_only(
        clock: VirtualClock, sandbox: ShopifySandbox) -> None:
    rig, _ = big_shop(clock, sandbox)
    rig.listings()  # learns the size from the first page's productVariantsCount
    sent, cost = sandbox.requests, rig.connector.gql.total_cost
    assert len(rig.listings()) == VARIANTS
    assert rig.connector.gql.total_cost - cost <= 10 + 5  # the mutation, then 1 a check
    assert sandbox.requests - sent <= 5
    assert rig.connector.gql.throttle_wait_s == 0


def test_below_the_threshold_pages_stay(clock: VirtualClock, sandbox: ShopifySandbox) -> None:
    for i in range(40):
        sandbox.add_variant(f"S-{i}", 1)
    rig = make_rig(clock, sandbox, bulk_threshold_variants=THRESHOLD)
    for _ in range(2):
        assert len(rig.listings()) == 40
    assert sandbox.bulk.operations == {}


def test_a_failed_operation_worth_another_try_runs_once_more(
        clock: VirtualClock, sandbox: ShopifySandbox) -> None:
    rig, ids = big_shop(clock, sandbox)
    sandbox.fail_next_bulk("INTERNAL_SERVER_ERROR")
    with capture_logs() as logs:
        got = read_all(rig)
    assert sorted(got) == sorted(ids)
    assert faults(logs) == [("failed", "running it again")]
    assert len(sandbox.bulk.operations) == 2


def test_failing_twice_reads_the_rest_page_by_page(
        clock: VirtualClock, sandbox: ShopifySandbox) -> None:
    rig, ids = big_shop(clock, sandbox)
    sandbox.fail_next_bulk()
    sandbox.fail_next_bulk()
    with capture_logs() as logs:
        got = read_all(rig)
    assert sorted(got) == sorted(ids)
    assert faults(logs) == [("failed", "running it again"), ("failed", "reading page by page")]


def test_a_timeout_is_not_run_again(clock: VirtualClock, sandbox: ShopifySandbox) -> None:
    rig, ids = big_shop(clock, sandbox)
    sandbox.fail_next_bulk("TIMEOUT")  # "can be avoided by … selecting fewer fields"
    with capture_logs() as logs:
        got = read_all(rig)
    assert sorted(got) == sorted(ids)
    assert faults(logs) == [("failed", "reading page by page")]


def test_a_canceled_operation_falls_back_to_pages(
        clock: VirtualClock, sandbox: ShopifySandbox) -> None:
    rig, ids = big_shop(clock, sandbox)
    rig.listings()
    sandbox.cancel_next_bulk()
    with capture_logs() as logs:
        got = read_all(rig)
    assert sorted(got) == sorted(ids) and len(got) == len(set(got))
    assert faults(logs) == [("canceled", "reading page by page")]


def test_an_expired_url_runs_the_operation_again(
        clock: VirtualClock, sandbox: ShopifySandbox) -> None:
    rig, ids = big_shop(clock, sandbox)
    rig.listings()
    sandbox.expire_next_bulk_url()
    with capture_logs() as logs:
        got = read_all(rig)
    assert sorted(got) == sorted(ids)
    assert faults(logs) == [("url_expired", "running it again")]
    assert sandbox.bulk.downloads == 3  # the first read, the refused one, the new one


def test_a_busy_slot_falls_back_to_pages(clock: VirtualClock, sandbox: ShopifySandbox) -> None:
    rig, ids = big_shop(clock, sandbox)
    other = make_rig(clock, sandbox, bulk_threshold_variants=THRESHOLD)
    other.connector.bulk._start("{ productVariants { edges { node { id } } } }")
    with capture_logs() as logs:
        got = read_all(rig)
    assert sorted(got) == sorted(ids) and len(got) == len(set(got))
    assert faults(logs) == [("busy", "reading page by page")]


def test_an_operation_running_too_long_is_canceled(
        clock: VirtualClock, sandbox: ShopifySandbox) -> None:
    rig, ids = big_shop(clock, sandbox)
    rig.listings()
    sandbox.bulk.objects_per_s = VARIANTS / (bulk.BULK_TIMEOUT_S * 2)
    with capture_logs() as logs:
        got = read_all(rig)
    assert sorted(got) == sorted(ids)
    assert faults(logs) == [("timeout", "reading page by page")]
    last = max(sandbox.bulk.operations.values(), key=lambda op: op.num)
    assert sandbox.bulk.status(last) in ("CANCELING", "CANCELED")


@pytest.mark.parametrize("kind", ["failed", "canceled", "url_expired"])
def test_every_fault_is_a_named_sandbox_control(sandbox: ShopifySandbox, kind: str) -> None:
    sandbox.bulk.add_fault(kind)
    assert [k for k, _ in sandbox.bulk.faults] == [kind]
    with pytest.raises(ValueError):
        sandbox.bulk.add_fault("lost")
