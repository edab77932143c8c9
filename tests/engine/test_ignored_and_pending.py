"""Ignored listings, one SKU on many listings (`bind_all`), and sales waiting for a link
(docs/listings.md), each from a shop with history: orders, cancellations and a hand edit
on every channel before the takeover, on the three sandboxes, SQLite and PostgreSQL.

Counts, not presence: alert rows and lines over many polls, units booked, writes made.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from structlog.testing import capture_logs

from oneshop import listing_status
from oneshop.adopt import adopt_with
from oneshop.app import App
from oneshop.errors import OneshopError
from oneshop.ledger import models as m
from oneshop.ledger import views
from oneshop.listings import ignore_listing, link_listing, read_listings, unignore_listing
from oneshop.service import Runner
from oneshop.testing import VirtualClock
from oneshop.testing.shop import SandboxShop

KINDS = ("etsy", "shopify", "gumroad")
GLOBS = ["SAMPLE-*", "*-DRAFT"]


@dataclass
class Rig:
    shop: SandboxShop
    app: App
    clock: VirtualClock
    runner: Runner
    ids: dict[str, dict[str, str]]

    def sandbox(self, kind: str) -> Any:
        return self.shop.sandboxes[kind]

    def poll_all(self) -> None:
        for kind in KINDS:
            self.clock.advance(30)
            assert self.runner.poll(kind)

    def on_hand(self, sku: str) -> int | None:
        with self.app.sessions() as s:
            found: int | None = s.scalar(select(m.Sku.on_hand).where(m.Sku.sku == sku))
            return found

    def count(self, model: Any, *where: Any) -> int:
        with self.app.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    def alerts(self, event: str) -> list[m.Alert]:
        with self.app.sessions() as s:
            return list(s.scalars(select(m.Alert).where(m.Alert.event == event)))

    def shows(self, kind: str, sku: str) -> int | None:
        q: int | None = self.sandbox(kind).quantity(self.ids[sku][kind])
        return q

    def pushes_to(self, kind: str, listing: str) -> int:
        return self.count(m.Push, m.Push.account == kind, m.Push.binding_id.in_(
            select(m.Binding.id).where(m.Binding.account == kind,
                                       m.Binding.external_id == listing)))


def _history(rig: Rig) -> None:
    """A week of trade before oneshop: sales, a cancellation with restock and a hand
    edit on every channel, on the synced SKUs and on the samples alike."""
    for day in range(6):
        for n, kind in enumerate(KINDS):
            sku = ("MUG", "SAMPLE-1", "CARD")[(day + n) % 3]
            order = rig.sandbox(kind).sell(rig.ids[sku][kind], 1)
            if day == 2:
                rig.sandbox(kind).cancel(order, restock=True)
        rig.clock.advance(6 * 3600)
    for kind in ("etsy", "shopify"):
        rig.sandbox(kind).hand_edit(rig.ids["MUG"][kind], 37)


def make_rig(tmp_path: Path, database_url: str, **options: Any) -> Rig:
    # The history is a week old; the takeover comes a day and a half after it.
    clock = VirtualClock(datetime.now(UTC).replace(microsecond=0) - timedelta(days=8))
    shop = SandboxShop(state_dir=tmp_path / "state", kinds=KINDS, database_url=database_url,
                       clock=clock.now, account_options=options)
    ids: dict[str, dict[str, str]] = {}
    for sku, qty in {"MUG": 40, "CARD": 12, "SAMPLE-1": 15}.items():
        ids[sku] = {k: shop.sandboxes[k].seed_listing(sku, qty) for k in ("etsy", "shopify")}
        gumroad: Any = shop.sandboxes["gumroad"]  # no SKU field: linked by hand
        ids[sku]["gumroad"] = gumroad.add_product(f"{sku} (gumroad)", max_purchase_count=qty)
    shop.prepare_ledger()
    app = shop.build_app(clock=clock.now, sleep=clock.sleep)
    rig = Rig(shop=shop, app=app, clock=clock, runner=Runner(app), ids=ids)
    _history(rig)
    clock.advance(36 * 3600)
    read_listings(app, ["gumroad"])
    for sku in ("MUG", "CARD"):
        link_listing(app, "gumroad", ids[sku]["gumroad"], sku, create=True, rebind=False)
    adopt_with(app, source=None, force=False)
    assert rig.count(m.Movement, m.Movement.kind == "sale") == 0, "history booked as sales"
    assert rig.count(m.Movement, m.Movement.kind == "history") >= 12
    return rig


@pytest.fixture
def rig(tmp_path: Path, database_url: str) -> Iterator[Rig]:
    made = make_rig(tmp_path, database_url, ignore=GLOBS)
    yield made
    made.app.close()
    made.shop.close()


def lines(logs: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return [e for e in logs if e.get("event") == event and e.get("alert")]


def test_an_ignored_listing_is_never_written_and_its_sales_move_no_stock(rig: Rig) -> None:
    mug = rig.on_hand("MUG")
    assert mug is not None and rig.on_hand("SAMPLE-1") is None, "a sample was adopted"
    before = {k: rig.shows(k, "SAMPLE-1") for k in ("etsy", "shopify")}
    assert rig.runner.sync_once()
    with capture_logs() as logs:
        for _ in range(5):
            for kind in ("etsy", "shopify"):
                rig.sandbox(kind).sell(rig.ids["SAMPLE-1"][kind], 1)
            rig.sandbox("etsy").hand_edit(rig.ids["SAMPLE-1"]["etsy"], 9)  # a hand edit
            rig.poll_all()
            for kind in KINDS:
                assert rig.runner.reconcile(kind, link=True)
    assert rig.on_hand("MUG") == mug and rig.on_hand("SAMPLE-1") is None
    assert rig.count(m.Movement, m.Movement.kind.in_(("sale", "channel_edit"))) == 0
    for kind in ("etsy", "shopify"):
        listing = rig.ids["SAMPLE-1"][kind]
        assert rig.pushes_to(kind, listing) == 0, f"an ignored listing was written on {kind}"
        stored = rig.count(m.OrderLine, m.OrderLine.listing_external_id == listing)
        assert stored >= 5, "an ignored listing's orders were not stored"
    assert rig.shows("etsy", "SAMPLE-1") == 9  # the seller's edit stands, not adopted
    assert rig.shows("shopify", "SAMPLE-1") == (before["shopify"] or 0) - 5
    samples = {rig.ids["SAMPLE-1"][k] for k in ("etsy", "shopify")}
    assert not [a for a in rig.alerts("unlinked_listing") if a.fields.get("listing") in samples]
    assert not lines(logs, "unlinked_listing") and not lines(logs, "hand_edit")
    with rig.app.sessions() as s:
        shown = listing_status.collect(s)["ignored"]
    assert {(r["account"], r["why"]) for r in shown} == {("etsy", "config"),
                                                           ("shopify", "config")}
    assert all(r["order_lines"] >= 5 for r in shown)


def test_ignore_by_hand_then_unignore_resumes_with_the_ledgers_count(rig: Rig) -> None:
    assert rig.runner.sync_once()
    mug = rig.on_hand("MUG")
    assert mug is not None
    listing = rig.ids["MUG"]["shopify"]
    ignore_listing(rig.app, "shopify", listing)
    writes = rig.pushes_to("shopify", listing)
    for _ in range(3):
        rig.sandbox("shopify").sell(listing, 2)  # sold while ignored: no stock moves
        rig.sandbox("etsy").sell(rig.ids["MUG"]["etsy"], 1)  # a real sale elsewhere
        rig.poll_all()
    mug -= 3
    assert rig.on_hand("MUG") == mug
    assert rig.pushes_to("shopify", listing) == writes, "an ignored listing was written"
    assert rig.shows("gumroad", "MUG") == mug, "the other channels did not follow"
    with pytest.raises(OneshopError, match="unignore"):
        link_listing(rig.app, "shopify", listing, "MUG", create=False, rebind=False)

    note = unignore_listing(rig.app, "shopify", listing)
    assert note.startswith("bound to MUG")
    rig.poll_all()
    assert rig.on_hand("MUG") == mug, "sales made while ignored were booked"
    assert rig.shows("shopify", "MUG") == mug, "not told the ledger's count on resuming"
    rig.sandbox("shopify").sell(listing, 1)  # after unignore: a sale like any other
    rig.poll_all()
    assert rig.on_hand("MUG") == mug - 1
    assert rig.count(m.Movement, m.Movement.kind == "channel_edit") == 0


def test_unignoring_a_sample_does_not_adopt_the_channels_count(rig: Rig) -> None:
    assert rig.runner.sync_once()
    listing = rig.ids["SAMPLE-1"]["etsy"]
    shows = rig.shows("etsy", "SAMPLE-1")
    note = unignore_listing(rig.app, "etsy", listing)  # beats the glob
    assert "not adopted" in note
    for kind in KINDS:
        assert rig.runner.reconcile(kind, link=True)
    rig.poll_all()
    assert rig.on_hand("SAMPLE-1") == 0 and rig.pushes_to("etsy", listing) == 0
    assert rig.shows("etsy", "SAMPLE-1") == shows
    # Still ignored on Shopify: the glob holds there.
    assert rig.pushes_to("shopify", rig.ids["SAMPLE-1"]["shopify"]) == 0


def test_sales_waiting_for_a_link_are_booked_once_with_their_times(rig: Rig) -> None:
    """20 sales on an unlinked Gumroad product over 10 polls: one alert row and one line;
    the link books the 20 units once, at the orders' own times, and pushes them."""
    gumroad: Any = rig.sandbox("gumroad")
    loose = gumroad.add_product("PRINT (gumroad)", max_purchase_count=40)
    mug = rig.on_hand("MUG")
    assert mug is not None
    with capture_logs() as logs:
        for kind in KINDS:  # found with no SKU: the episode starts here
            assert rig.runner.reconcile(kind, link=True)
        assert rig.runner.sync_once()
        for _ in range(10):
            gumroad.sell(loose, 1)
            gumroad.sell(loose, 1)
            rig.poll_all()
    assert rig.on_hand("MUG") == mug
    rows = [a for a in rig.alerts("unlinked_listing") if a.fields.get("listing") == loose]
    assert len(rows) == 1 and rows[0].resolved_at is None
    assert len([e for e in lines(logs, "unlinked_listing") if e.get("listing") == loose]) == 1
    with rig.app.sessions() as s:
        waiting = listing_status.collect(s)["pending"]
    assert [(w["listing"], w["sales"], w["units"]) for w in waiting] == [(loose, 20, 20)]

    assert rig.runner.reconcile("gumroad")  # a read after the sales: the belief's base
    writes = {k: rig.sandbox(k).writes for k in KINDS}
    note = link_listing(rig.app, "gumroad", loose, "MUG", create=False, rebind=False)
    assert "20 unit(s)" in note
    assert rig.on_hand("MUG") == mug - 20
    for kind in ("etsy", "shopify"):
        assert rig.shows(kind, "MUG") == mug - 20, f"{kind} not pushed at the link"
        assert rig.sandbox(kind).writes > writes[kind]
    with rig.app.sessions() as s:
        times = s.execute(select(m.Movement.created_at, m.Order.created_at).join(
            m.Order, (m.Order.external_id == m.Movement.order_external_id)
            & (m.Order.account == m.Movement.account))
            .where(m.Movement.kind == "sale", m.Movement.account == "gumroad")).all()
    assert len(times) == 20 and all(booked == made for booked, made in times)
    with rig.app.sessions() as s:
        shown = [e for e in views.history(s, "MUG") or [] if "pending until" in e.detail]
    assert len(shown) == 20 and {e.kind for e in shown} == {"sale"}
    (row,) = [a for a in rig.alerts("unlinked_listing") if a.fields.get("listing") == loose]
    assert row.resolved_at is not None

    link_listing(rig.app, "gumroad", loose, "MUG", create=False, rebind=False)  # again
    rig.poll_all()
    for _ in range(2):  # a hand edit is folded in on its second sighting
        rig.clock.advance(600)
        for kind in KINDS:
            assert rig.runner.reconcile(kind)
    assert rig.on_hand("MUG") == mug - 20, "pending sales booked twice"
    assert rig.count(m.Movement, m.Movement.kind == "channel_edit") == 0, \
        "the product's own sales taken for a hand edit"
    assert gumroad.quantity(loose) == mug - 20
    assert rig.count(m.Movement, m.Movement.kind == "sale") == 20
    with rig.app.sessions() as s:
        assert listing_status.collect(s)["pending"] == []


