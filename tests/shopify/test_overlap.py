"""Order overlaps: re-read as ids and update times; full reads only for new or changed
orders; the cursor keeps its meaning (opaque, lagging, idempotent)."""

from __future__ import annotations

from datetime import timedelta

from oneshop_connectors.shopify import queries
from oneshop_connectors.shopify.adapter import ORDER_OVERLAP, parse_cursor
from oneshop_sandboxes.shopify import ShopifySandbox

from oneshop.testing import VirtualClock

from .conftest import Rig, make_rig
from .test_cost import Recording
from .test_orders import poll

NAMES = {text: name for name, text in {**queries.ALL_DOCUMENTS,
                                       **queries.SCALE_DOCUMENTS}.items()}


def recorded(rig: Rig) -> Recording:
    recording = Recording(rig.sandbox.transport())
    rig.connector.gql._http._transport = recording  # type: ignore[attr-defined]
    return recording


def sent(recording: Recording) -> list[str]:
    names = [NAMES[text] for text, _ in recording.sent]
    recording.sent.clear()
    return names


def busy_minutes(rig: Rig, count: int) -> list[str]:
    item = rig.sandbox.seed_listing("CARD", 500)
    orders = []
    for _ in range(count):
        orders.append(rig.sandbox.sell(item, 1))
        rig.clock.advance(seconds=5)
    return orders


def test_an_unchanged_overlap_costs_one_stamp_read_and_hands_over_the_same_orders(
        rig: Rig) -> None:
    recording = recorded(rig)
    sold = busy_minutes(rig, 30)
    first, cursors = poll(rig)
    assert sent(recording) == ["ORDERS"] * 4  # nine a page, in full
    rig.clock.advance(seconds=30)
    cost = rig.connector.gql.total_cost
    again, _ = poll(rig, cursors[-1])
    assert sent(recording) == ["ORDER_STAMPS"]
    assert rig.connector.gql.total_cost - cost == 2 + len(sold)
    assert again == first  # the overlap re-delivers, as before; the ledger dedupes


def test_only_new_or_changed_orders_are_read_in_full(rig: Rig) -> None:
    recording = recorded(rig)
    sold = busy_minutes(rig, 20)
    _, cursors = poll(rig)
    sent(recording)
    rig.sandbox.refund(sold[3], 0, 1, restock=True)
    rig.clock.advance(seconds=10)
    new = rig.sandbox.sell(rig.sandbox.seed_listing("NEW", 2), 1)
    again, _ = poll(rig, cursors[-1])
    names = sent(recording)
    assert names == ["ORDER_STAMPS", "ORDERS_BY_ID"]
    assert again[sold[3]].status == "refunded" and new in again
    assert set(again) == {*sold, new}


def test_the_ids_read_in_full_are_exactly_the_new_and_changed(
        clock: VirtualClock, sandbox: ShopifySandbox) -> None:
    rig = make_rig(clock, sandbox)
    recording = recorded(rig)
    sold = busy_minutes(rig, 12)
    _, cursors = poll(rig)
    sandbox.cancel(sold[0], restock=True)
    late = sandbox.sell(sandbox.seed_listing("LATE", 1), 1)
    recording.sent.clear()
    poll(rig, cursors[-1])
    (ids,) = [v["ids"] for text, v in recording.sent if NAMES[text] == "ORDERS_BY_ID"]
    assert sorted(ids) == sorted([sold[0], late])


def test_a_new_process_reads_the_overlap_in_full_once(
        clock: VirtualClock, sandbox: ShopifySandbox) -> None:
    first_rig = make_rig(clock, sandbox)
    busy_minutes(first_rig, 10)
    before, cursors = poll(first_rig)
    restarted = make_rig(clock, sandbox)
    recording = recorded(restarted)
    again, _ = poll(restarted, cursors[-1])
    assert again == before
    assert sent(recording) == ["ORDER_STAMPS", "ORDERS_BY_ID", "ORDERS_BY_ID"]
    poll(restarted, cursors[-1])
    assert sent(recording) == ["ORDER_STAMPS"]


def test_the_cursor_still_lags_by_the_overlap_and_is_idempotent(rig: Rig) -> None:
    busy_minutes(rig, 30)
    _, cursors = poll(rig)
    rig.clock.advance(seconds=20)
    started = rig.clock()
    one, after_one = poll(rig, cursors[-1])
    two, after_two = poll(rig, cursors[-1])
    assert one == two and after_one == after_two
    assert parse_cursor(after_one[-1]) == (started - ORDER_OVERLAP).replace(microsecond=0)


def test_orders_read_long_ago_are_forgotten(rig: Rig) -> None:
    busy_minutes(rig, 10)
    _, cursors = poll(rig)
    assert len(rig.connector.read_orders) == 10
    rig.clock.advance(minutes=30)
    _, later = poll(rig, cursors[-1])
    assert parse_cursor(later[-1]) > rig.clock() - ORDER_OVERLAP - timedelta(seconds=1)
    assert len(rig.connector.read_orders) == 0
