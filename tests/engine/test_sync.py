"""The engine against the real connectors and their sandboxes (in-process, real ledger)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from oneshop.app import App
from oneshop.ledger import models as m
from oneshop.plugins import available_connectors
from oneshop.service import Runner
from oneshop.testing import VirtualClock
from oneshop.testing.shop import KINDS, SandboxShop

KINDS_HERE = tuple(k for k in KINDS if k in available_connectors())


class Rig:
    def __init__(self, shop: SandboxShop, app: App) -> None:
        self.shop, self.app, self.runner = shop, app, Runner(app)

    def on_hand(self, sku: str) -> int:
        with self.app.sessions() as s:
            return int(s.scalar(select(m.Sku.on_hand).where(m.Sku.sku == sku)) or 0)

    def qty(self, kind: str, ids: dict[str, str]) -> int | None:
        return self.shop.sandboxes[kind].quantity(ids[kind])

    def alerts(self, event: str) -> list[m.Alert]:
        with self.app.sessions() as s:
            return list(s.scalars(select(m.Alert).where(m.Alert.event == event)))

    def poll_all(self) -> None:
        for kind in self.shop.kinds:
            assert self.runner.poll(kind), kind


@pytest.fixture
def rig(tmp_path: Path, database_url: str) -> Iterator[Rig]:
    clock = VirtualClock()
    shop = SandboxShop(state_dir=tmp_path / "state", kinds=KINDS_HERE,
                       database_url=database_url, clock=clock.now)
    shop.prepare_ledger()
    app = shop.build_app(clock=clock.now, sleep=clock.sleep)
    yield Rig(shop, app)
    app.close()
    shop.close()


def start(rig: Rig, sku: str, qty: int) -> dict[str, str]:
    ids = rig.shop.seed(sku, qty)
    for kind in rig.shop.kinds:
        assert rig.runner.reconcile(kind, link=True)
    assert rig.on_hand(sku) == qty
    return ids


def test_a_sale_on_one_channel_reaches_every_other_before_their_next_poll(rig: Rig) -> None:
    for seller in rig.shop.kinds:
        sku = f"MUG-{seller}"
        ids = start(rig, sku, 5)
        rig.shop.sandboxes[seller].sell(ids[seller], 2)
        assert rig.runner.poll(seller)
        assert rig.on_hand(sku) == 3
        assert {k: rig.qty(k, ids) for k in rig.shop.kinds} == dict.fromkeys(rig.shop.kinds, 3)


def test_overlapping_polls_book_nothing_twice(rig: Rig) -> None:
    ids = start(rig, "CARD", 10)
    seller = rig.shop.kinds[0]
    rig.shop.sandboxes[seller].sell(ids[seller], 1)
    for _ in range(3):
        rig.poll_all()
    assert rig.on_hand("CARD") == 9
    with rig.app.sessions() as s:
        assert s.scalar(select(func.count()).select_from(m.Movement)
                        .where(m.Movement.kind == "sale")) == 1


def test_an_idle_cycle_pushes_nothing(rig: Rig) -> None:
    start(rig, "IDLE", 4)
    before = {k: s.writes for k, s in rig.shop.sandboxes.items()}
    rig.poll_all()
    assert {k: s.writes for k, s in rig.shop.sandboxes.items()} == before


def test_a_cancellation_restocks_and_raises_other_channels_only_after_their_pull(
        rig: Rig) -> None:
    ids = start(rig, "RING", 2)
    seller, other = rig.shop.kinds[0], rig.shop.kinds[1]
    order = rig.shop.sandboxes[seller].sell(ids[seller], 1)
    assert rig.runner.poll(seller)
    assert rig.qty(other, ids) == 1
    rig.shop.sandboxes[seller].cancel(order, restock=True)
    assert rig.runner.poll(seller)
    assert rig.on_hand("RING") == 2
    assert rig.qty(other, ids) == 1, "raised before the channel's own orders were pulled"
    assert rig.runner.poll(other)
    assert rig.qty(other, ids) == 2


def test_the_last_unit_sold_on_two_channels_raises_one_oversell_alert(rig: Rig) -> None:
    ids = start(rig, "LAST", 1)
    a, b = rig.shop.kinds[0], rig.shop.kinds[1]
    order_a = rig.shop.sandboxes[a].sell(ids[a], 1)
    order_b = rig.shop.sandboxes[b].sell(ids[b], 1)
    rig.poll_all()
    rig.poll_all()
    assert rig.on_hand("LAST") == -1
    (alert,) = rig.alerts("oversell")
    assert {f"{a}:{order_a} x1", f"{b}:{order_b} x1"} == set(alert.fields["orders"])
    assert "adjust LAST" in alert.fields["action"]


def test_a_hand_edit_is_adopted_after_it_is_confirmed(rig: Rig) -> None:
    ids = start(rig, "EDIT", 3)
    editor, other = rig.shop.kinds[-1], rig.shop.kinds[0]
    rig.shop.sandboxes[editor].hand_edit(ids[editor], 7)
    assert rig.runner.reconcile(editor)
    assert rig.on_hand("EDIT") == 3, "one sighting must not be folded in"
    assert rig.runner.reconcile(editor)
    assert rig.on_hand("EDIT") == 7
    assert rig.runner.poll(other)
    assert rig.qty(other, ids) == 7


def test_revoked_credentials_pause_only_that_account(rig: Rig) -> None:
    ids = start(rig, "AUTH", 3)
    bad, good = rig.shop.kinds[0], rig.shop.kinds[1]
    rig.shop.sandboxes[bad].revoke_credentials()
    rig.shop.sandboxes[good].sell(ids[good], 1)
    assert not rig.runner.poll(bad)
    assert rig.runner.poll(good)
    assert rig.on_hand("AUTH") == 2
    assert len(rig.alerts("oversell")) == 0
    with rig.app.sessions() as s:
        state = s.get(m.AccountState, bad)
        assert state is not None and state.paused


def test_a_channel_failing_with_500s_does_not_stop_the_others(rig: Rig) -> None:
    ids = start(rig, "FAIL", 3)
    broken, fine = rig.shop.kinds[0], rig.shop.kinds[1]
    rig.shop.sandboxes[broken].fail_next(50, status=500)
    rig.shop.sandboxes[fine].sell(ids[fine], 1)
    assert not rig.runner.poll(broken)
    assert rig.runner.poll(fine)
    assert rig.on_hand("FAIL") == 2


def test_a_low_daily_budget_raises_one_budget_low_alert(rig: Rig) -> None:
    if "etsy" not in rig.shop.kinds:
        pytest.skip("needs the etsy connector")
    start(rig, "BUDGET", 2)
    rig.shop.sandboxes["etsy"].set_rate_limits(per_day=8)  # type: ignore[attr-defined]
    for _ in range(4):
        rig.runner.poll("etsy")
    (alert,) = rig.alerts("budget_low")
    assert alert.account == "etsy" and alert.fields["limit"] == 8


def test_a_sale_on_an_unlinked_listing_is_booked_once_when_it_is_linked(rig: Rig) -> None:
    from oneshop.ledger import catalog
    from oneshop.ledger.db import transaction

    ids = start(rig, "LOOSE", 4)
    seller = rig.shop.kinds[-1]
    with transaction(rig.app.sessions) as s:
        assert catalog.unlink(s, seller, ids[seller])
    rig.shop.sandboxes[seller].sell(ids[seller], 2)
    assert rig.runner.poll(seller)
    assert rig.on_hand("LOOSE") == 4
    assert len(rig.alerts("unlinked_listing")) == 1
    for _ in range(2):
        with transaction(rig.app.sessions) as s:
            assert catalog.link(s, seller, ids[seller], "LOOSE")
    assert rig.on_hand("LOOSE") == 2
    assert rig.runner.poll(seller)
    assert rig.on_hand("LOOSE") == 2


def test_a_channel_not_polled_for_too_long_raises_one_channel_stale_alert(rig: Rig) -> None:
    start(rig, "STALE", 1)
    kind = rig.shop.kinds[0]
    assert rig.runner.poll(kind)
    rig.runner.check_stale()
    assert rig.alerts("channel_stale") == []
    clock = rig.app.clock.__self__  # type: ignore[attr-defined]
    clock.advance(60 * 10 + 1)  # default: 10 missed polls of 60 s
    rig.runner.check_stale()
    rig.runner.check_stale()
    stale = rig.alerts("channel_stale")
    assert {a.account for a in stale} == set(rig.shop.kinds)
    assert len(stale) == len(rig.shop.kinds), "one alert per stale episode, not per check"


def test_sales_found_by_a_stale_push_reach_the_other_channels_at_once(rig: Rig) -> None:
    # Shopify's compare-and-set refuses a push because a sale moved its quantity; the
    # pull that follows finds another Shopify sale too, which must not wait for
    # Shopify's own poll before the other channels hear of it.
    if "shopify" not in rig.shop.kinds or len(rig.shop.kinds) < 3:
        pytest.skip("needs Shopify and two other channels")
    seller, bystander = (k for k in rig.shop.kinds if k != "shopify")
    a, b = start(rig, "STALE-A", 3), start(rig, "STALE-B", 3)
    shopify = rig.shop.sandboxes["shopify"]
    shopify.sell(a["shopify"], 1)
    shopify.sell(b["shopify"], 1)
    rig.shop.sandboxes[seller].sell(b[seller], 1)
    assert rig.runner.poll(seller)  # its push of B to Shopify comes back stale
    assert rig.on_hand("STALE-A") == 2
    assert rig.qty(bystander, a) == 2, "Shopify's sale of A was booked but not pushed"
    assert rig.qty(seller, a) == 2
    assert rig.on_hand("STALE-B") == 1
    assert {k: rig.qty(k, b) for k in rig.shop.kinds} == dict.fromkeys(rig.shop.kinds, 1)


def test_a_long_pull_books_every_page_then_pushes_each_sku_once(
        tmp_path: Path, database_url: str) -> None:
    # Pushing after every page made later pages wait for the pushes of earlier ones, and
    # a SKU sold on several pages was pushed once per page.
    if "shopify" not in KINDS_HERE or len(KINDS_HERE) < 2:
        pytest.skip("needs Shopify and another channel")
    clock = VirtualClock()
    shop = SandboxShop(state_dir=tmp_path / "state", kinds=KINDS_HERE,
                       database_url=database_url, clock=clock.now)
    shop.settings_overrides = {"shopify": {"page_size": 2}}
    shop.prepare_ledger()
    app = shop.build_app(clock=clock.now, sleep=clock.sleep)
    try:
        rig = Rig(shop, app)
        ids = start(rig, "PAGES", 20)
        for _ in range(7):  # seven orders: four pages of two
            shop.sandboxes["shopify"].sell(ids["shopify"], 1)
        others = [k for k in shop.kinds if k != "shopify"]
        before = {k: shop.sandboxes[k].writes for k in others}
        assert rig.runner.poll("shopify")
        assert rig.on_hand("PAGES") == 13
        assert {k: rig.qty(k, ids) for k in others} == dict.fromkeys(others, 13)
        assert {k: shop.sandboxes[k].writes - before[k] for k in others} == \
            dict.fromkeys(others, 1)
    finally:
        app.close()
        shop.close()


def test_a_poll_waits_for_its_account_instead_of_skipping_its_turn(rig: Rig) -> None:
    # Another job (a pull pushing into this account) holds it for a moment.
    import threading

    ids = start(rig, "WAIT", 3)
    seller = rig.shop.kinds[0]
    rig.shop.sandboxes[seller].sell(ids[seller], 1)
    held, release = threading.Event(), threading.Event()

    def other_job() -> None:
        with rig.app.accounts.hold(seller) as owned:
            assert owned
            held.set()
            release.wait(5)

    worker = threading.Thread(target=other_job)
    worker.start()
    held.wait(5)
    threading.Timer(0.3, release.set).start()
    assert rig.runner.poll(seller), "the poll gave up while the account was busy"
    worker.join()
    assert rig.on_hand("WAIT") == 2
