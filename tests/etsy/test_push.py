"""Stock pushes: whole-inventory writes, variants, zero-stock policy, listing states."""

from __future__ import annotations

import json

from oneshop.values import Listing, StockLevel

from .conftest import Rig


def level(listing: Listing, quantity: int, *, may_activate: bool = False) -> StockLevel:
    return StockLevel(listing=listing, quantity=quantity, observed=listing.quantity,
                      push_id=f"push-{listing.external_id}-{quantity}",
                      may_activate=may_activate)


def puts(rig: Rig) -> list[dict[str, object]]:
    return [json.loads(r.content) for r in rig.transport.sent
            if r.method == "PUT" and r.url.path.endswith("/inventory")]


def test_one_variant_at_zero_is_disabled_and_the_whole_inventory_is_sent(rig: Rig) -> None:
    small, large, kids = rig.sandbox.seed_variant_listing(
        "Tee", [("TEE-S", "Small", 4), ("TEE-L", "Large", 5), (None, "Kids", 2)])
    conn = rig.connector()
    found = rig.listings(conn)
    assert found[kids].sku is None and found[kids].external_id == kids
    (result,) = conn.push_stock([level(found[small], 0)])
    assert (result.status, result.observed) == ("ok", 0)
    assert not rig.sandbox.is_enabled(small)
    assert rig.sandbox.quantity(large) == 5 and rig.sandbox.quantity(kids) == 2
    (body,) = puts(rig)
    products = body["products"]
    assert isinstance(products, list) and len(products) == 3
    for product in products:
        (offering,) = product["offerings"]
        assert set(offering) == {"price", "quantity", "is_enabled", "readiness_state_id"}
        assert isinstance(offering["price"], float)
        assert "product_id" not in product
    # Etsy regenerated product ids; the binding keys are unchanged.
    again = rig.listings(conn)
    assert {small, large, kids} <= set(again)
    (back,) = conn.push_stock([level(again[small], 3)])
    assert back.status == "ok" and rig.sandbox.is_enabled(small)
    assert rig.sandbox.quantity(small) == 3


def test_quantities_above_999_are_capped(rig: Rig) -> None:
    external_id = rig.sandbox.seed_listing("BIG-1", 10)
    conn = rig.connector()
    (result,) = conn.push_stock([level(rig.listings(conn)[external_id], 5000)])
    assert (result.status, result.observed) == ("ok", 999)
    assert "capped" in result.detail
    assert rig.sandbox.quantity(external_id) == 999


def test_a_quantity_changed_on_etsy_is_reported_stale_not_overwritten(rig: Rig) -> None:
    external_id = rig.sandbox.seed_listing("STALE-1", 6)
    conn = rig.connector()
    listing = rig.listings(conn)[external_id]
    rig.sandbox.sell(external_id, 2)
    (result,) = conn.push_stock([level(listing, 6)])
    assert (result.status, result.observed) == ("stale", 4)
    assert rig.sandbox.quantity(external_id) == 4
    assert rig.sandbox.writes == 0


def test_zero_stock_deactivates_then_reactivates_when_oneshop_deactivated_it(rig: Rig) -> None:
    external_id = rig.sandbox.seed_listing("LAST-1", 2)
    conn = rig.connector()
    (result,) = conn.push_stock([level(rig.listings(conn)[external_id], 0)])
    assert (result.status, result.observed, result.detail) == ("policy", 0, "deactivated")
    assert rig.sandbox.listing_state(external_id) == "inactive"
    assert puts(rig) == []  # Etsy refuses all-zero inventories: nothing was sent
    listing = rig.listings(conn)[external_id]
    assert listing.state == "inactive"
    (back,) = conn.push_stock([level(listing, 4, may_activate=True)])
    assert back.status == "ok", back
    assert rig.sandbox.listing_state(external_id) == "active"
    assert rig.sandbox.quantity(external_id) == 4


def test_a_listing_the_seller_deactivated_stays_inactive(rig: Rig) -> None:
    external_id = rig.sandbox.seed_listing("HAND-OFF", 1)
    rig.sandbox.set_listing_state(external_id, "inactive")
    conn = rig.connector()
    listing = rig.listings(conn)[external_id]
    (result,) = conn.push_stock([level(listing, 7)])
    assert result.status == "policy" and "left inactive" in result.detail
    assert rig.sandbox.listing_state(external_id) == "inactive"
    assert rig.sandbox.quantity(external_id) == 7  # quantities were still written


def test_leave_policy_writes_nothing(rig: Rig) -> None:
    external_id = rig.sandbox.seed_listing("LEAVE-1", 3)
    conn = rig.connector(zero_stock_policy="leave")
    (result,) = conn.push_stock([level(rig.listings(conn)[external_id], 0)])
    assert result.status == "policy" and result.detail.startswith("left")
    assert rig.sandbox.writes == 0
    assert rig.sandbox.listing_state(external_id) == "active"
    assert rig.sandbox.quantity(external_id) == 3


def test_sold_out_listing_is_not_renewed_unless_allowed(rig: Rig) -> None:
    external_id = rig.sandbox.seed_listing("SOLD-1", 1)
    rig.sandbox.sell(external_id, 1)
    assert rig.sandbox.listing_state(external_id) == "sold_out"
    conn = rig.connector()
    listing = rig.listings(conn)[external_id]
    assert (listing.state, listing.quantity) == ("sold_out", 0)
    writes = rig.sandbox.writes
    (result,) = conn.push_stock([level(listing, 3, may_activate=True)])
    assert result.status == "policy" and "not renewed" in result.detail
    assert "3 held until it is renewed" in result.detail
    assert (result.observed, result.listing and result.listing.state) == (0, "sold_out")
    assert rig.sandbox.listing_state(external_id) == "sold_out"
    assert rig.sandbox.fees == []
    # Not even its inventory: what a write to a sold_out listing does is undocumented.
    assert rig.sandbox.writes == writes
    assert not [r for r in rig.transport.sent if r.method in ("PUT", "PATCH")]
    renewing = rig.connector(renew_sold_out=True)
    (renewed,) = renewing.push_stock([level(rig.listings(renewing)[external_id], 3)])
    assert renewed.status == "ok", renewed
    assert rig.sandbox.listing_state(external_id) == "active"
    assert rig.sandbox.quantity(external_id) == 3
    assert len(rig.sandbox.fees) == 1


def test_several_levels_on_one_listing_are_one_write_and_results_keep_order(rig: Rig) -> None:
    a, b = rig.sandbox.seed_variant_listing("Mug", [("MUG-R", "Red", 2), ("MUG-B", "Blue", 2)])
    other = rig.sandbox.seed_listing("SOLO", 1)
    conn = rig.connector()
    found = rig.listings(conn)
    results = conn.push_stock([level(found[b], 5), level(found[other], 2), level(found[a], 0)])
    assert [(r.external_id, r.status, r.observed) for r in results] == [
        (b, "ok", 5), (other, "ok", 2), (a, "ok", 0)]
    assert len(puts(rig)) == 2


def test_a_sold_out_listing_told_zero_is_already_off_sale_and_not_written(rig: Rig) -> None:
    external_id = rig.sandbox.seed_listing("SOLD-0", 1)
    rig.sandbox.sell(external_id, 1)
    conn = rig.connector()
    (result,) = conn.push_stock([level(rig.listings(conn)[external_id], 0)])
    assert (result.status, result.observed, result.detail) == (
        "policy", 0, "already off sale (sold_out)")
    assert not [r for r in rig.transport.sent if r.method in ("PUT", "PATCH")]
