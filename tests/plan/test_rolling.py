"""A rolling reconcile reads a slice of the Etsy catalog per cycle: hand edits in the
slice are folded as a whole read folds them, listings outside it are left alone (unread
is not drift), and every bound listing is read once per pass."""

from __future__ import annotations

import dataclasses

from oneshop.coordinator import JobKind
from oneshop.ledger import models as m
from oneshop.plan import Plan

from .conftest import PlanRig


def small_slices(rig: PlanRig, listings: int, full_s: float = 0.0) -> Plan:
    """The account's plan, with slices of `listings`, a pass in `full_s` (how long a
    listing the channel left out is skipped)."""
    chosen = rig.runner.replan("etsy")
    assert chosen is not None
    rig.runner.plans["etsy"] = dataclasses.replace(chosen, listings_per_cycle=listings,
                                                   requests_per_cycle=1, full_s=full_s)
    return rig.runner.plans["etsy"]


def read_at(rig: PlanRig) -> dict[str, object]:
    return {sku: rig.binding("etsy", ids["etsy"]).read_at for sku, ids in rig.ids.items()}


def test_slices_fold_edits_inside_them_and_leave_the_rest_alone(plan_rig: PlanRig) -> None:
    rig = plan_rig
    small_slices(rig, 10)
    skus = list(rig.ids)
    # The seller edits two listings; which slice reads each is up to the read order.
    rig.etsy.hand_edit(rig.ids[skus[20]]["etsy"], 3)
    rig.etsy.hand_edit(rig.ids[skus[30]]["etsy"], 4)
    rig.etsy.sell(rig.ids[skus[25]]["etsy"], 2)  # a sale: booked by the slice's pull
    before = read_at(rig)
    passes: list[set[str]] = []
    for _ in range(2):  # two passes of 4 slices: every listing read twice
        read: set[str] = set()
        for _ in range(4):
            rig.clock.advance(60)
            now = rig.clock.now()
            assert rig.runner.scan("etsy", JobKind.RECONCILE)
            fresh = {sku for sku, at in read_at(rig).items() if at == now}
            assert len(fresh) == 10, "a slice read more or less than it affords"
            assert not fresh & read, "a listing read twice in one pass"
            read |= fresh
        passes.append(read)
    assert passes[0] == passes[1] == set(rig.ids)
    assert all(at is not None for at in before.values())
    # Both edits were sighted by the first pass and folded by the second (adopt).
    assert rig.on_hand(skus[20]) == 3 and rig.on_hand(skus[30]) == 4
    assert rig.count(m.Movement, m.Movement.kind == "channel_edit") == 2
    assert rig.on_hand(skus[25]) == 18  # the sale, not an edit
    assert rig.shop.sandboxes["shopify"].quantity(rig.ids[skus[20]]["shopify"]) == 3


def test_an_edit_outside_the_slice_is_not_sighted(plan_rig: PlanRig) -> None:
    rig = plan_rig
    small_slices(rig, 10)
    rig.clock.advance(60)
    assert rig.runner.scan("etsy", JobKind.RECONCILE)
    first = {sku for sku, at in read_at(rig).items() if at == rig.clock.now()}
    outside = next(sku for sku in rig.ids if sku not in first)
    inside = next(iter(first))
    shown = rig.binding("etsy", rig.ids[inside]["etsy"]).read_qty
    rig.etsy.hand_edit(rig.ids[outside]["etsy"], 1)
    rig.etsy.hand_edit(rig.ids[inside]["etsy"], 2)
    for _ in range(3):  # the other three slices of the pass: `inside` is not read again
        rig.clock.advance(60)
        assert rig.runner.scan("etsy", JobKind.RECONCILE)
    assert rig.binding("etsy", rig.ids[outside]["etsy"]).drift_seen == 1
    assert rig.binding("etsy", rig.ids[inside]["etsy"]).drift_seen is None
    assert rig.binding("etsy", rig.ids[inside]["etsy"]).read_qty == shown
    assert rig.count(m.Movement, m.Movement.kind == "channel_edit") == 0


def test_a_deleted_listing_does_not_hold_up_the_others(plan_rig: PlanRig) -> None:
    rig = plan_rig
    small_slices(rig, 10, full_s=200)
    gone = list(rig.ids)[:10]
    for sku in gone:  # the ten the first slice reads, deleted on Etsy
        rig.etsy.delete_listing(rig.ids[sku]["etsy"])
    reads = set()
    for _ in range(4):  # asked once, then skipped for the pass: 3 slices read the rest
        rig.clock.advance(20)
        assert rig.runner.scan("etsy", JobKind.RECONCILE)
        reads |= {sku for sku, at in read_at(rig).items() if at == rig.clock.now()}
    assert reads == set(rig.ids) - set(gone)
