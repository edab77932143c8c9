"""Sales polling: newest-first paging, date-only filters with overlap, refunds."""

from __future__ import annotations

import json
from decimal import Decimal

from oneshop_connectors.gumroad.orders import ORDER_OVERLAP, REFUND_RESCAN_EVERY

from .conftest import Rig


def test_sale_becomes_one_order_with_one_line_keyed_by_the_sale_id(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("PRINT", 9)
    sale = rig.sandbox.sell(product, 3)
    sold_at = rig.clock()
    (order,), _, _ = rig.orders()
    assert order.external_id == sale and order.status == "open"
    assert order.total == Decimal("30") and order.currency == "USD"
    (line,) = order.lines
    assert (line.external_id, line.sku, line.quantity, line.unit_price) == (
        sale, "PRINT", 3, Decimal("10.00"))
    assert order.created_at == sold_at


def test_pages_of_ten_keep_the_start_cursor_until_the_last_page(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("CARD", 100)
    for _ in range(25):
        rig.sandbox.sell(product)
        rig.clock.advance(seconds=30)
    pages = list(rig.connector.fetch_orders(None))
    assert [len(p.orders) for p in pages] == [10, 10, 5]
    assert len({o.external_id for p in pages for o in p.orders}) == 25
    assert pages[0].cursor == pages[1].cursor != pages[2].cursor


def test_idle_poll_costs_one_request_even_with_many_sales_today(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("STICKER", 100)
    for _ in range(25):
        rig.sandbox.sell(product)
        rig.clock.advance(minutes=2)
    _, cursor, _ = rig.orders()
    rig.clock.advance(minutes=20)
    (_, again, _), used = rig.requests_for(lambda: rig.orders(cursor))
    assert used == 1
    assert again is not None
    _, used_next = rig.requests_for(lambda: rig.orders(again))
    assert used_next == 1


def test_date_only_filter_rereads_from_the_day_before_and_books_nothing_twice(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("LAMP", 50)
    rig.clock.set(rig.clock().replace(hour=23, minute=59))
    before_midnight = rig.sandbox.sell(product)
    rig.clock.advance(minutes=2)
    after_midnight = rig.sandbox.sell(product)
    first, cursor, _ = rig.orders()
    rig.clock.advance(minutes=5)
    later = rig.sandbox.sell(product)
    again, _, _ = rig.orders(cursor)
    ids = [o.external_id for o in again]
    assert len(ids) == len(set(ids)), "a sale was reported twice in one fetch"
    assert {before_midnight, after_midnight} == {o.external_id for o in first}
    assert later in ids
    # The overlap re-reports recent sales under the same order and line ids.
    assert {after_midnight, before_midnight} <= set(ids)


def test_a_sale_that_turns_up_late_with_an_older_timestamp_is_caught(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("KIT", 50)
    rig.sandbox.sell(product)
    _, cursor, _ = rig.orders()
    rig.clock.advance(minutes=3)
    # A purchase that started earlier completes now: its created_at is in the past.
    rig.clock.set(rig.clock() - ORDER_OVERLAP / 2)
    late = rig.sandbox.sell(product)
    rig.clock.set(rig.clock() + ORDER_OVERLAP / 2)
    orders, _, _ = rig.orders(cursor)
    assert late in {o.external_id for o in orders}


def test_cursor_never_moves_past_the_fetch_start(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("CLOCK", 5)
    rig.clock.advance(hours=1)
    rig.sandbox.sell(product)  # the sandbox's clock runs ahead of ours
    rig.clock.advance(hours=-1)
    started = rig.clock()
    _, cursor, _ = rig.orders()
    assert cursor is not None
    assert json.loads(cursor)["since"] <= started.isoformat()


def test_full_refund_restocks_when_the_account_restocks_refunds(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("VASE", 4)
    sale = rig.sandbox.sell(product, 2)
    rig.sandbox.refund(sale)
    (order,), cursor, _ = rig.orders()
    assert order.status == "refunded"
    (restock,) = order.restocks
    assert (restock.key, restock.line_external_id, restock.quantity, restock.channel_applied) == (
        f"refund:{sale}", sale, 2, False)
    (again,), _, _ = rig.orders(cursor)
    assert again.restocks == order.restocks, "the same refund must keep its key"


def test_full_refund_does_not_restock_under_the_default_policy(keep_rig: Rig) -> None:
    product = keep_rig.sandbox.seed_listing("EBOOK", 10)
    sale = keep_rig.sandbox.sell(product)
    keep_rig.sandbox.refund(sale)
    (order,), _, _ = keep_rig.orders()
    assert order.status == "refunded" and order.restocks == ()


def test_partial_refund_never_restocks(rig: Rig, keep_rig: Rig) -> None:
    for r in (rig, keep_rig):
        product = r.sandbox.seed_listing("RUG", 3)
        sale = r.sandbox.sell(product)
        r.sandbox.refund(sale, amount_cents=300)
        (order,), _, _ = r.orders()
        assert order.status == "partially_refunded" and order.restocks == ()


def test_chargeback_is_reported_as_refunded_with_restock_under_the_policy(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("JACKET", 3)
    sale = rig.sandbox.sell(product)
    rig.sandbox.chargeback(sale)
    (order,), _, _ = rig.orders()
    assert order.status == "refunded" and sum(r.quantity for r in order.restocks) == 1


def test_refund_of_an_old_sale_is_caught_by_the_slower_rescan(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("CHAIR", 3)
    old = rig.sandbox.sell(product)
    _, cursor, _ = rig.orders()
    rig.clock.advance(days=2)
    rig.sandbox.sell(product)
    _, cursor, _ = rig.orders(cursor)  # the rescan ran here: due after an hour
    rig.sandbox.refund(old)
    rig.clock.advance(minutes=10)
    (quiet, cursor2, _), used = rig.requests_for(lambda: rig.orders(cursor))
    assert old not in {o.external_id for o in quiet} and used == 1
    rig.clock.advance(seconds=REFUND_RESCAN_EVERY.total_seconds())
    rescanned, _, _ = rig.orders(cursor2)
    (refunded,) = [o for o in rescanned if o.external_id == old]
    assert refunded.status == "refunded" and refunded.restocks


def test_first_poll_reads_only_the_lookback(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("OLD", 5)
    ancient = rig.sandbox.sell(product)
    rig.clock.advance(days=rig.settings.order_lookback_days + 3)
    recent = rig.sandbox.sell(product)
    orders, _, _ = rig.orders()
    ids = {o.external_id for o in orders}
    assert recent in ids and ancient not in ids


def test_malformed_sale_is_rejected_without_personal_data(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("PIN", 10)
    good = rig.sandbox.sell(product)
    bad = rig.sandbox.add_malformed_order()
    orders, _, _ = rig.orders()
    pages = list(rig.connector.fetch_orders(None))
    (rejected,) = [r for p in pages for r in p.rejected]
    assert rejected.external_id == bad and "created_at" in rejected.reason
    assert "example.com" not in rejected.raw and "email" not in rejected.raw
    assert good in {o.external_id for o in orders}


def test_sale_of_a_deleted_product_is_still_booked_without_a_sku(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("DROPPED", 5)
    sale = rig.sandbox.sell(product)
    rig.sandbox.world.products[product].deleted = True
    (order,), _, _ = rig.orders()
    assert order.external_id == sale
    assert (order.lines[0].sku, order.lines[0].listing_external_id) == (None, product)
