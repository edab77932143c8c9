"""Recording orders, cancellations, refunds and restocks any number of times, in any
order, changes stock exactly once; the cached on_hand always equals the movements."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from oneshop.ledger import booking
from oneshop.ledger import models as m
from oneshop.ledger.db import transaction
from oneshop.ledger.stock import record_movement, recount
from oneshop.values import Listing, Restock

from .conftest import T0, assert_consistent, line, order, record, seed_skus, stock


def movement_keys(factory: sessionmaker[Session]) -> list[tuple[str, str, int]]:
    with factory() as s:
        return sorted((k, kind, d) for k, kind, d in s.execute(
            select(m.Movement.source_key, m.Movement.kind, m.Movement.delta)))


def count(factory: sessionmaker[Session], model: type[m.Base]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_the_same_order_recorded_many_times_sells_once(factory: sessionmaker[Session]) -> None:
    seed_skus(factory, {"MUG": 10, "CUP": 5})
    sale = order("1001", line("1", "MUG", 2), line("2", "CUP", 1))
    first = record(factory, "shop", [sale])
    assert first.movements == 2 and first.new_orders == 1
    for _ in range(3):
        again = record(factory, "shop", [sale, sale])
        assert again.movements == 0 and again.sku_deltas == {} and again.new_orders == 0
    assert stock(factory) == {"MUG": 8, "CUP": 4}
    assert count(factory, m.Order) == 1 and count(factory, m.OrderLine) == 2
    assert [k for k, kind, _ in movement_keys(factory) if kind == "sale"] == [
        "sale:shop:1001:1", "sale:shop:1001:2"]
    assert_consistent(factory)


def test_the_same_order_id_on_two_accounts_is_two_orders(
        factory: sessionmaker[Session]) -> None:
    seed_skus(factory, {"MUG": 10})
    record(factory, "etsy", [order("7", line("1", "MUG", 1))])
    record(factory, "shopify", [order("7", line("1", "MUG", 1))])
    assert stock(factory) == {"MUG": 8}
    assert count(factory, m.Order) == 2


def test_a_later_cancellation_is_its_own_movement_booked_once(
        factory: sessionmaker[Session]) -> None:
    seed_skus(factory, {"MUG": 10})
    placed = order("1001", line("1", "MUG", 3))
    cancelled = order("1001", line("1", "MUG", 3), status="cancelled", restocks=[
        Restock(key="cancel", line_external_id="1", quantity=3, channel_applied=True)])
    record(factory, "shop", [placed])
    assert stock(factory) == {"MUG": 7}
    for _ in range(3):
        record(factory, "shop", [cancelled])
    assert stock(factory) == {"MUG": 10}
    assert [(k, d) for k, kind, d in movement_keys(factory) if kind != "count"] == [
        ("restock:shop:1001:cancel", 3), ("sale:shop:1001:1", -3)]
    with factory() as s:
        assert s.scalar(select(m.Order.status)) == "cancelled"
    assert_consistent(factory)


def test_a_cancellation_seen_before_the_sale_nets_to_zero(
        factory: sessionmaker[Session]) -> None:
    """Out of order: the cancelled version arrives first, the open one after it."""
    seed_skus(factory, {"MUG": 4})
    placed = order("9", line("1", "MUG", 2))
    cancelled = order("9", line("1", "MUG", 2), status="cancelled", restocks=[
        Restock(key="cancel", line_external_id="1", quantity=2, channel_applied=False)])
    for page in ([cancelled], [placed], [cancelled, placed], [placed]):
        record(factory, "shop", page)
    assert stock(factory) == {"MUG": 4}
    assert len(movement_keys(factory)) == 3  # count, sale, restock
    assert_consistent(factory)


def test_partial_refunds_with_restock_each_count_once(factory: sessionmaker[Session]) -> None:
    seed_skus(factory, {"MUG": 10, "CUP": 10})
    lines = (line("1", "MUG", 4), line("2", "CUP", 1))
    first_refund = Restock(key="refund:r1:line:1", line_external_id="1", quantity=1,
                           channel_applied=True)
    second_refund = Restock(key="refund:r2:line:1", line_external_id="1", quantity=2,
                            channel_applied=True)
    record(factory, "shop", [order("5", *lines)])
    record(factory, "shop", [order("5", *lines, status="partially_refunded",
                                   restocks=[first_refund])])
    assert stock(factory) == {"MUG": 7, "CUP": 9}
    both = order("5", *lines, status="partially_refunded",
                 restocks=[first_refund, second_refund])
    record(factory, "shop", [both, both])
    record(factory, "shop", [order("5", *lines, status="partially_refunded",
                                   restocks=[second_refund])])
    assert stock(factory) == {"MUG": 9, "CUP": 9}
    keys = [k for k, kind, _ in movement_keys(factory) if kind == "restock"]
    assert keys == ["restock:shop:5:refund:r1:line:1", "restock:shop:5:refund:r2:line:1"]
    assert_consistent(factory)


def test_a_restock_of_zero_or_of_an_unknown_line_books_nothing(
        factory: sessionmaker[Session]) -> None:
    seed_skus(factory, {"MUG": 5})
    record(factory, "shop", [order("5", line("1", "MUG", 1), restocks=[
        Restock(key="a", line_external_id="1", quantity=0, channel_applied=False),
        Restock(key="b", line_external_id="404", quantity=2, channel_applied=False)])])
    assert stock(factory) == {"MUG": 4}


def test_lines_with_no_known_sku_are_reported_not_booked(
        factory: sessionmaker[Session]) -> None:
    seed_skus(factory, {"MUG": 5})
    booked = record(factory, "shop", [order("1", line("1", "mug", 1), line("2", None, 1,
                                                                           listing="L9"))])
    assert booked.movements == 0
    assert sorted(booked.unlinked, key=str) == sorted([(None, "mug"), ("L9", None)], key=str)
    assert stock(factory) == {"MUG": 5}
    assert count(factory, m.OrderLine) == 2  # the order book keeps them all the same


def test_a_bound_listing_wins_over_the_line_sku_and_follows_the_channel(
        factory: sessionmaker[Session]) -> None:
    ids = seed_skus(factory, {"MUG": 10, "CUP": 10})
    with transaction(factory) as s:
        from oneshop.ledger import catalog

        catalog.upsert_listings(s, "shop", [Listing(external_id="L1", sku="whatever",
                                                    title="Mug", quantity=10)], T0)
        assert catalog.link(s, "shop", "L1", "MUG")
    sale = order("1", line("1", "CUP", 2, listing="L1"))
    booked = record(factory, "shop", [sale])
    assert booked.sku_deltas == {ids["MUG"]: -2}
    record(factory, "shop", [sale])
    assert stock(factory) == {"MUG": 8, "CUP": 10}
    with factory() as s:
        # The channel took the units off itself: we follow, once.
        assert s.scalar(select(m.Binding.observed_qty)) == 8


def test_recount_finds_a_cached_total_that_drifted(factory: sessionmaker[Session]) -> None:
    ids = seed_skus(factory, {"MUG": 3})
    record(factory, "shop", [order("1", line("1", "MUG", 1))])
    assert_consistent(factory)
    with transaction(factory) as s:
        s.execute(update(m.Sku).values(on_hand=99))
    with factory() as s:
        assert recount(s) == {ids["MUG"]: (99, 2)}


def test_manual_movements_are_idempotent_by_key(factory: sessionmaker[Session]) -> None:
    ids = seed_skus(factory, {"MUG": 3})
    with transaction(factory) as s:
        assert record_movement(s, sku_id=ids["MUG"], kind="adjust", delta=-5,
                                     source_key="adjust:1", reason="broken")
        assert not record_movement(s, sku_id=ids["MUG"], kind="adjust", delta=-5,
                                         source_key="adjust:1", reason="broken")
    assert stock(factory) == {"MUG": -2}  # an oversell is recorded, never clamped
    assert_consistent(factory)


def test_an_older_version_of_an_order_never_overwrites_a_newer_one(database_url: str) -> None:
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from sqlalchemy import select

    from oneshop.ledger import models as m
    from oneshop.ledger.db import make_engine, sessions, transaction
    from oneshop.ledger.schema import upgrade
    from oneshop.values import Order

    engine = make_engine(database_url)
    upgrade(engine)
    factory = sessions(engine)
    t0 = datetime(2026, 5, 1, tzinfo=UTC)

    def version(status: str, at: datetime) -> Order:
        return Order(external_id="o-1", status=status, currency="EUR",  # type: ignore[arg-type]
                     total=Decimal("10"), created_at=t0, updated_at=at, lines=())

    with transaction(factory) as s:
        booking.record_orders(s, "shop", [version("cancelled", t0 + timedelta(minutes=5))])
    with transaction(factory) as s:
        booking.record_orders(s, "shop", [version("open", t0)])
    with factory() as s:
        assert s.scalar(select(m.Order.status)) == "cancelled"
    engine.dispose()


def test_an_order_twice_in_one_page_books_its_lines_once_with_the_most_refunded(
        factory: sessionmaker[Session]) -> None:
    """A page may carry one order twice (a channel's overlap): its lines are one upsert
    each (PostgreSQL refuses to touch a row twice in one statement)."""
    from dataclasses import replace

    seed_skus(factory, {"A": 5})
    first = order("o1", line("1", "A", 2))
    refunded = replace(first, lines=(replace(first.lines[0], refunded_quantity=1),))
    record(factory, "shop", [refunded, first])
    assert stock(factory)["A"] == 3
    with factory() as s:
        assert s.scalars(select(m.OrderLine.refunded_quantity)).all() == [1]
