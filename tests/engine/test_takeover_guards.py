"""What protects a taken-over catalog from the setup path itself: the bulk-zero guard,
unknown SKUs never published, overrides that set no stock, links that refuse typos."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from oneshop import app as app_mod
from oneshop.adopt import adopt_with
from oneshop.config import SkuOverride
from oneshop.errors import OneshopError
from oneshop.guard import release
from oneshop.ledger import models as m
from oneshop.ledger.db import transaction
from oneshop.listings import link_listing
from oneshop.service import Runner
from oneshop.testing import VirtualClock
from oneshop.testing.shop import SandboxShop

KINDS = ("etsy", "shopify", "gumroad")
CATALOG = {f"SKU-{n}": 4 for n in range(6)}


@pytest.fixture
def shop(tmp_path: Path, database_url: str) -> Iterator[SandboxShop]:
    clock = VirtualClock()
    shop = SandboxShop(state_dir=tmp_path / "state", database_url=database_url,
                       clock=clock.now)
    shop.prepare_ledger()
    CLOCKS[id(shop)] = clock
    yield shop
    CLOCKS.pop(id(shop))
    shop.close()


CLOCKS: dict[int, VirtualClock] = {}


def _build(shop: SandboxShop) -> app_mod.App:
    clock = CLOCKS[id(shop)]
    return shop.build_app(clock=clock.now, sleep=clock.sleep)


def _taken_over(shop: SandboxShop) -> dict[str, dict[str, str]]:
    ids = {sku: shop.seed(sku, qty) for sku, qty in CATALOG.items()}
    application = _build(shop)
    try:
        adopt_with(application, source=None, force=False)
        assert Runner(application).sync_once()
    finally:
        application.close()
    return ids


def _count(application: app_mod.App, model: type[m.Base], *where: object) -> int:
    with application.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_a_reserve_that_would_zero_the_catalog_is_held_and_alerted_once(
        shop: SandboxShop, capsys: pytest.CaptureFixture[str]) -> None:
    ids = _taken_over(shop)
    shop.account_options = {"reserve": 1000}  # a config mistake
    application = _build(shop)
    try:
        runner = Runner(application)
        for _ in range(5):
            for kind in KINDS:
                assert runner.poll(kind)
        for sku in CATALOG:
            assert {k: shop.sandboxes[k].quantity(i) for k, i in ids[sku].items()} == (
                dict.fromkeys(KINDS, 4)), "the guard let a catalog-wide zero through"
        assert _count(application, m.Alert, m.Alert.event == "bulk_change_held") == 3
        assert capsys.readouterr().out.count('"bulk_change_held"') in (0, 3)
        # A sale is never held: its SKU goes out (at 0 here, under that reserve).
        shop.sandboxes["shopify"].sell(ids["SKU-0"]["shopify"], 1)
        assert runner.poll("shopify")
        assert shop.sandboxes["gumroad"].quantity(ids["SKU-0"]["gumroad"]) == 0
        assert shop.sandboxes["gumroad"].quantity(ids["SKU-1"]["gumroad"]) == 4
        with transaction(application.sessions) as s:
            assert release(s, "etsy") is not None
        assert runner.poll("etsy")
        etsy: Any = shop.sandboxes["etsy"]
        assert all(etsy.listing_state(ids[sku]["etsy"]) == "inactive"
                   for sku in CATALOG), "released: the change goes out as planned"
        assert shop.sandboxes["gumroad"].quantity(ids["SKU-1"]["gumroad"]) == 4
    finally:
        application.close()


def test_sales_never_trip_the_guard_however_many(shop: SandboxShop) -> None:
    ids = _taken_over(shop)
    application = _build(shop)
    try:
        for sku in CATALOG:  # a day of downtime: every SKU sold out on Shopify
            shop.sandboxes["shopify"].sell(ids[sku]["shopify"], 4)
        assert Runner(application).poll("shopify")
        assert _count(application, m.Alert, m.Alert.event == "bulk_change_held") == 0
        assert all(shop.sandboxes["gumroad"].quantity(ids[sku]["gumroad"]) == 0
                   for sku in CATALOG)
    finally:
        application.close()


def test_an_override_sets_reserve_and_cap_but_never_stock(shop: SandboxShop) -> None:
    shop.seed("MUG-BLUE", 3)
    config = shop.config()
    config.file.skus["MUG-BLUE"] = SkuOverride(reserve=1)
    config.file.skus["NOT-LISTED"] = SkuOverride(cap=2)
    application = app_mod.build(config, transports={
        k: s.transport() for k, s in shop.sandboxes.items()}, clock=CLOCKS[id(shop)].now,
        sleep=CLOCKS[id(shop)].sleep)
    try:
        with application.sessions() as s:
            rows = {r.sku: r for r in s.scalars(select(m.Sku))}
        assert rows["MUG-BLUE"].adopted_at is None and rows["NOT-LISTED"].adopted_at is None
        adopt_with(application, source="etsy", force=False)
        assert Runner(application).sync_once()
        assert shop.sandboxes["shopify"].quantity(
            shop.sandboxes["shopify"].seed_listing("OTHER", 1)) == 1
        assert _count(application, m.Push, m.Push.quantity == 0) == 0, "a zero was pushed"
        with application.sessions() as s:
            assert s.scalar(select(m.Sku.on_hand).where(m.Sku.sku == "MUG-BLUE")) == 3
    finally:
        application.close()


def test_link_refuses_a_typo_and_a_rebind_unless_asked(shop: SandboxShop) -> None:
    ids = _taken_over(shop)
    application = _build(shop)
    try:
        listing = ids["SKU-0"]["gumroad"]
        with pytest.raises(OneshopError, match="unknown SKU 'SKU-O'"):
            link_listing(application, "gumroad", listing, "SKU-O", create=False, rebind=False)
        with pytest.raises(OneshopError, match="bound to SKU-0; give --rebind"):
            link_listing(application, "gumroad", listing, "SKU-1", create=False, rebind=False)
        note = link_listing(application, "gumroad", listing, "SKU-NEW", create=True,
                            rebind=True)
        assert "not adopted yet" in note
        assert Runner(application).sync_once()
        # An unknown SKU is never published: the listing keeps what it showed.
        assert shop.sandboxes["gumroad"].quantity(listing) == 4
        assert _count(application, m.Push, m.Push.quantity == 0) == 0
    finally:
        application.close()


@pytest.mark.parametrize("adopt_new", ["first_seen", "manual"])
def test_a_listing_created_after_the_takeover(shop: SandboxShop, adopt_new: str) -> None:
    _taken_over(shop)
    config = shop.config()
    config.file.service.adopt_new = adopt_new  # type: ignore[assignment]
    clock = CLOCKS[id(shop)]
    application = app_mod.build(config, transports={
        k: s.transport() for k, s in shop.sandboxes.items()}, clock=clock.now, sleep=clock.sleep)
    try:
        runner = Runner(application)
        new = shop.sandboxes["etsy"].seed_listing("LATE", 7)
        shop.sandboxes["etsy"].sell(new, 1)  # sold before oneshop saw it: in the 6 shown
        for _ in range(3):
            assert runner.poll("etsy")
            assert runner.reconcile("etsy", link=True)
        with application.sessions() as s:
            row = s.scalar(select(m.Sku).where(m.Sku.sku == "LATE"))
            assert row is not None
            sales = s.scalar(select(func.count()).select_from(m.Movement).where(
                m.Movement.sku_id == row.id, m.Movement.kind == "sale"))
        alerts = _count(application, m.Alert, m.Alert.event == "sku_unadopted")
        if adopt_new == "first_seen":
            assert (row.adopted_at is not None, row.on_hand, sales, alerts) == (True, 6, 0, 0)
            shop.sandboxes["etsy"].sell(new, 2)  # after discovery: a sale
            assert runner.poll("etsy")
            with application.sessions() as s:
                assert s.scalar(select(m.Sku.on_hand).where(m.Sku.sku == "LATE")) == 4
        else:
            assert (row.adopted_at is None, alerts) == (True, 1)
            assert _count(application, m.Push, m.Push.sku_id == row.id) == 0
    finally:
        application.close()
