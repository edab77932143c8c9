"""An idle poll's push plan looks only at what may have moved (issue 19.4): the SKUs of
new movements and push answers, what it found out of step last time, and the whole
account after a read, an operator change (`account_state.request_full_plan`) or
`marks.FULL_PLAN_S`. A change outside that list, made here by writing a belief straight
into the ledger, shows which plans read everything and which did not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from oneshop.adopt import adopt_with
from oneshop.app import App
from oneshop.ledger import account_state
from oneshop.ledger import models as m
from oneshop.ledger.db import transaction
from oneshop.listings import link_listing
from oneshop.service import Runner
from oneshop.sync import marks
from oneshop.testing import VirtualClock
from oneshop.testing.shop import KINDS, SandboxShop


class Shop:
    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.clock = VirtualClock()
        self.shop = SandboxShop(state_dir=tmp_path / "state", database_url=database_url,
                                clock=self.clock.now)
        self.shop.prepare_ledger()
        # A shop with history: sales on every channel before the takeover.
        self.ids = {sku: self.shop.seed(sku, 6) for sku in ("MUG", "VASE", "CARD")}
        for kind in KINDS:
            self.shop.sandboxes[kind].sell(self.ids["VASE"][kind], 1)
        self.app = self.build()
        adopt_with(self.app, source=None, force=False)
        self.runner = Runner(self.app)
        assert self.runner.sync_once()

    def build(self) -> App:
        return self.shop.build_app(clock=self.clock.now, sleep=self.clock.sleep)

    def poll(self, kind: str) -> None:
        self.clock.advance(60)
        assert self.runner.poll(kind)

    def etsy_pushes(self, sku: str) -> int:
        with self.app.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(m.Push).join(m.Sku).where(
                m.Push.account == "etsy", m.Sku.sku == sku)) or 0)

    def believe_unseen(self, sku: str, quantity: int) -> None:
        """What no movement, push, read or operator change says: the Etsy listing's
        belief, changed in the ledger behind the engine's back."""
        with transaction(self.app.sessions) as s:
            sku_id = s.scalar(select(m.Sku.id).where(m.Sku.sku == sku))
            s.execute(update(m.Binding).where(m.Binding.account == "etsy",
                                              m.Binding.sku_id == sku_id)
                      .values(observed_qty=quantity))


@pytest.fixture
def shop(tmp_path: Path, database_url: str) -> Iterator[Shop]:
    made = Shop(tmp_path, database_url)
    yield made
    made.app.close()
    made.shop.close()


def test_an_idle_poll_looks_only_at_what_moved(shop: Shop) -> None:
    shop.poll("etsy")  # a first plan reads the whole account
    shop.believe_unseen("MUG", 2)
    before = shop.etsy_pushes("MUG")
    for _ in range(5):
        shop.poll("etsy")
    assert shop.etsy_pushes("MUG") == before, "an idle plan read every listing"
    # A sale elsewhere is a movement: its SKU is looked at, and only it.
    shop.shop.sandboxes["shopify"].sell(shop.ids["CARD"]["shopify"], 1)
    shop.poll("shopify")
    shop.poll("etsy")
    assert shop.shop.sandboxes["etsy"].quantity(shop.ids["CARD"]["etsy"]) == 5
    assert shop.etsy_pushes("MUG") == before
    # An operator change from another process: the next plan reads everything.
    with transaction(shop.app.sessions) as s:
        account_state.request_full_plan(s, "etsy")
    shop.poll("etsy")
    assert shop.etsy_pushes("MUG") > before


def test_a_whole_account_plan_comes_back_after_full_plan_s(shop: Shop) -> None:
    shop.poll("etsy")
    shop.believe_unseen("MUG", 2)
    shop.poll("etsy")
    before = shop.etsy_pushes("MUG")
    shop.clock.advance(marks.FULL_PLAN_S)
    shop.poll("etsy")
    assert shop.etsy_pushes("MUG") > before


def test_a_reconcile_is_followed_by_a_whole_account_plan(shop: Shop) -> None:
    shop.poll("etsy")
    shop.believe_unseen("MUG", 2)
    assert shop.runner.reconcile("etsy")  # reads 5: the listing's truth is back
    shop.believe_unseen("MUG", 2)  # and then changed behind our back again
    before = shop.etsy_pushes("MUG")
    shop.poll("etsy")
    assert shop.etsy_pushes("MUG") > before


def test_a_link_made_by_another_process_goes_out_at_the_next_poll(shop: Shop) -> None:
    etsy = shop.shop.sandboxes["etsy"]
    new = etsy.seed_listing("LAMP-OLD-CODE", 9)
    shop.clock.advance(60)
    assert shop.runner.reconcile("etsy")
    shop.poll("etsy")
    other = shop.build()  # `oneshop link` runs in its own process
    try:
        link_listing(other, "etsy", new, "MUG", create=False, rebind=False)
    finally:
        other.close()
    shop.poll("etsy")
    assert etsy.quantity(new) == 6, "the linked listing was not told MUG's count"
