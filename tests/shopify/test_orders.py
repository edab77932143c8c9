"""Orders: restock semantics, statuses, cursors that lag and never pass the fetch start."""

from __future__ import annotations

from datetime import timedelta

import httpx
from oneshop_connectors.shopify import queries
from oneshop_connectors.shopify.adapter import ORDER_OVERLAP, parse_cursor

from oneshop.values import Order

from .conftest import Rig


def poll(rig: Rig, cursor: str | None = None) -> tuple[dict[str, Order], list[str | None]]:
    orders: dict[str, Order] = {}
    cursors: list[str | None] = []
    for page in rig.connector.fetch_orders(cursor):
        orders.update({o.external_id: o for o in page.orders})
        cursors.append(page.cursor)
    return orders, cursors


def test_a_sale_moves_available_to_committed_and_is_reported_once_per_line(rig: Rig) -> None:
    mug = rig.sandbox.seed_listing("MUG", 5)
    cup = rig.sandbox.seed_listing("CUP", 5)
    order_id = rig.sandbox.sell_many([(mug, 2), (cup, 1)])
    assert rig.sandbox.quantities(mug) == {"available": 3, "committed": 2, "on_hand": 5}
    order = poll(rig)[0][order_id]
    assert [(li.sku, li.quantity, li.listing_external_id) for li in order.lines] == [
        ("MUG", 2, mug), ("CUP", 1, cup)]
    assert order.status == "open"
    assert order.total == sum(li.unit_price * li.quantity for li in order.lines)
    assert order.channel_decremented is True


def test_cancel_with_restock_is_a_cancel_refund_that_shopify_already_applied(rig: Rig) -> None:
    item = rig.sandbox.seed_listing("RING", 3)
    order_id = rig.sandbox.sell(item, 2)
    rig.sandbox.cancel(order_id, restock=True)
    assert rig.sandbox.quantities(item) == {"available": 3, "committed": 0, "on_hand": 3}
    order = poll(rig)[0][order_id]
    (restock,) = order.restocks
    assert order.status == "cancelled"
    assert (restock.quantity, restock.channel_applied) == (2, True)
    assert restock.line_external_id == order.lines[0].external_id
    assert restock.key.startswith("refund:gid://shopify/Refund/")


def test_cancel_without_restock_reports_no_restock(rig: Rig) -> None:
    item = rig.sandbox.seed_listing("PIN", 3)
    order_id = rig.sandbox.sell(item, 1)
    rig.sandbox.cancel(order_id, restock=False)
    order = poll(rig)[0][order_id]
    assert (order.status, order.restocks) == ("cancelled", ())
    assert rig.sandbox.quantity(item) == 2


def test_restock_keys_are_stable_across_overlapping_polls(rig: Rig) -> None:
    item = rig.sandbox.seed_listing("HAT", 4)
    order_id = rig.sandbox.sell(item, 2)
    rig.sandbox.refund(order_id, 0, 1, restock=True)
    first, cursors = poll(rig)
    rig.clock.advance(seconds=30)
    again, _ = poll(rig, cursors[-1])
    assert first[order_id].restocks == again[order_id].restocks
    assert first[order_id].status == "partially_refunded"


def test_refunds_with_and_without_restock(rig: Rig) -> None:
    item = rig.sandbox.seed_listing("SCARF", 5)
    order_id = rig.sandbox.sell(item, 3)
    rig.sandbox.refund(order_id, 0, 1, restock=False)
    rig.sandbox.refund(order_id, 0, 2, restock=True)
    order = poll(rig)[0][order_id]
    assert [(r.quantity, r.channel_applied) for r in order.restocks] == [(2, True)]
    assert order.status == "refunded"
    assert rig.sandbox.quantity(item) == 4  # 5 - 3 sold + 2 restocked


def test_an_order_with_more_lines_than_one_page_is_read_whole(rig: Rig) -> None:
    items = [rig.sandbox.seed_listing(f"L-{i}", 2) for i in range(14)]
    order_id = rig.sandbox.sell_many([(item, 1) for item in items])
    order = poll(rig)[0][order_id]
    assert [li.sku for li in order.lines] == [f"L-{i}" for i in range(14)]