def test_a_glob_removed_resumes_its_listings_without_adopting_them(
        tmp_path: Path, database_url: str) -> None:
    """The seller deletes `ignore` from the config: the samples resume like an unignore,
    their SKU not adopted from the channel (the discovery's `adopt_new` does not apply)."""
    rig = make_rig(tmp_path, database_url, ignore=GLOBS)
    try:
        assert rig.runner.sync_once()
        rig.sandbox("etsy").sell(rig.ids["SAMPLE-1"]["etsy"], 1)
        rig.poll_all()
        rig.app.close()
        rig.shop.account_options = {}
        rig.app = rig.shop.build_app(clock=rig.clock.now, sleep=rig.clock.sleep)
        rig.runner = Runner(rig.app)
        for kind in KINDS:
            assert rig.runner.reconcile(kind, link=True)
        rig.poll_all()
        with rig.app.sessions() as s:
            why = {ext: w for ext, w in s.execute(select(m.Binding.external_id,
                                                         m.Binding.ignored))}
            assert listing_status.collect(s)["ignored"] == []
        assert {why[rig.ids["SAMPLE-1"][k]] for k in ("etsy", "shopify")} == {"resumed"}
        assert rig.count(m.Binding, m.Binding.sku_id.is_not(None), m.Binding.external_id.in_(
            [rig.ids["SAMPLE-1"][k] for k in ("etsy", "shopify")])) == 2
        sample = rig.on_hand("SAMPLE-1")
        with rig.app.sessions() as s:
            adopted = s.scalar(select(m.Sku.adopted_at).where(m.Sku.sku == "SAMPLE-1"))
        assert adopted is None and sample == 0, "adopted from the channel on its own"
        assert rig.count(m.Push, m.Push.sku_id.in_(
            select(m.Sku.id).where(m.Sku.sku == "SAMPLE-1"))) == 0
    finally:
        rig.app.close()
        rig.shop.close()


