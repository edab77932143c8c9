"""Listings, automatic linking by exact SKU, and what each channel should show."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from oneshop.ledger import binding, catalog
from oneshop.ledger import models as m
from oneshop.ledger.db import transaction
from oneshop.ledger.stock import record_movement, sku_ids
from oneshop.values import Listing

from .conftest import T0, assert_consistent, stock


def listing(ext: str, sku: str | None, qty: int | None) -> Listing:
    return Listing(external_id=ext, sku=sku, title=f"t{ext}", quantity=qty)


def scan(factory: sessionmaker[Session], account: str,
         listings: list[Listing]) -> catalog.Linked:
    with transaction(factory) as s:
        catalog.upsert_listings(s, account, listings, T0)
        return catalog.auto_link(s, account, T0, adopt_new=True)


def bound(factory: sessionmaker[Session]) -> dict[tuple[str, str], str | None]:
    with factory() as s:
        return {(a, e): sku for a, e, sku in s.execute(
            select(m.Binding.account, m.Binding.external_id, m.Sku.sku)
            .join(m.Sku, m.Sku.id == m.Binding.sku_id, isouter=True))}


def test_auto_link_binds_exact_unique_skus_and_reports_the_rest(
        factory: sessionmaker[Session]) -> None:
    got = scan(factory, "etsy", [listing("1", "MUG", 4), listing("2", "mug", 2),
                                 listing("3", "CUP", 1), listing("4", "CUP", 1),
                                 listing("5", None, 3)])
    assert sorted(got.linked) == [("1", "MUG"), ("2", "mug")]
    assert got.duplicates == {"CUP": ["3", "4"]}
    assert got.no_sku == ["5"]
    assert bound(factory) == {("etsy", "1"): "MUG", ("etsy", "2"): "mug", ("etsy", "3"): None,
                              ("etsy", "4"): None, ("etsy", "5"): None}


def test_a_new_sku_starts_from_its_first_channels_quantity_once(
        factory: sessionmaker[Session]) -> None:
    scan(factory, "etsy", [listing("1", "MUG", 4)])
    scan(factory, "etsy", [listing("1", "MUG", 4)])
    scan(factory, "shopify", [listing("gid1", "MUG", 9)])  # a second channel: no new count
    assert stock(factory) == {"MUG": 4}
    with factory() as s:
        keys = list(s.scalars(select(m.Movement.source_key)))
    assert keys == ["count:init:MUG"]
    assert bound(factory) == {("etsy", "1"): "MUG", ("shopify", "gid1"): "MUG"}
    assert_consistent(factory)


def test_upsert_listings_keeps_one_binding_per_listing_and_follows_its_changes(
        factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        first = catalog.upsert_listings(s, "etsy", [listing("1", "MUG", 4)], T0)
        again = catalog.upsert_listings(s, "etsy", [Listing(
            external_id="1", sku="MUG2", title="new", quantity=3, state="inactive")], T0)
    assert first[0].binding_id == again[0].binding_id
    assert (again[0].observed_before, again[0].actual, again[0].state) == (4, 3, "inactive")
    with factory() as s:
        b = s.scalars(select(m.Binding)).one()
        assert (b.channel_sku, b.title, b.state) == ("MUG2", "new", "inactive")


def published(factory: sessionmaker[Session], account: str, *, reserve: int,
              cap: int | None) -> dict[str, int]:
    with factory() as s:
        return {t.sku: t.published for t in catalog.targets(
            s, account, reserve=reserve, cap=cap, only_out_of_step=False)}


def test_targets_clamp_on_hand_minus_reserve_between_zero_and_cap(
        factory: sessionmaker[Session]) -> None:
    scan(factory, "etsy", [listing("1", "A", 10), listing("2", "B", 2), listing("3", "C", 50)])
    with transaction(factory) as s:
        c = sku_ids(s, ["C"])["C"]
        record_movement(s, sku_id=c, kind="adjust", delta=-60, source_key="adj")
    assert stock(factory) == {"A": 10, "B": 2, "C": -10}
    assert published(factory, "etsy", reserve=3, cap=5) == {"A": 5, "B": 0, "C": 0}
    assert published(factory, "etsy", reserve=0, cap=None) == {"A": 10, "B": 2, "C": 0}
    with transaction(factory) as s:  # per-SKU overrides win over the account's
        s.execute(update(m.Sku).where(m.Sku.sku == "A").values(reserve=1, cap=20))
        s.execute(update(m.Sku).where(m.Sku.sku == "B").values(reserve=0))
    assert published(factory, "etsy", reserve=3, cap=5) == {"A": 9, "B": 2, "C": 0}


def test_targets_lists_only_listings_out_of_step(factory: sessionmaker[Session]) -> None:
    scan(factory, "etsy", [listing("1", "A", 10), listing("2", "B", 2)])
    with transaction(factory) as s:
        catalog.upsert_listings(s, "etsy", [listing("2", "B", 7)], T0)
        binding.believe_first_read(s, next(t.binding_id for t in catalog.targets(
            s, "etsy", reserve=0, cap=None, only_out_of_step=False) if t.sku == "B"), 7, T0)
    with factory() as s:
        out = catalog.targets(s, "etsy", reserve=0, cap=None)
    assert [(t.sku, t.observed, t.published) for t in out] == [("B", 7, 2)]
