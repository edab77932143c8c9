"""Bundles end to end on the three sandboxes, from a shop that already sells.

GIFT-SET = 1 MUG-BLUE + 2 CARD-SET: a listing of its own on Etsy and Gumroad (a oneshop
bundle), and a Shopify bundle (`requiresComponents`) whose inventory Shopify derives.
Before the takeover the channels already have orders (a bundle among them), a
cancellation and a hand edit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from oneshop.adopt import Takeover, adopt_with
from oneshop.app import App
from oneshop.ledger import models as m
from oneshop.ledger import views
from oneshop.service import Runner
from oneshop.testing import VirtualClock
from oneshop.testing.shop import SandboxShop

pytestmark = pytest.mark.e2e
KINDS = ("etsy", "shopify", "gumroad")
KIT = {"GIFT-SET": {"bundle": {"MUG-BLUE": 1, "CARD-SET": 2}}}
FAST = {"gumroad": {"requests_per_second": 50.0}}


@dataclass
class Rig:
    shop: SandboxShop
    app: App
    runner: Runner
    clock: VirtualClock
    ids: dict[str, dict[str, str]]
    report: Takeover

    def sb(self, kind: str) -> Any:
        return self.shop.sandboxes[kind]

    def on_hand(self) -> dict[str, int]:
        with self.app.sessions() as s:
            return {sku: n for sku, n in s.execute(select(m.Sku.sku, m.Sku.on_hand))}

    def shows(self, sku: str) -> dict[str, int | None]:
        return {k: self.sb(k).quantity(i) for k, i in self.ids[sku].items()}

    def poll(self, *kinds: str) -> None:
        for kind in kinds or KINDS:
            self.clock.advance(1)
            assert self.runner.poll(kind), kind

    def count(self, model: Any, *where: Any) -> int:
        with self.app.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.fixture
def rig(tmp_path: Path, database_url: str) -> Iterator[Rig]:
    clock = VirtualClock()
    shop = SandboxShop(state_dir=tmp_path / "state", kinds=KINDS, database_url=database_url,
                       clock=clock.now, skus=KIT, settings_overrides=FAST)
    ids = {"MUG-BLUE": shop.seed("MUG-BLUE", 10), "CARD-SET": shop.seed("CARD-SET", 9)}
    gift = {k: shop.sandboxes[k].seed_listing("GIFT-SET", 7) for k in ("etsy", "gumroad")}
    shopify: Any = shop.sandboxes["shopify"]
    gift["shopify"] = shopify.add_bundle("GIFT-SET", [(ids["MUG-BLUE"]["shopify"], 1),
                                                      (ids["CARD-SET"]["shopify"], 2)])
    ids["GIFT-SET"] = gift
    # History: a mug sold on Etsy, a card order cancelled on Shopify, a gift set sold on
    # Gumroad, a hand edit of cards on Etsy; all in the counts the takeover reads.
    clock.advance(60)
    shop.sandboxes["etsy"].sell(ids["MUG-BLUE"]["etsy"], 1)
    shopify.cancel(shopify.sell(ids["CARD-SET"]["shopify"], 2), restock=True)
    shop.sandboxes["gumroad"].sell(gift["gumroad"], 1)
    shop.sandboxes["etsy"].hand_edit(ids["CARD-SET"]["etsy"], 8)
    clock.advance(60)
    shop.prepare_ledger()
    app = shop.build_app(clock=clock.now, sleep=clock.sleep)
    report = adopt_with(app, source=None, force=False)
    rig = Rig(shop=shop, app=app, runner=Runner(app), clock=clock, ids=ids, report=report)
    assert rig.runner.sync_once()
    yield rig
    app.close()
    shop.close()


def test_the_takeover_ignores_bundle_listings_and_publishes_what_components_make(
        rig: Rig) -> None:
    assert rig.report.bundles == ["GIFT-SET"]
    assert {a.sku: a.count for a in rig.report.skus} == {"MUG-BLUE": 9, "CARD-SET": 8}
    assert rig.on_hand() == {"MUG-BLUE": 9, "CARD-SET": 8, "GIFT-SET": 0}
    # min(9 // 1, 8 // 2) = 4 everywhere; Shopify's own bundle derives it from its parts.
    assert rig.shows("GIFT-SET") == {"etsy": 4, "gumroad": 4, "shopify": 4}
    assert rig.shows("MUG-BLUE") == dict.fromkeys(KINDS, 9)
    assert rig.shows("CARD-SET") == dict.fromkeys(KINDS, 8)
    # Nothing was ever asked of the Shopify parent (a write to it fails the whole batch).
    with rig.app.sessions() as s:
        parent = s.scalar(select(m.Binding.id).where(
            m.Binding.external_id == rig.ids["GIFT-SET"]["shopify"]))
    assert rig.count(m.Push, m.Push.binding_id == parent) == 0
    assert rig.count(m.Push, m.Push.status == "failed") == 0


def test_a_bundle_sale_moves_its_components_and_every_channel_follows_at_once(
        rig: Rig) -> None:
    order = rig.sb("etsy").sell(rig.ids["GIFT-SET"]["etsy"], 1)
    rig.poll("etsy")
    assert rig.on_hand() == {"MUG-BLUE": 8, "CARD-SET": 6, "GIFT-SET": 0}
    # Pushed by that one poll, before any other channel's own poll.
    assert rig.shows("MUG-BLUE") == dict.fromkeys(KINDS, 8)
    assert rig.shows("CARD-SET") == dict.fromkeys(KINDS, 6)
    assert rig.shows("GIFT-SET") == dict.fromkeys(KINDS, 3)
    with rig.app.sessions() as s:
        events = views.history(s, "MUG-BLUE") or []
    assert any(e.kind == "sale" and f"order {order}" in e.detail
               and "sold as GIFT-SET" in e.detail for e in events)


def test_a_shopify_bundle_order_deducts_each_component_once_never_the_parent(
        rig: Rig) -> None:
    shopify = rig.sb("shopify")
    for parent_lines in (False, True):  # the undocumented parent line, both ways
        shopify.bundle_parent_lines = parent_lines
        before = rig.on_hand()
        shopify.sell(rig.ids["GIFT-SET"]["shopify"], 1)
        rig.poll("shopify")
        after = rig.on_hand()
        assert (before["MUG-BLUE"] - after["MUG-BLUE"],
                before["CARD-SET"] - after["CARD-SET"]) == (1, 2), parent_lines
    assert rig.on_hand() == {"MUG-BLUE": 7, "CARD-SET": 4, "GIFT-SET": 0}
    assert rig.shows("GIFT-SET") == dict.fromkeys(KINDS, 2)
    assert rig.count(m.Push, m.Push.status == "failed") == 0


def test_a_bundle_cancelled_after_a_hand_restock_reverses_exactly_its_sale(rig: Rig) -> None:
    order = rig.sb("etsy").sell(rig.ids["GIFT-SET"]["etsy"], 2)
    rig.poll("etsy")
    assert rig.on_hand()["CARD-SET"] == 4
    rig.sb("shopify").hand_edit(rig.ids["CARD-SET"]["shopify"], 5)  # one card back, by hand
    for _ in range(2):
        assert rig.runner.reconcile("shopify")
    assert rig.on_hand()["CARD-SET"] == 5
    rig.sb("etsy").cancel(order, restock=True)
    rig.poll("etsy")
    rig.poll()
    assert rig.on_hand() == {"MUG-BLUE": 9, "CARD-SET": 9, "GIFT-SET": 0}
    assert rig.count(m.Movement, m.Movement.kind == "restock") == 2
    assert rig.shows("GIFT-SET") == dict.fromkeys(KINDS, 4)


def test_a_bundle_and_its_component_sold_at_once_alert_one_oversell_naming_both(
        rig: Rig) -> None:
    # Bring cards down to 2: one gift set left.
    order = rig.sb("gumroad").sell(rig.ids["CARD-SET"]["gumroad"], 6)
    rig.poll("gumroad")
    assert rig.shows("GIFT-SET") == dict.fromkeys(KINDS, 1)
    gift = rig.sb("etsy").sell(rig.ids["GIFT-SET"]["etsy"], 1)
    card = rig.sb("shopify").sell(rig.ids["CARD-SET"]["shopify"], 1)
    for _ in range(3):
        rig.poll()
    assert rig.on_hand()["CARD-SET"] == -1
    alerts = [a for a in _alerts(rig, "oversell")]
    assert len(alerts) == 1
    named = " ".join(alerts[0].fields["orders"])
    assert f"etsy:{gift}" in named and "sold as GIFT-SET" in named
    assert f"shopify:{card}" in named
    assert order not in named
    assert rig.count(m.Movement, m.Movement.kind == "sale") == 4  # 2 for the set, 2 cards


def test_a_hand_edit_of_a_bundle_listing_is_overwritten_with_one_alert(rig: Rig) -> None:
    rig.sb("gumroad").hand_edit(rig.ids["GIFT-SET"]["gumroad"], 9)
    for _ in range(4):
        assert rig.runner.reconcile("gumroad")
        rig.poll("gumroad")
    assert rig.shows("GIFT-SET")["gumroad"] == 4
    assert rig.on_hand() == {"MUG-BLUE": 9, "CARD-SET": 8, "GIFT-SET": 0}
    edits = _alerts(rig, "hand_edit")
    assert [(a.fields["listing"], a.fields["policy"]) for a in edits] == [
        (rig.ids["GIFT-SET"]["gumroad"], "overwrite")]


def _alerts(rig: Rig, event: str) -> list[m.Alert]:
    with rig.app.sessions() as s:
        return list(s.scalars(select(m.Alert).where(m.Alert.event == event)))


def test_status_and_history_show_the_bundle(rig: Rig) -> None:
    from oneshop import status_view

    order = rig.sb("gumroad").sell(rig.ids["GIFT-SET"]["gumroad"], 1)
    rig.poll("gumroad")
    with rig.app.sessions() as s:
        rows = {r["sku"]: r for r in status_view.skus(s, rig.app.config, rig.clock.now())}
        gift_history = views.history(s, "GIFT-SET") or []
    gift = rows["GIFT-SET"]
    assert gift["bundle"] == {"CARD-SET": 2, "MUG-BLUE": 1}
    assert (gift["adopted"], gift["on_hand"]) == (True, 3)
    # In step by our pushes ("pushed" until the next read confirms them).
    assert {a: (c["wants"], c["mark"] or "pushed") for a, c in gift["channels"].items()} == {
        "etsy": (3, "pushed"), "gumroad": (3, "pushed"), "shopify": (None, "channel bundle")}
    assert [e.detail for e in gift_history if e.kind == "bundle"] == [
        "made of 2 x CARD-SET + 1 x MUG-BLUE"]
    sold = sorted(e.detail for e in gift_history if e.kind == "sale")
    assert sold == [f"CARD-SET -2 gumroad order {order} (sold as GIFT-SET)",
                    f"MUG-BLUE -1 gumroad order {order} (sold as GIFT-SET)"]


def test_a_shopify_bundle_is_never_written_even_when_its_sku_is_plain_elsewhere(
        tmp_path: Path, database_url: str) -> None:
    """No oneshop bundle configured: GIFT-SET is a plain SKU on Etsy (its count adopted
    from there), and the Shopify variant of that SKU is a Shopify bundle. oneshop binds
    it but never writes it, and never adopts from it."""
    clock = VirtualClock()
    shop = SandboxShop(state_dir=tmp_path / "state", kinds=("etsy", "shopify"),
                       database_url=database_url, clock=clock.now)
    shopify: Any = shop.sandboxes["shopify"]
    mug = shopify.seed_listing("MUG-BLUE", 10)
    parent = shopify.add_bundle("GIFT-SET", [(mug, 1)])
    etsy = shop.sandboxes["etsy"].seed_listing("GIFT-SET", 3)
    shop.prepare_ledger()
    app = shop.build_app(clock=clock.now, sleep=clock.sleep)
    try:
        report = adopt_with(app, source=None, force=False)
        assert {a.sku: a.count for a in report.skus} == {"MUG-BLUE": 10, "GIFT-SET": 3}
        runner = Runner(app)
        assert runner.sync_once()
        shop.sandboxes["etsy"].sell(etsy, 1)
        clock.advance(5)
        assert runner.poll("etsy") and runner.poll("shopify")
        assert (shopify.quantity(parent), shopify.quantity(mug)) == (10, 10)
        with app.sessions() as s:
            bid = s.scalar(select(m.Binding.id).where(m.Binding.external_id == parent))
            sku = s.scalar(select(m.Sku.on_hand).where(m.Sku.sku == "GIFT-SET"))
            pushed = s.scalar(select(func.count()).select_from(m.Push)
                              .where(m.Push.binding_id == bid))
        assert bid is not None and sku == 2 and pushed == 0
    finally:
        app.close()
        shop.close()
