"""Bundles in the ledger: one sale per component, exact reversal, idempotent retries,
what each channel is told, and hand edits never adopted into a bundle."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from oneshop.ledger import bundles, catalog, drift, stock
from oneshop.ledger import models as m
from oneshop.ledger.db import transaction
from oneshop.values import Listing, Restock

from .conftest import T0, assert_consistent, line, order, record, seed_skus
from .conftest import stock as stock_of

KIT = {"GIFT-SET": {"MUG-BLUE": 1, "CARD-SET": 2}}


def setup(factory: sessionmaker[Session], mugs: int = 5, cards: int = 7) -> None:
    seed_skus(factory, {"MUG-BLUE": mugs, "CARD-SET": cards})
    with transaction(factory) as s:
        bundles.apply(s, KIT)


def moves(factory: sessionmaker[Session]) -> list[tuple[str, str, int, str, str]]:
    with factory() as s:
        return [tuple(r) for r in s.execute(  # type: ignore[misc]
            select(m.Sku.sku, m.Movement.kind, m.Movement.delta, m.Movement.source_key,
                   m.Movement.reason).join(m.Sku, m.Sku.id == m.Movement.sku_id)
            .where(m.Movement.kind != "count").order_by(m.Movement.source_key))]


def test_a_bundle_line_books_one_sale_per_component_tagged_with_the_bundle(
        factory: sessionmaker[Session]) -> None:
    setup(factory)
    booked = record(factory, "etsy", [order("o1", line("l1", "GIFT-SET", 2))])
    assert moves(factory) == [
        ("CARD-SET", "sale", -4, "sale:etsy:o1:l1/CARD-SET", "sold as GIFT-SET"),
        ("MUG-BLUE", "sale", -2, "sale:etsy:o1:l1/MUG-BLUE", "sold as GIFT-SET")]
    assert stock_of(factory) == {"MUG-BLUE": 3, "CARD-SET": 3, "GIFT-SET": 0}
    assert booked.movements == 2
    with factory() as s:  # the order book keeps the line as sold: the bundle
        assert s.scalar(select(m.Sku.sku).join(m.OrderLine, m.OrderLine.sku_id == m.Sku.id)) \
            == "GIFT-SET"
    assert_consistent(factory)


def test_a_bundle_and_its_component_in_one_order_deduct_both(
        factory: sessionmaker[Session]) -> None:
    setup(factory)
    record(factory, "etsy", [order("o1", line("l1", "GIFT-SET", 1), line("l2", "MUG-BLUE", 1))])
    assert stock_of(factory)["MUG-BLUE"] == 3  # 5 - 1 (in the set) - 1 (alone)
    assert stock_of(factory)["CARD-SET"] == 5


def test_a_retry_after_a_crash_between_component_movements_books_each_once(
        factory: sessionmaker[Session]) -> None:
    """The derived keys make the retry idempotent: a component already booked under its
    key (as if the process died after it) is not booked again; the other one is."""
    ids = seed_skus(factory, {"MUG-BLUE": 5, "CARD-SET": 7})
    with transaction(factory) as s:
        bundles.apply(s, KIT)
        stock.record_movement(s, sku_id=ids["MUG-BLUE"], kind="sale", delta=-1,
                              source_key="sale:etsy:o1:l1/MUG-BLUE", account="etsy")
    for _ in range(3):
        record(factory, "etsy", [order("o1", line("l1", "GIFT-SET", 1))])
    assert stock_of(factory)["MUG-BLUE"] == 4
    assert stock_of(factory)["CARD-SET"] == 5
    assert len(moves(factory)) == 2
    assert_consistent(factory)


def test_a_cancellation_reverses_exactly_what_was_booked_after_a_hand_restock(
        factory: sessionmaker[Session]) -> None:
    ids = seed_skus(factory, {"MUG-BLUE": 5, "CARD-SET": 7})
    with transaction(factory) as s:
        bundles.apply(s, KIT)
    record(factory, "etsy", [order("o1", line("l1", "GIFT-SET", 2))])
    with transaction(factory) as s:  # the seller put one mug back by hand meanwhile
        stock.record_movement(s, sku_id=ids["MUG-BLUE"], kind="adjust", delta=1,
                              source_key="adjust:hand:1")
    cancelled = order("o1", line("l1", "GIFT-SET", 2), status="cancelled",
                      restocks=[Restock(line_external_id="l1", quantity=2, key="cancel",
                                              channel_applied=False)])
    for _ in range(2):
        record(factory, "etsy", [cancelled])
    assert stock_of(factory) == {"MUG-BLUE": 6, "CARD-SET": 7, "GIFT-SET": 0}
    assert [mv[:4] for mv in moves(factory) if mv[1] == "restock"] == [
        ("CARD-SET", "restock", 4, "restock:etsy:o1:cancel/CARD-SET"),
        ("MUG-BLUE", "restock", 2, "restock:etsy:o1:cancel/MUG-BLUE")]
    assert_consistent(factory)


def bind(factory: sessionmaker[Session], account: str, listings: dict[str, tuple[str, int]]
         ) -> None:
    with transaction(factory) as s:
        catalog.upsert_listings(s, account, [Listing(external_id=e, sku=sku, title=e,
                                                     quantity=q)
                                             for e, (sku, q) in listings.items()], T0)
        catalog.auto_link(s, account, T0)


def published(factory: sessionmaker[Session], account: str, *, reserve: int = 0,
              cap: int | None = None, sku_ids: list[int] | None = None) -> dict[str, int]:
    with factory() as s:
        return {t.sku: t.published for t in catalog.targets(
            s, account, reserve=reserve, cap=cap, sku_ids=sku_ids, only_out_of_step=False)}


def test_a_bundle_shows_its_scarcest_component_through_the_channels_rules(
        factory: sessionmaker[Session]) -> None:
    setup(factory, mugs=5, cards=7)
    bind(factory, "etsy", {"1": ("MUG-BLUE", 5), "2": ("CARD-SET", 7), "3": ("GIFT-SET", 9)})
    assert published(factory, "etsy") == {"MUG-BLUE": 5, "CARD-SET": 7, "GIFT-SET": 3}
    assert published(factory, "etsy", reserve=1, cap=6) == {
        "MUG-BLUE": 4, "CARD-SET": 6, "GIFT-SET": 2}
    record(factory, "shopify", [order("o1", line("l1", "CARD-SET", 6))])  # 1 card left
    assert published(factory, "etsy")["GIFT-SET"] == 0
    with factory() as s:
        card = stock.sku_ids(s, ["CARD-SET"])["CARD-SET"]
    # Asked for a component, the plan answers for every bundle containing it too.
    assert published(factory, "etsy", sku_ids=[card]) == {"CARD-SET": 1, "GIFT-SET": 0}


def test_a_backordered_component_lends_its_backorder_to_the_bundle(
        factory: sessionmaker[Session]) -> None:
    """A component that may sell below 0 (`backorder = 4`) is told on_hand + 4; the
    bundle counts the same units (Shopify derives its own bundles that way too)."""
    setup(factory, mugs=5, cards=1)
    with transaction(factory) as s:
        s.execute(update(m.Sku).where(m.Sku.sku == "CARD-SET").values(backorder=4))
    bind(factory, "etsy", {"1": ("MUG-BLUE", 5), "2": ("CARD-SET", 5), "3": ("GIFT-SET", 2)})
    assert published(factory, "etsy") == {"MUG-BLUE": 5, "CARD-SET": 5, "GIFT-SET": 2}


def test_a_bundle_is_never_published_while_a_component_is_unknown(
        factory: sessionmaker[Session]) -> None:
    seed_skus(factory, {"MUG-BLUE": 5})
    with transaction(factory) as s:
        bundles.apply(s, KIT)  # CARD-SET created unknown
    bind(factory, "etsy", {"3": ("GIFT-SET", 9)})
    assert published(factory, "etsy") == {}


def test_a_bundle_listing_is_never_adopted_from_what_it_shows(
        factory: sessionmaker[Session]) -> None:
    setup(factory)
    with transaction(factory) as s:
        catalog.upsert_listings(s, "etsy", [Listing(external_id="3", sku="GIFT-SET",
                                                    title="", quantity=9)], T0)
        linked = catalog.auto_link(s, "etsy", T0, adopt_new=True)
    assert linked.adopted == {}
    with factory() as s:
        gift = s.scalar(select(m.Sku).where(m.Sku.sku == "GIFT-SET"))
        assert gift is not None and gift.adopted_at is None and gift.on_hand == 0


class Adopt:
    hand_edit_policy = "adopt"


def test_a_hand_edit_of_a_bundle_listing_is_overwritten_with_one_alert(
        factory: sessionmaker[Session]) -> None:
    setup(factory)
    bind(factory, "etsy", {"3": ("GIFT-SET", 3)})
    for n in range(4):  # first sighting, then confirmed, then the same value again
        with transaction(factory) as s:
            seen = catalog.upsert_listings(s, "etsy", [Listing(
                external_id="3", sku="GIFT-SET", title="", quantity=8)], T0)
            assert drift.fold_drift(s, "etsy", seen, Adopt(), T0) == {}, n
    with factory() as s:
        alerts = list(s.scalars(select(m.Alert).where(m.Alert.event == "hand_edit")))
    assert [a.fields["policy"] for a in alerts] == ["overwrite"]
    assert moves(factory) == []
    assert published(factory, "etsy") == {"GIFT-SET": 3}


def test_apply_follows_the_config(factory: sessionmaker[Session]) -> None:
    setup(factory)
    with transaction(factory) as s:
        bundles.apply(s, {"GIFT-SET": {"MUG-BLUE": 2}, "DUO": {"MUG-BLUE": 1, "CARD-SET": 1}})
    with factory() as s:
        got = {b: [(c.sku, c.quantity) for c in parts] for b, parts in bundles.load(s).values()}
    assert got == {"GIFT-SET": [("MUG-BLUE", 2)],
                   "DUO": [("CARD-SET", 1), ("MUG-BLUE", 1)]}
    with transaction(factory) as s:
        bundles.apply(s, {})
    with factory() as s:
        assert bundles.load(s) == {}


def test_adopting_unknown_skus_from_a_channel_skips_a_bundle(
        factory: sessionmaker[Session]) -> None:
    from oneshop.ledger import takeover

    setup(factory)
    bind(factory, "etsy", {"3": ("GIFT-SET", 9)})
    with transaction(factory) as s:
        assert "GIFT-SET" not in takeover.adopt_unknown(s, "etsy", T0)
    assert stock_of(factory)["GIFT-SET"] == 0
