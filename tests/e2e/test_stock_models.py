"""Stock models end to end on the three sandboxes (docs/stock-models.md), from a shop with
history: orders, a cancellation, a refund and a hand edit on the channels before the
takeover. SQLite and PostgreSQL (ONESHOP_TEST_DATABASE_URL).

Alerts are counted over many polls: stored rows and logged lines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from structlog.testing import capture_logs

from oneshop import status_view
from oneshop.adopt import _plan
from oneshop.app import App
from oneshop.ledger import models as m
from oneshop.ledger import stock_models
from oneshop.plugins import available_connectors
from oneshop.service import Runner
from oneshop.testing import VirtualClock
from oneshop.testing.shop import KINDS, SandboxShop

pytestmark = pytest.mark.skipif(set(KINDS) - set(available_connectors()) != set(),
                                reason="needs the etsy, shopify and gumroad connectors")

def _next_monday(after: datetime) -> datetime:
    day = datetime(after.year, after.month, after.day, tzinfo=UTC)
    return day + timedelta(days=7 - day.weekday())


# The Wednesday noon (UTC) of next week: mid-week, and after the wall clock (which some
# order stamps still use), whatever day the test runs.
MONDAY = _next_monday(datetime.now(UTC))
START = MONDAY + timedelta(days=2, hours=12)
POLLS = 12
SKUS: dict[str, dict[str, Any]] = {
    "EBOOK": {"stock": "unlimited"},
    "VASE": {"stock": "made_to_order", "advertise": 5, "capacity_per_week": 3},
    "PRE": {"backorder": 3},
}


class Rig:
    def __init__(self, shop: SandboxShop, app: App, clock: VirtualClock,
                 ids: dict[str, dict[str, str]]) -> None:
        self.shop, self.app, self.clock, self.ids = shop, app, clock, ids
        self.runner = Runner(app)

    def box(self, kind: str) -> Any:
        return self.shop.sandboxes[kind]

    def shows(self, sku: str) -> dict[str, int | None]:
        """What a buyer can buy: an Etsy listing taken off sale (the zero-stock rule
        there) keeps its quantity but sells nothing."""
        return {k: 0 if k == "etsy" and self.box(k).listing_state(i) != "active"
                else self.box(k).quantity(i) for k, i in self.ids[sku].items()}

    def count(self, model: Any, *where: Any) -> int:
        with self.app.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    def sku(self, name: str) -> m.Sku:
        with self.app.sessions() as s:
            row = s.scalar(select(m.Sku).where(m.Sku.sku == name))
            assert row is not None
            return row

    def alerts(self, event: str) -> int:
        return self.count(m.Alert, m.Alert.event == event)

    def pushes(self, sku: str) -> int:
        return self.count(m.Push, m.Push.sku_id == self.sku(sku).id)

    def poll_all(self, every_s: float = 60.0) -> None:
        for kind in KINDS:
            self.clock.advance(every_s)
            assert self.runner.poll(kind), kind

    def reconcile_all(self) -> None:
        for kind in KINDS:
            self.clock.advance(60)
            assert self.runner.reconcile(kind), kind


def _history(shop: SandboxShop, ids: dict[str, dict[str, str]]) -> None:
    """Before oneshop: sales on every channel, a cancelled order, a refund, a hand edit."""
    etsy, shopify, gumroad = (shop.sandboxes[k] for k in KINDS)
    for kind in KINDS:
        shop.sandboxes[kind].sell(ids["MUG"][kind], 1)
    shopify.cancel(shopify.sell(ids["MUG"]["shopify"], 2))
    gumroad.refund(gumroad.sell(ids["MUG"]["gumroad"], 1))
    etsy.hand_edit(ids["MUG"]["etsy"], 6)
    gumroad.sell(ids["EBOOK"]["gumroad"], 2)
    shopify.sell(ids["EBOOK"]["shopify"], 1)
    etsy.sell(ids["VASE"]["etsy"], 1)


def _seed(shop: SandboxShop) -> dict[str, dict[str, str]]:
    etsy, shopify, gumroad = (shop.sandboxes[k] for k in KINDS)
    ids = {"MUG": shop.seed("MUG", 10), "VASE": shop.seed("VASE", 5),
           "PRE": shop.seed("PRE", 2),
           "EBOOK": {"etsy": etsy.seed_listing("EBOOK", 999),
                     "shopify": shopify.add_variant("EBOOK", None, tracked=False),
                     "gumroad": gumroad.add_product("E-book", permalink="EBOOK",
                                                    max_purchase_count=None)}}
    # Sold without a count, and no SKU of theirs is unlimited: candidates, never bound.
    ids["CANDIDATES"] = {
        "shopify": shopify.add_variant("GIFTWRAP", None, tracked=False),
        "gumroad": gumroad.add_product("Tee design", permalink="TEE-DIGI",
                                       max_purchase_count=None)}
    return ids


@pytest.fixture
def rig(tmp_path: Path, database_url: str) -> Iterator[Rig]:
    clock = VirtualClock(START)
    shop = SandboxShop(state_dir=tmp_path / "state", database_url=database_url,
                       clock=clock.now, skus=SKUS,
                       settings_overrides={"gumroad": {"requests_per_second": 50.0}})
    ids = _seed(shop)
    _history(shop, ids)
    clock.advance(3600)
    shop.prepare_ledger(take_over=True)
    app = shop.build_app(clock=clock.now, sleep=clock.sleep)
    made = Rig(shop, app, clock, ids)
    made.reconcile_all()
    made.poll_all()
    yield made
    app.close()
    shop.close()


def test_an_unlimited_sku_books_its_orders_and_is_never_written(rig: Rig) -> None:
    before = rig.count(m.Movement, m.Movement.kind == "sale",
                       m.Movement.sku_id == rig.sku("EBOOK").id)
    etsy_before = rig.box("etsy").quantity(rig.ids["EBOOK"]["etsy"])
    for _ in range(3):
        for kind in KINDS:
            rig.box(kind).sell(rig.ids["EBOOK"][kind], 1)
        rig.poll_all()
    for _ in range(POLLS):
        rig.poll_all()
    rig.reconcile_all()
    ebook = rig.sku("EBOOK")
    sales = rig.count(m.Movement, m.Movement.kind == "sale", m.Movement.sku_id == ebook.id)
    assert sales - before == 9, "every sale after the takeover is booked once"
    assert rig.count(m.OrderLine, m.OrderLine.sku_id == ebook.id) == 9 + 2, "+ history"
    assert rig.pushes("EBOOK") == 0, "an unlimited SKU is never written"
    assert rig.box("etsy").quantity(rig.ids["EBOOK"]["etsy"]) == etsy_before - 3
    assert rig.shows("EBOOK")["gumroad"] is None and rig.shows("EBOOK")["shopify"] is None
    assert ebook.on_hand < 0 and rig.alerts("oversell") == 0
    with rig.app.sessions() as s:
        listed = {c["listing"] for c in status_view.unlimited_candidates(s)}
        rows = {r["sku"]: r for r in status_view.skus(s, rig.app.config, rig.clock.now())}
    assert listed == set(rig.ids["CANDIDATES"].values())
    assert rows["EBOOK"]["stock"] == "unlimited"
    assert {c["mark"] for c in rows["EBOOK"]["channels"].values()} == {"not pushed"}


def test_unlimited_candidates_stay_unbound_and_the_dry_run_reports_them(rig: Rig) -> None:
    with rig.app.sessions() as s:
        bound = set(s.scalars(select(m.Binding.external_id)
                              .where(m.Binding.sku_id.is_not(None))))
    assert not bound & set(rig.ids["CANDIDATES"].values())
    assert set(rig.ids["EBOOK"].values()) <= bound, "its SKU is unlimited: bound"
    listed = {name: [li for page in conn.fetch_listings() for li in page.listings]
              for name, conn in rig.app.accounts.connectors.items()}
    with rig.app.sessions() as s:
        plan = _plan(s, rig.app, listed)
    assert {ext for _, ext, _ in plan.unlimited} == set(rig.ids["CANDIDATES"].values())
    vase = next(p for p in plan.skus if p.sku == "VASE")
    assert (vase.stock, dict(vase.options)) == ("made_to_order", {}), "never adopted"
    assert dict(vase.wants) == dict.fromkeys(KINDS, 5)


def test_made_to_order_shows_advertise_until_the_week_is_full_then_next_week(
        rig: Rig) -> None:
    assert rig.shows("VASE") == dict.fromkeys(KINDS, 5), "advertise, not a count"
    assert not rig.sku("VASE").capacity_full, "one sold before the takeover is history"
    with capture_logs() as logs:
        for kind in ("etsy", "shopify", "gumroad"):
            rig.box(kind).sell(rig.ids["VASE"][kind], 1)
            rig.poll_all()
        for _ in range(POLLS):
            rig.poll_all()
            rig.clock.advance(3600)
    assert rig.sku("VASE").capacity_full
    assert rig.shows("VASE") == dict.fromkeys(KINDS, 0)
    assert rig.alerts("capacity_reached") == 1 and rig.alerts("oversell") == 0
    told = [e for e in logs if e.get("event") == "capacity_reached" and e.get("alert")]
    assert [e["episode"] for e in told] == ["started"]
    # Monday 00:00 UTC: a new week. A channel is raised only after its own orders pull.
    rig.clock.set(MONDAY + timedelta(days=7, minutes=5))
    with capture_logs() as logs:
        assert rig.runner.poll("shopify")
        assert rig.shows("VASE") == {"etsy": 0, "shopify": 5, "gumroad": 0}, "not polled yet"
        rig.poll_all()
    assert rig.shows("VASE") == dict.fromkeys(KINDS, 5)
    assert not rig.sku("VASE").capacity_full
    resolved = [e for e in logs if e.get("event") == "capacity_reached"]
    assert [e["episode"] for e in resolved] == ["resolved"]


def test_a_hand_edit_of_a_made_to_order_listing_is_overwritten_not_adopted(rig: Rig) -> None:
    on_hand = rig.sku("VASE").on_hand
    rig.box("etsy").hand_edit(rig.ids["VASE"]["etsy"], 2)
    for _ in range(2):
        rig.reconcile_all()
    rig.poll_all()
    assert rig.shows("VASE") == dict.fromkeys(KINDS, 5)
    assert rig.sku("VASE").on_hand == on_hand
    assert rig.count(m.Movement, m.Movement.kind == "channel_edit",
                     m.Movement.sku_id == rig.sku("VASE").id) == 0


def test_backorders_publish_on_hand_plus_n_and_alert_only_below_minus_n(rig: Rig) -> None:
    assert rig.sku("PRE").on_hand == 2
    assert rig.shows("PRE") == dict.fromkeys(KINDS, 5), "2 on hand + 3 backorder"
    rig.box("etsy").sell(rig.ids["PRE"]["etsy"], 3)
    rig.poll_all()
    rig.box("shopify").sell(rig.ids["PRE"]["shopify"], 1)
    rig.poll_all()
    assert rig.sku("PRE").on_hand == -2
    assert rig.shows("PRE") == dict.fromkeys(KINDS, 1)
    assert rig.alerts("oversell") == 0, "-2 is within the 3 allowed"
    # The last backorder unit sells on two channels before either is pulled: -4 < -3.
    rig.box("gumroad").sell(rig.ids["PRE"]["gumroad"], 1)
    rig.box("shopify").sell(rig.ids["PRE"]["shopify"], 1)
    with capture_logs() as logs:
        for _ in range(POLLS):
            rig.poll_all()
    assert rig.sku("PRE").on_hand == -4
    assert rig.shows("PRE") == dict.fromkeys(KINDS, 0)
    assert rig.alerts("oversell") == 1
    told = [e for e in logs if e.get("event") == "oversell" and e.get("alert")]
    assert [e["episode"] for e in told] == ["started"] and told[0]["oversold"] == 1


def test_continue_selling_without_backorders_is_one_alert_and_never_written(
        rig: Rig) -> None:
    shopify = rig.box("shopify")
    shopify.set_inventory_policy(rig.ids["MUG"]["shopify"], "CONTINUE")
    shopify.set_inventory_policy(rig.ids["PRE"]["shopify"], "CONTINUE")  # backorder 3
    with capture_logs() as logs:
        for _ in range(POLLS):
            rig.reconcile_all()
            rig.clock.advance(3600)
    assert rig.alerts("channel_backorders") == 1
    told = [(e["episode"], e["sku"]) for e in logs if e.get("event") == "channel_backorders"]
    # 12 reconciles an hour apart: started once, reminded every 6 hours while it lasts.
    assert told[0] == ("started", "MUG") and set(told[1:]) <= {("reminder", "MUG")}
    assert len(told) <= 1 + POLLS // 6
    with shopify.state.lock:
        policies = {v.sku: v.inventory_policy for v in shopify.state.variants.values()}
    assert (policies["MUG"], policies["PRE"]) == ("CONTINUE", "CONTINUE"), "never written"
    shopify.set_inventory_policy(rig.ids["MUG"]["shopify"], "DENY")
    with capture_logs() as logs:
        for _ in range(3):
            rig.reconcile_all()
    told = [e for e in logs if e.get("event") == "channel_backorders"]
    assert [e["episode"] for e in told] == ["resolved"]


def test_the_week_counts_by_the_order_time_in_utc() -> None:
    start, name = stock_models.week_of(datetime(2026, 12, 6, 23, 59, tzinfo=UTC))
    assert (start, name) == (datetime(2026, 11, 30, tzinfo=UTC), "2026-W49")
    start, name = stock_models.week_of(datetime(2026, 12, 7, tzinfo=UTC) + timedelta(0))
    assert (start, name) == (datetime(2026, 12, 7, tzinfo=UTC), "2026-W50")


@pytest.mark.parametrize("decrements", [True, False], ids=["etsy-decrements",
                                                            "etsy-keeps-quantity"])
def test_an_etsy_made_to_order_listing_keeps_its_profile_and_shows_advertise(
        rig: Rig, decrements: bool) -> None:
    """Etsy: the listing's made-to-order processing profile (readiness_state_id) stays on
    every write; whether a sale takes a unit off such an offering is undocumented, so
    both readings (sandbox `made_to_order_sales_decrement`)."""
    etsy, vase = rig.box("etsy"), rig.ids["VASE"]["etsy"]
    etsy.made_to_order_sales_decrement = decrements
    profile = etsy.make_to_order(vase)
    rig.reconcile_all()
    etsy.sell(vase, 1)
    assert etsy.quantity(vase) == (4 if decrements else 5)
    for _ in range(3):
        rig.poll_all()
        rig.reconcile_all()
    assert rig.shows("VASE") == dict.fromkeys(KINDS, 5)
    assert etsy.readiness(vase) == "made_to_order"
    assert rig.alerts("hand_edit") == 0
    for kind in ("shopify", "gumroad"):  # the week fills up: 3 sold
        rig.box(kind).sell(rig.ids["VASE"][kind], 1)
        rig.poll_all()
    assert rig.shows("VASE") == dict.fromkeys(KINDS, 0)
    rig.clock.set(MONDAY + timedelta(days=7, minutes=5))
    for _ in range(2):
        rig.poll_all()
    assert rig.shows("VASE") == dict.fromkeys(KINDS, 5)
    with etsy.state.lock:
        listing, product = etsy.state.find_product(vase)
        assert (listing.state, product.offering.readiness_state_id) == ("active", profile)