@pytest.fixture
def twins(tmp_path: Path, database_url: str) -> Iterator[Rig]:
    clock = VirtualClock()
    shop = SandboxShop(state_dir=tmp_path / "state", kinds=KINDS, database_url=database_url,
                       clock=clock.now, account_options={"duplicate_skus": "bind_all"})
    ids = {"TWIN": {k: shop.sandboxes[k].seed_listing("TWIN", 10)
                    for k in ("etsy", "shopify")},
           "TWIN2": {"shopify": shop.sandboxes["shopify"].seed_listing("TWIN", 10)}}
    shop.prepare_ledger()
    app = shop.build_app(clock=clock.now, sleep=clock.sleep)
    rig = Rig(shop=shop, app=app, clock=clock, runner=Runner(app), ids=ids)
    for _ in range(2):  # history on both Shopify listings, a cancellation on one
        shop.sandboxes["shopify"].sell(ids["TWIN"]["shopify"], 1)
        shop.sandboxes["shopify"].sell(ids["TWIN2"]["shopify"], 1)
    shop.sandboxes["shopify"].cancel(shop.sandboxes["shopify"].sell(ids["TWIN"]["shopify"], 1),
                                     restock=True)
    clock.advance(3600)
    adopt_with(app, source=None, force=False)
    yield rig
    app.close()
    shop.close()


def test_bind_all_binds_every_listing_and_deducts_a_sale_once(twins: Rig) -> None:
    rig = twins
    assert rig.on_hand("TWIN") == 8  # the lowest channel count at the takeover
    assert rig.count(m.Binding, m.Binding.account == "shopify",
                     m.Binding.sku_id.is_not(None)) == 2
    assert rig.alerts("duplicate_sku") == []
    assert rig.runner.sync_once()
    shopify = rig.sandbox("shopify")
    assert {shopify.quantity(rig.ids[t]["shopify"]) for t in ("TWIN", "TWIN2")} == {8}
    for n in range(3):
        shopify.sell(rig.ids["TWIN2" if n % 2 else "TWIN"]["shopify"], 1)
        rig.poll_all()
    assert rig.on_hand("TWIN") == 5
    assert rig.count(m.Movement, m.Movement.kind == "sale") == 3
    assert {shopify.quantity(rig.ids[t]["shopify"]) for t in ("TWIN", "TWIN2")} == {5}
    assert rig.shows("etsy", "TWIN") == 5
