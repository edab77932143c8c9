"""Publishing stock as Gumroad lifetime caps: max_purchase_count = units sold + N."""

from __future__ import annotations

import httpx
from oneshop_connectors.gumroad import endpoints

from oneshop.values import StockLevel

from .conftest import Rig


def level(rig: Rig, external_id: str, quantity: int) -> StockLevel:
    """What the core pushes after a pull: the units counted are the ones it booked."""
    rig.pull()
    listing = rig.listings()[external_id]
    return StockLevel(listing=listing, quantity=quantity, observed=listing.quantity,
                      push_id="p1")


def test_push_writes_units_sold_plus_quantity_as_the_cap(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("POSTER", 5)
    for _ in range(3):
        rig.sandbox.sell(product)
    lv = level(rig, product, 4)
    (result,), used = rig.requests_for(lambda: rig.connector.push_stock([lv]))
    assert result.status == "ok" and result.observed == 4
    assert rig.sandbox.world.products[product].max_purchase_count == 3 + 4
    assert rig.sandbox.quantity(product) == 4
    assert used == 2, "read, then the write whose answer is the read-back"


def test_push_of_an_unchanged_quantity_costs_one_read_and_no_write(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("ZINE", 6)
    lv = level(rig, product, 6)
    writes = rig.sandbox.writes
    (result,), used = rig.requests_for(lambda: rig.connector.push_stock([lv]))
    assert (result.status, result.observed, used) == ("ok", 6, 1)
    assert rig.sandbox.writes == writes


def test_push_of_zero_caps_at_units_sold_never_null(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("LAST-ONE", 2)
    rig.sandbox.sell(product)
    (result,) = rig.connector.push_stock([level(rig, product, 0)])
    assert result.observed == 0
    assert rig.sandbox.world.products[product].max_purchase_count == 1
    assert rig.sandbox.quantity(product) == 0


def test_refunded_units_still_count_as_sold_for_the_cap(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("BOOK", 3)
    sale = rig.sandbox.sell(product, 2)
    rig.sandbox.refund(sale)
    assert rig.sandbox.quantity(product) == 1, "a Gumroad refund frees no stock"
    (result,) = rig.connector.push_stock([level(rig, product, 5)])
    assert result.observed == 5
    assert rig.sandbox.world.products[product].max_purchase_count == 2 + 5


def test_a_sale_between_read_and_write_is_reported_by_the_read_back(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("PRINT", 10)
    lv = level(rig, product, 4)
    inner = rig.sandbox.transport()

    class SaleAfterFirstRead(httpx.BaseTransport):
        def __init__(self) -> None:
            self.calls = 0

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = inner.handle_request(request)
            self.calls += 1
            if self.calls == 1:
                rig.sandbox.sell(product)  # a buyer checks out while we compute the cap
            return response

    rig.connector.client._http._transport = SaleAfterFirstRead()
    (result,) = rig.connector.push_stock([lv])
    # The cap was computed from the 0 units booked: 4. One unit went meanwhile, so 3
    # show: the sale took one of the 4, it was not handed back. The answer is in booked
    # terms (4), as the core's belief is: booking the sale takes both to 3.
    assert rig.sandbox.world.products[product].max_purchase_count == 4
    assert (result.status, result.observed) == ("ok", 4)
    assert rig.sandbox.quantity(product) == 3
    rig.connector.client._http._transport = inner
    rig.pull()
    assert rig.listings()[product].quantity == 3


def test_sandbox_refuses_a_product_cap_below_units_sold(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("MUG", 5)
    rig.sandbox.sell(product, 3)
    client = httpx.Client(transport=rig.sandbox.transport(), base_url="https://api.gumroad.com")
    answer = client.put(endpoints.product(product), data={
        "access_token": rig.sandbox.world.token, "max_purchase_count": "2"}).json()
    assert answer == {"success": False, "message": endpoints.PRODUCT_CAP_TOO_LOW}
    assert rig.sandbox.world.products[product].max_purchase_count == 5


def test_sold_out_product_refuses_the_sale(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("SOLO", 1)
    rig.sandbox.sell(product)
    try:
        rig.sandbox.sell(product)
    except ValueError as exc:
        assert "sold out" in str(exc)
    else:
        raise AssertionError("a sold-out product sold again")


def test_variants_are_listed_and_pushed_on_the_variant_endpoint(rig: Rig) -> None:
    product = rig.sandbox.add_product("Tee", permalink="TEE", max_purchase_count=None)
    small = rig.sandbox.add_variant(product, "Size", "S", max_purchase_count=4)
    large = rig.sandbox.add_variant(product, "Size", "L", max_purchase_count=2)
    rig.sandbox.sell(small, 1)
    rig.sandbox.sell_options(product, {"Size": "L"}, 2)
    listings = rig.listings()
    assert product not in listings, "a product with variants is bound per variant"
    assert (listings[small].sku, listings[small].quantity) == ("TEE/S", 3)
    assert (listings[large].sku, listings[large].quantity) == ("TEE/L", 0)
    assert listings[small].extra["units_sold"] == "1"
    lv = StockLevel(listing=listings[large], quantity=5, observed=0, push_id="p2")
    (result,), used = rig.requests_for(lambda: rig.connector.push_stock([lv]))
    assert (result.status, result.observed) == ("ok", 5)
    assert rig.sandbox.quantity(large) == 5 and rig.sandbox.quantity(small) == 3
    assert used <= 3


def test_variant_sale_maps_to_the_variant_listing(rig: Rig) -> None:
    product = rig.sandbox.add_product("Hoodie", permalink="HOOD")
    blue = rig.sandbox.add_variant(product, "Colour", "Blue", max_purchase_count=3)
    sale = rig.sandbox.sell(blue, 2)
    orders, _, _ = rig.orders()
    (order,) = [o for o in orders if o.external_id == sale]
    (line,) = order.lines
    assert (line.listing_external_id, line.sku, line.quantity) == (blue, "HOOD/Blue", 2)


def test_variant_cap_below_sold_is_refused_with_gumroads_message(rig: Rig) -> None:
    product = rig.sandbox.add_product("Cap", permalink="CAP")
    red = rig.sandbox.add_variant(product, "Colour", "Red", max_purchase_count=5)
    rig.sandbox.sell(red, 3)
    _, vc, vid = red.split("/")
    client = httpx.Client(transport=rig.sandbox.transport(), base_url="https://api.gumroad.com",
                          headers={"Authorization": f"Bearer {rig.sandbox.world.token}"})
    answer = client.put(endpoints.variant(product, vc, vid), data={"max_purchase_count": "1"})
    assert answer.json() == {"success": False,
                             "message": endpoints.VARIANT_CAP_TOO_LOW.format(sold=3)}


def test_push_to_a_deleted_product_fails_that_level_only(rig: Rig) -> None:
    gone = rig.sandbox.seed_listing("GONE", 2)
    kept = rig.sandbox.seed_listing("KEPT", 2)
    levels = [level(rig, gone, 1), level(rig, kept, 1)]
    rig.sandbox.world.products[gone].deleted = True
    first, second = rig.connector.push_stock(levels)
    assert first.status == "failed" and "not found" in first.detail
    assert (second.status, second.observed) == ("ok", 1)


def test_hand_edits_and_unlimited_products_are_read_back_as_listed(rig: Rig) -> None:
    capped = rig.sandbox.seed_listing("FRAME", 2)
    unlimited = rig.sandbox.add_product("PDF", permalink="PDF")
    rig.sandbox.sell(capped)
    rig.sandbox.hand_edit(capped, 6)
    listings = rig.listings()
    assert (listings[capped].quantity, listings[capped].extra["units_sold"]) == (6, "1")
    assert rig.sandbox.world.products[capped].max_purchase_count == 7
    assert (listings[unlimited].sku, listings[unlimited].quantity) == ("PDF", None)


def test_a_sale_not_yet_pulled_makes_the_push_stale_instead_of_handing_the_unit_back(
        rig: Rig) -> None:
    product = rig.sandbox.add_product("Vase", permalink="VASE", max_purchase_count=3)
    listing = rig.listings()[product]
    rig.sandbox.sell(product, 1)  # on Gumroad, not yet seen by the core
    lv = StockLevel(listing=listing, quantity=2, observed=3, push_id="p-stale")
    (result,) = rig.connector.push_stock([lv])
    assert (result.status, result.observed) == ("stale", 2)
    assert rig.sandbox.quantity(product) == 2, "the cap was rewritten over an unseen sale"


def test_a_variant_push_is_stale_when_its_variant_sold_unseen(rig: Rig) -> None:
    product = rig.sandbox.add_product("Tee", permalink="TEE2", max_purchase_count=None)
    small = rig.sandbox.add_variant(product, "Size", "S", max_purchase_count=4)
    listing = rig.listings()[small]
    rig.sandbox.sell(small, 1)
    lv = StockLevel(listing=listing, quantity=2, observed=4, push_id="p-stale-v")
    (result,) = rig.connector.push_stock([lv])
    assert (result.status, result.observed) == ("stale", 3)
    assert rig.sandbox.quantity(small) == 3
