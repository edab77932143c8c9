"""The bulk-zero guard and the seller's hand edits: units typed over an oversold
listing go back to 0 unheld (oneshop published 0 all along); an adjustment that zeroes
units a hand edit brought in is still held like any other."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from oneshop.adopt import adopt_with
from oneshop.ledger import models as m
from oneshop.ledger import stock
from oneshop.ledger.db import transaction
from oneshop.service import Runner
from oneshop.testing import VirtualClock
from oneshop.testing.shop import SandboxShop

SKUS = [f"SKU-{n}" for n in range(6)]


class Shop:
    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.clock = VirtualClock()
        self.shop = SandboxShop(state_dir=tmp_path / "state", database_url=database_url,
                                clock=self.clock.now)
        self.shop.prepare_ledger()
        self.ids = {sku: self.shop.seed(sku, 1) for sku in SKUS}
        self.app = self.shop.build_app(clock=self.clock.now, sleep=self.clock.sleep)
        adopt_with(self.app, source=None, force=False)
        self.runner = Runner(self.app)
        assert self.runner.sync_once()

    def sb(self, kind: str) -> Any:
        return self.shop.sandboxes[kind]

    def oversell(self, skus: list[str]) -> None:
        """The last unit sells on Shopify and on Gumroad in the same instant."""
        for sku in skus:
            self.sb("shopify").sell(self.ids[sku]["shopify"], 1)
            self.sb("gumroad").sell(self.ids[sku]["gumroad"], 1)
        assert self.runner.poll("shopify") and self.runner.poll("gumroad")

    def type_on_gumroad(self, skus: list[str], qty: int) -> None:
        for sku in skus:
            self.sb("gumroad").hand_edit(self.ids[sku]["gumroad"], qty)
        for _ in range(2):  # the first sighting, then the fold
            assert self.runner.reconcile("gumroad")

    def gumroad(self, skus: list[str]) -> list[int]:
        return [self.sb("gumroad").quantity(self.ids[sku]["gumroad"]) for sku in skus]

    def held(self) -> int:
        with self.app.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(m.Alert).where(
                m.Alert.event == "bulk_change_held")) or 0)


@pytest.fixture
def shop(tmp_path: Path, database_url: str) -> Iterator[Shop]:
    made = Shop(tmp_path, database_url)
    yield made
    made.app.close()
    made.shop.close()


def test_units_typed_over_oversold_listings_go_back_to_0_unheld(shop: Shop) -> None:
    shop.oversell(SKUS[:2])
    shop.type_on_gumroad(SKUS[:2], 1)  # each unit covers its oversold order: 0 left
    assert shop.gumroad(SKUS[:2]) == [0, 0]
    assert shop.held() == 0


def test_an_adjustment_zeroing_typed_units_is_still_held(shop: Shop) -> None:
    shop.oversell(SKUS[:2])
    shop.type_on_gumroad(SKUS[:2], 2)  # one unit covers the oversold order: 1 left
    assert shop.gumroad(SKUS[:2]) == [1, 1]
    with transaction(shop.app.sessions) as s:  # a mistake: every unit written off
        for sku, sku_id in stock.sku_ids(s, SKUS[:2]).items():
            stock.record_movement(s, sku_id=sku_id, kind="adjust", delta=-1,
                                  source_key=f"adjust:test:{sku}", reason="mistake")
    assert shop.runner.poll("gumroad")
    assert shop.gumroad(SKUS[:2]) == [1, 1], "the guard let the zeros through"
    assert shop.held() == 1
