"""A shop with history on the Etsy and Shopify sandboxes (virtual clock), driven through
the service's Runner, for the budget-planned schedule's tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from oneshop.app import App
from oneshop.ledger import models as m
from oneshop.plugins import available_connectors
from oneshop.service import Runner
from oneshop.testing import VirtualClock
from oneshop.testing.shop import SandboxShop


@dataclass
class PlanRig:
    shop: SandboxShop
    app: App
    clock: VirtualClock
    runner: Runner
    ids: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def etsy(self) -> Any:
        return self.shop.sandboxes["etsy"]

    def binding(self, account: str, external_id: str) -> m.Binding:
        with self.app.sessions() as s:
            row = s.scalar(select(m.Binding).where(m.Binding.account == account,
                                                   m.Binding.external_id == external_id))
            assert row is not None
            return row

    def on_hand(self, sku: str) -> int:
        with self.app.sessions() as s:
            return int(s.scalar(select(m.Sku.on_hand).where(m.Sku.sku == sku)) or 0)

    def count(self, model: Any, *where: Any) -> int:
        with self.app.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    def alerts(self, event: str) -> list[m.Alert]:
        with self.app.sessions() as s:
            return list(s.scalars(select(m.Alert).where(m.Alert.event == event)))

    def close(self) -> None:
        self.app.close()
        self.shop.close()


def make_plan_rig(tmp_path: Path, database_url: str, *, skus: int, kinds: tuple[str, ...],
                  history: bool = True, **options: Any) -> PlanRig:
    missing = set(kinds) - set(available_connectors())
    if missing:
        pytest.skip(f"needs the {', '.join(sorted(missing))} connector(s)")
    clock = VirtualClock()
    shop = SandboxShop(state_dir=tmp_path / "state", kinds=kinds, database_url=database_url,
                       clock=clock.now, account_options=options)
    ids = {f"S{i:05d}": shop.seed(f"S{i:05d}", 20) for i in range(skus)}
    if history:
        _history(shop, ids, clock)
    shop.prepare_ledger(take_over=False)
    app = shop.build_app(clock=clock.now, sleep=clock.sleep)
    rig = PlanRig(shop=shop, app=app, clock=clock, runner=Runner(app), ids=ids)
    from oneshop.adopt import adopt_with

    adopt_with(app, source=None, force=False)
    for kind in kinds:
        assert rig.runner.reconcile(kind, link=True)
    return rig


def _history(shop: SandboxShop, ids: dict[str, dict[str, str]], clock: VirtualClock) -> None:
    """Sales, a cancellation, a refund and a hand edit on the channels before oneshop."""
    etsy: Any = shop.sandboxes["etsy"]
    skus = list(ids)
    for n, sku in enumerate(skus[:12]):
        for kind in ids[sku]:
            receipt = shop.sandboxes[kind].sell(ids[sku][kind], 1 + n % 2)
            if kind == "etsy" and n == 3:
                etsy.cancel(receipt)
            if kind == "etsy" and n == 5:
                etsy.refund(receipt, 100)
        clock.advance(600)
    etsy.hand_edit(ids[skus[-1]]["etsy"], 7)


@pytest.fixture
def plan_rig(tmp_path: Path, database_url: str) -> Iterator[PlanRig]:
    rig = make_plan_rig(tmp_path, database_url, skus=40, kinds=("etsy", "shopify"))
    yield rig
    rig.close()