def test_the_cursor_lags_by_the_overlap_and_never_passes_the_fetch_start(rig: Rig) -> None:
    item = rig.sandbox.seed_listing("CARD", 50)
    per_page = queries.page_size(queries.ORDER_NODE_COST, queries.MAX_PAGE)
    assert per_page == 9, "at this query's conservative cost (101 points an order)"
    for _ in range(30):  # more than one page
        rig.sandbox.sell(item, 1)
        rig.clock.advance(seconds=10)
    started = rig.clock()
    orders, cursors = poll(rig)
    assert len(orders) == 30 and len(cursors) == 4
    moments = [parse_cursor(c) for c in cursors if c is not None]
    assert moments == sorted(moments)
    assert all(m <= started - ORDER_OVERLAP for m in moments)
    assert moments[-1] == (started - ORDER_OVERLAP).replace(microsecond=0)


def test_an_order_updated_long_after_the_cursor_is_found_again(rig: Rig) -> None:
    item = rig.sandbox.seed_listing("TOTE", 5)
    order_id = rig.sandbox.sell(item, 1)
    rig.clock.advance(hours=1)  # past the overlap window
    _, cursors = poll(rig)
    rig.clock.advance(hours=5)
    assert poll(rig, cursors[-1])[0] == {}
    rig.sandbox.cancel(order_id, restock=True)
    assert poll(rig, cursors[-1])[0][order_id].status == "cancelled"


def test_first_poll_reads_back_the_configured_lookback(rig: Rig) -> None:
    item = rig.sandbox.seed_listing("OLD", 5)
    old = rig.sandbox.sell(item, 1)
    rig.clock.advance(days=61)
    recent = rig.sandbox.sell(item, 1)
    assert set(poll(rig)[0]) == {recent}
    assert old != recent


def search(rig: Rig, query: str) -> list[str]:
    document = "query($q: String!) { orders(first: 50, query: $q) { nodes { id } } }"
    with httpx.Client(transport=rig.sandbox.transport(), base_url="http://sandbox") as client:
        body = client.post("/admin/api/2026-04/graphql.json",
                           json={"query": document, "variables": {"q": query}},
                           headers={"X-Shopify-Access-Token": rig.sandbox.static_token}).json()
    return [n["id"] for n in body["data"]["orders"]["nodes"]]


def test_sandbox_search_follows_shopify_quoting_and_comparators(rig: Rig) -> None:
    item = rig.sandbox.seed_listing("Q", 9)
    early = rig.sandbox.sell(item, 1)
    rig.clock.advance(minutes=10)
    late = rig.sandbox.sell(item, 1)
    mark = (rig.clock() - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert search(rig, f"updated_at:>'{mark}'") == [late]
    assert search(rig, f'updated_at:>"{mark}"') == [late]
    assert search(rig, f"updated_at:<='{mark}'") == [early]
    assert search(rig, f"created_at:>='{mark}' AND updated_at:>'{mark}'") == [late]
    assert set(search(rig, "status:open")) == {early, late}  # unknown fields are ignored


def test_malformed_orders_are_rejected_without_customer_data(rig: Rig) -> None:
    rig.sandbox.add_malformed_order()
    pages = list(rig.connector.fetch_orders(None))
    (bad,) = [r for p in pages for r in p.rejected]
    assert "total" in bad.reason
    assert bad.external_id is not None and bad.external_id.startswith("gid://shopify/Order/")
    assert "@" not in bad.raw


def test_paging_cursors_stay_valid_while_orders_change_underneath(rig: Rig) -> None:
    item = rig.sandbox.seed_listing("MOVE", 100)
    ids = [rig.sandbox.sell(item, 1) for _ in range(30)]
    pages = rig.connector.fetch_orders(None)
    seen = {o.external_id for o in next(pages).orders}
    rig.clock.advance(seconds=5)
    rig.sandbox.cancel(ids[0], restock=True)  # moves to the end of the UPDATED_AT order
    rig.sandbox.sell(item, 1)
    for page in pages:  # later pages resume after the cursor of the last node seen
        seen.update(o.external_id for o in page.orders)
    assert set(ids) <= seen


def test_a_garbage_cursor_is_refused_plainly(rig: Rig) -> None:
    import pytest

    with pytest.raises(ValueError):
        list(rig.connector.fetch_orders("updated_at>=yesterday"))


def test_an_order_with_more_refunds_than_a_page_carries_is_read_whole(rig: Rig) -> None:
    """`refunds(first:)` is a plain list cut at `first`, with no page info: an order with
    as many refunds as a page asks for may have more, so it is read alone."""
    item = rig.sandbox.seed_listing("PLATE", 9)
    order_id = rig.sandbox.sell(item, 5)
    for _ in range(queries.ORDER_REFUNDS + 2):
        rig.sandbox.refund(order_id, 0, 1, restock=True)
    order = poll(rig)[0][order_id]
    assert sum(r.quantity for r in order.restocks) == queries.ORDER_REFUNDS + 2
