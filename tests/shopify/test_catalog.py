"""Catalog: locations, untracked and unstocked variants, stable binding keys."""

from __future__ import annotations

import pytest

from oneshop.errors import ConfigError
from oneshop.values import StockLevel

from .conftest import Rig, make_rig


def test_listing_carries_the_ids_needed_to_write_back(rig: Rig) -> None:
    item = rig.sandbox.seed_listing("MUG-Blue", 4, title="Mug")
    listing = rig.listings()[item]
    assert (listing.sku, listing.quantity, listing.state) == ("MUG-Blue", 4, "active")
    assert listing.extra["inventory_item_id"] == item
    assert listing.extra["location_id"].startswith("gid://shopify/Location/")
    assert listing.extra["variant_id"].startswith("gid://shopify/ProductVariant/")


def test_untracked_and_unstocked_variants_are_reported_without_quantity(rig: Rig) -> None:
    untracked = rig.sandbox.add_variant("GIFT-CARD", 5, tracked=False)
    unstocked = rig.sandbox.add_variant("NOT-HERE", None)
    no_sku = rig.sandbox.add_variant(None, 2)
    listings = rig.listings()
    assert (listings[untracked].quantity, listings[untracked].state) == (None, "untracked")
    assert (listings[unstocked].quantity, listings[unstocked].state) == (None, "unstocked")
    assert (listings[no_sku].sku, listings[no_sku].quantity) == (None, 2)


def test_skus_are_kept_exactly_as_shopify_has_them(rig: Rig) -> None:
    lower = rig.sandbox.seed_listing("abc-1", 1)
    upper = rig.sandbox.seed_listing("ABC-1", 2)
    listings = rig.listings()
    assert (listings[lower].sku, listings[upper].sku) == ("abc-1", "ABC-1")


def test_external_id_is_stable_across_our_own_writes(rig: Rig) -> None:
    item = rig.sandbox.seed_listing("KEY", 5)
    listing = rig.listings()[item]
    rig.connector.push_stock([StockLevel(listing=listing, quantity=1, observed=5,
                                         push_id="k")])
    assert item in rig.listings()


def test_a_named_location_is_used_for_quantities_and_pushes(clock, sandbox) -> None:  # type: ignore[no-untyped-def]
    with sandbox.state.lock:
        warehouse = sandbox.state.add_location("Warehouse")
        variant = sandbox.state.add_variant("W-1", 7, location=warehouse)
        variant.levels[sandbox.state.default_location] = {
            "available": 1, "committed": 0, "on_hand": 1}
    rig = make_rig(clock, sandbox, location="Warehouse")
    (listing,) = rig.listings().values()
    assert listing.quantity == 7
    assert listing.extra["location_id"] == f"gid://shopify/Location/{warehouse}"


def test_an_unknown_location_is_a_config_error(clock, sandbox) -> None:  # type: ignore[no-untyped-def]
    sandbox.seed_listing("X", 1)
    rig = make_rig(clock, sandbox, location="Nowhere")
    with pytest.raises(ConfigError):
        rig.listings()


def test_catalog_paging_spends_one_request_per_page(rig: Rig) -> None:
    rig.sandbox.add_variants(600)
    before = rig.sandbox.requests
    assert len(rig.listings()) == 600
    assert rig.sandbox.requests - before == 1 + 3  # locations + ceil(600 / 249)
