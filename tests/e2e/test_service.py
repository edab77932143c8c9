"""The real service process keeps three sandboxed marketplaces in step."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

import pytest

from oneshop.ledger import models as m
from oneshop.testing.shop import wait_for

pytestmark = pytest.mark.e2e
KINDS = ("etsy", "shopify", "gumroad")


def started(factory: Callable[..., Any], catalog: dict[str, int],
            **options: object) -> tuple[Any, dict[str, dict[str, str]]]:
    svc = factory(**options)
    ids = {sku: svc.shop.seed(sku, qty) for sku, qty in catalog.items()}
    svc.start()
    wait_for(lambda: svc.bound() == len(catalog) * 3, what="catalog bound")
    return svc, ids


def test_a_sale_on_each_channel_reaches_the_other_two(service_factory: Callable[..., Any]
                                                       ) -> None:
    svc, ids = started(service_factory, {f"SKU-{k}": 5 for k in KINDS})
    for kind in KINDS:
        svc.shop.sandboxes[kind].sell(ids[f"SKU-{kind}"][kind], 2)
    for kind in KINDS:
        wait_for(lambda k=kind: set(svc.quantities(ids[f"SKU-{k}"]).values()) == {3},
                 what=f"sale on {kind} propagated")
        assert svc.on_hand(f"SKU-{kind}") == 3


def test_a_cancellation_puts_stock_back_everywhere(service_factory: Callable[..., Any]
                                                   ) -> None:
    svc, ids = started(service_factory, {"RING": 2})
    order = svc.shop.sandboxes["shopify"].sell(ids["RING"]["shopify"], 1)
    wait_for(lambda: set(svc.quantities(ids["RING"]).values()) == {1}, what="sale")
    svc.shop.sandboxes["shopify"].cancel(order, restock=True)
    wait_for(lambda: set(svc.quantities(ids["RING"]).values()) == {2}, what="restock")
    assert svc.on_hand("RING") == 2


def test_overlapping_polls_book_nothing_twice(service_factory: Callable[..., Any]) -> None:
    svc, ids = started(service_factory, {"CARD": 9})
    for kind in KINDS:
        svc.shop.sandboxes[kind].sell(ids["CARD"][kind], 1)
    wait_for(lambda: set(svc.quantities(ids["CARD"]).values()) == {6}, what="three sales")
    wait_for(lambda: svc.count(m.Push, m.Push.status == "pending") == 0, what="pushes done")
    writes = {k: s.writes for k, s in svc.shop.sandboxes.items()}
    import time

    time.sleep(3.5)  # three more poll intervals, each re-reading overlapping windows
    assert svc.on_hand("CARD") == 6
    assert svc.count(m.Movement, m.Movement.kind == "sale") == 3
    assert {k: s.writes for k, s in svc.shop.sandboxes.items()} == writes, "idle cycles wrote"


def test_a_hand_edit_is_adopted_everywhere(service_factory: Callable[..., Any]) -> None:
    svc, ids = started(service_factory, {"EDIT": 3}, reconcile_seconds=1)
    svc.shop.sandboxes["gumroad"].hand_edit(ids["EDIT"]["gumroad"], 8)
    wait_for(lambda: set(svc.quantities(ids["EDIT"]).values()) == {8}, timeout_s=30,
             what="hand edit adopted")
    assert svc.on_hand("EDIT") == 8


def test_etsy_listing_goes_inactive_at_zero_and_comes_back(
        service_factory: Callable[..., Any]) -> None:
    svc, ids = started(service_factory, {"LAST": 1})
    etsy = svc.shop.sandboxes["etsy"]
    order = svc.shop.sandboxes["shopify"].sell(ids["LAST"]["shopify"], 1)
    wait_for(lambda: etsy.listing_state(ids["LAST"]["etsy"]) == "inactive",  # type: ignore[attr-defined]
             what="etsy deactivated")
    wait_for(lambda: svc.shop.sandboxes["gumroad"].quantity(ids["LAST"]["gumroad"]) == 0,
             what="gumroad at 0")
    svc.shop.sandboxes["shopify"].cancel(order, restock=True)
    wait_for(lambda: etsy.listing_state(ids["LAST"]["etsy"]) == "active",  # type: ignore[attr-defined]
             what="etsy reactivated")
    assert etsy.quantity(ids["LAST"]["etsy"]) == 1
    assert etsy.fees == [], "reactivating a listing we deactivated must not renew it"  # type: ignore[attr-defined]


def test_a_channel_failing_for_a_while_does_not_stop_the_others(
        service_factory: Callable[..., Any]) -> None:
    svc, ids = started(service_factory, {"FAIL": 4})
    svc.shop.sandboxes["etsy"].fail_next(15, status=500)
    svc.shop.sandboxes["gumroad"].sell(ids["FAIL"]["gumroad"], 1)
    wait_for(lambda: svc.shop.sandboxes["shopify"].quantity(ids["FAIL"]["shopify"]) == 3,
             what="shopify follows while etsy fails")
    wait_for(lambda: svc.shop.sandboxes["etsy"].quantity(ids["FAIL"]["etsy"]) == 3,
             timeout_s=60, what="etsy catches up once it recovers")


def test_sigkill_mid_cycle_and_restart_lose_and_double_nothing(
        service_factory: Callable[..., Any]) -> None:
    svc, ids = started(service_factory, {f"K{i}": 20 for i in range(6)})
    proc = svc.procs[0]
    sold = 0
    for i in range(6):
        for kind in KINDS:
            svc.shop.sandboxes[kind].sell(ids[f"K{i}"][kind], 1)
            sold += 1
        if i == 2:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            svc.start()
    wait_for(lambda: all(set(svc.quantities(ids[f"K{i}"]).values()) == {17} for i in range(6)),
             timeout_s=40, what="all channels in step after the restart")
    assert sum(svc.on_hand(f"K{i}") or 0 for i in range(6)) == 6 * 20 - sold
    assert svc.count(m.Movement, m.Movement.kind == "sale") == sold
    assert svc.stop(svc.procs[-1]) == 0
