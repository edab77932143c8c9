"""Units counted against Gumroad caps: from the sales list, refunds in, kept in the cursor.

Gumroad checks a cap against `sales_count_for_inventory` (quantity summed, refunded and
charged-back purchases included); product JSON's `sales_count` counts successful
purchases instead. These tests hold the connector to the first and the sandbox to both.
"""

from __future__ import annotations

import json

import httpx
from oneshop_connectors.gumroad import endpoints
from oneshop_connectors.gumroad.orders import ORDER_OVERLAP, REFUND_RESCAN_EVERY

from oneshop.values import StockLevel

from .conftest import Rig


def product_json(rig: Rig, product_id: str) -> dict[str, object]:
    client = httpx.Client(transport=rig.sandbox.transport(), base_url="https://api.gumroad.com",
                          headers={"Authorization": f"Bearer {rig.sandbox.world.token}"})
    answer: dict[str, object] = client.get(endpoints.product(product_id)).json()["product"]
    return answer


def test_sandbox_sales_count_is_successful_purchases_like_gumroads(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("PRINT-A3", 10)
    refunded = rig.sandbox.sell(product, 1)
    rig.sandbox.sell(product, 3)
    disputed = rig.sandbox.sell(product, 1)
    partial = rig.sandbox.sell(product, 1)
    rig.sandbox.refund(refunded)
    rig.sandbox.chargeback(disputed)
    rig.sandbox.refund(partial, amount_cents=100)
    # Four purchases, six units; one refunded and one charged back: 2 successful sales.
    assert product_json(rig, product)["sales_count"] == 2
    # The cap still counts all six units (Gumroad frees nothing on a refund).
    assert rig.sandbox.quantity(product) == 10 - 6


def test_listing_counts_units_with_refunds_and_multi_unit_sales(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("PRINT-A3", 5)
    refunded = rig.sandbox.sell(product, 1)
    rig.sandbox.refund(refunded)
    rig.sandbox.sell(product, 2)
    rig.pull()
    listing = rig.listings()[product]
    assert (listing.quantity, listing.extra["units_sold"]) == (2, "3")
    assert listing.quantity == rig.sandbox.quantity(product)


def test_push_writes_the_cap_from_the_counted_units_not_sales_count(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("PRINT-A3", 5)
    refunded = rig.sandbox.sell(product, 1)
    rig.sandbox.refund(refunded)
    rig.sandbox.sell(product, 2)
    rig.pull()
    listing = rig.listings()[product]
    (result,) = rig.connector.push_stock([StockLevel(
        listing=listing, quantity=1, observed=listing.quantity, push_id="p1")])
    assert (result.status, result.observed) == ("ok", 1)
    assert rig.sandbox.world.products[product].max_purchase_count == 3 + 1
    assert rig.sandbox.quantity(product) == 1


def test_variant_units_count_every_chosen_option_by_quantity(rig: Rig) -> None:
    product = rig.sandbox.add_product("Tee", permalink="TEE", max_purchase_count=None)
    small = rig.sandbox.add_variant(product, "Size", "S", max_purchase_count=6)
    rig.sandbox.add_variant(product, "Colour", "Red", max_purchase_count=9)
    back = rig.sandbox.sell_options(product, {"Size": "S", "Colour": "Red"}, 2)
    rig.sandbox.refund(back)
    rig.sandbox.sell_options(product, {"Size": "S"}, 3)
    rig.pull()
    listings = rig.listings()
    assert listings[small].extra["units_sold"] == "5"
    assert listings[small].quantity == rig.sandbox.quantity(small) == 1
    lv = StockLevel(listing=listings[small], quantity=4, observed=1, push_id="v1")
    (result,), used = rig.requests_for(lambda: rig.connector.push_stock([lv]))
    assert (result.status, result.observed, used) == ("ok", 4, 2)
    assert rig.sandbox.quantity(small) == 4


def test_pushes_and_scans_after_a_pull_read_no_sales_history(rig: Rig) -> None:
    product = rig.sandbox.add_product("Tee", permalink="TEE", max_purchase_count=None)
    small = rig.sandbox.add_variant(product, "Size", "S", max_purchase_count=200)
    plain = rig.sandbox.seed_listing("PLAIN", 200)
    for _ in range(60):  # six pages of sales per product
        rig.sandbox.sell(small)
        rig.sandbox.sell(plain)
        rig.clock.advance(minutes=3)
    rig.pull()
    rig.clock.advance(minutes=30)
    listings, scan_used = rig.requests_for(rig.listings)
    assert scan_used == 3, "products, categories, variants: no page of sales"
    levels = [StockLevel(listing=listings[x], quantity=100, observed=140, push_id=x)
              for x in (small, plain)]
    results, push_used = rig.requests_for(lambda: rig.connector.push_stock(levels))
    assert [r.status for r in results] == ["ok", "ok"]
    assert push_used == 4, "one read and one write each: no page of sales"
    assert rig.sandbox.quantity(small) == rig.sandbox.quantity(plain) == 100


def test_the_cursor_carries_the_units_so_a_restart_reads_no_history(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("MUG", 50)
    for _ in range(35):
        rig.sandbox.sell(product, 1)
        rig.clock.advance(minutes=5)
    rig.pull()
    cursor = rig.cursor
    assert cursor is not None and json.loads(cursor)["units"]
    rig.clock.advance(minutes=1)
    restarted = rig.restarted()
    _, used = restarted.requests_for(restarted.pull)
    # One page of sales (the overlap), and the product's details the new process lacks;
    # counting the history again would take four pages.
    assert used == 3
    assert restarted.connector.tally is not None
    assert restarted.connector.tally.units(product) == 35
    listing = restarted.listings()[product]
    assert listing.quantity == rig.sandbox.quantity(product) == 15


def test_an_unbooked_sale_takes_one_of_the_pushed_units_and_is_not_handed_back(
        rig: Rig) -> None:
    product = rig.sandbox.seed_listing("VASE", 3)
    rig.pull()
    listing = rig.listings()[product]
    rig.sandbox.sell(product, 1)  # on Gumroad; the ledger has not booked it
    lv = StockLevel(listing=listing, quantity=2, observed=3, push_id="p-unseen")
    (result,) = rig.connector.push_stock([lv])
    # Ledger 3 - 1 sold elsewhere = 2; the unbooked Gumroad sale takes one of them.
    assert result.status == "ok"
    assert rig.sandbox.quantity(product) == 1
    rig.pull()  # books it: the ledger goes 2 -> 1, the same as Gumroad shows
    assert rig.listings()[product].quantity == 1


def test_overlap_rereads_count_each_sale_once(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("CARD", 100)
    for _ in range(4):
        rig.sandbox.sell(product, 2)
        rig.clock.advance(minutes=1)
    rig.pull()
    for _ in range(5):  # every poll re-reads the last ORDER_OVERLAP
        rig.clock.advance(minutes=2)
        rig.pull()
    assert rig.connector.tally is not None and rig.connector.tally.units(product) == 8
    assert rig.listings()[product].quantity == rig.sandbox.quantity(product) == 92


def test_a_sale_that_turns_up_late_is_counted_by_the_next_rescan(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("LAMP", 20)
    rig.sandbox.sell(product, 1)
    rig.pull()
    rig.clock.advance(hours=2)
    last = rig.sandbox.sell(product, 1)
    rig.pull()
    late = rig.sandbox.sell(product, 2)
    # Its purchase started before the last sale booked, older than a poll's overlap.
    was = rig.sandbox.world.sales[last].created_at
    rig.sandbox.world.sales[late].created_at = was - 2 * ORDER_OVERLAP
    booked = rig.pull()
    assert late not in {o.external_id for o in booked}
    rig.clock.advance(seconds=REFUND_RESCAN_EVERY.total_seconds())
    booked = rig.pull()
    assert late in {o.external_id for o in booked}
    assert rig.connector.tally is not None and rig.connector.tally.units(product) == 4
    assert rig.listings()[product].quantity == rig.sandbox.quantity(product) == 16
    for _ in range(3):  # later rescans settle it once
        rig.clock.advance(days=11)
        rig.pull()
    assert rig.connector.tally.units(product) == 4


def test_units_survive_the_window_settling_over_many_rescans(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("BOOK", 1000)
    sold = 0
    for day in range(75):
        rig.sandbox.sell(product, 1 + day % 3)
        sold += 1 + day % 3
        if day % 4 == 0:
            rig.sandbox.refund(list(rig.sandbox.world.sales)[-1])
        rig.clock.advance(hours=20)
        rig.pull()
    assert rig.connector.tally is not None and rig.connector.tally.units(product) == sold
    assert rig.listings()[product].quantity == rig.sandbox.quantity(product) == 1000 - sold


def test_a_push_between_pages_of_a_pull_sees_the_pages_booked_so_far(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("POSTER", 100)
    rig.sandbox.sell(product, 1)
    rig.pull()
    listing = rig.listings()[product]
    for _ in range(25):
        rig.sandbox.sell(product, 1)
        rig.clock.advance(minutes=1)
    pages = rig.connector.fetch_orders(rig.cursor)
    first = next(pages)  # the core books these 10 and lowers its belief by as many
    assert len(first.orders) == 10
    lv = StockLevel(listing=listing, quantity=80, observed=99 - 10, push_id="mid")
    (result,) = rig.connector.push_stock([lv])
    assert (result.status, result.observed) == ("ok", 80)
    rest = [o for page in pages for o in page.orders]
    assert len(rest) >= 15
    # The 15 sales not yet booked took their units from the 80: none handed back.
    assert rig.sandbox.quantity(product) == 80 - 15
    assert rig.listings()[product].quantity == 65


def test_a_pull_left_mid_way_trusts_no_units_until_the_next_pull(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("MAP", 100)
    rig.pull()
    for _ in range(25):
        rig.sandbox.sell(product, 1)
        rig.clock.advance(minutes=1)
    pages = rig.connector.fetch_orders(rig.cursor)
    next(pages)
    pages.close()  # the core stopped (or failed) with a page it may not have booked
    assert rig.connector.tally is None
    rig.pull()
    assert rig.connector.tally is not None and rig.connector.tally.units(product) == 25
