"""A shop with history, for the day-to-day features (issue 18: low stock, the order
list, notifications): three sandboxes with weeks of orders, a cancellation, a refund and
a hand edit on the channels before oneshop takes over, on a virtual clock."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from oneshop import app as app_mod
from oneshop.adopt import adopt_with
from oneshop.config import Config, SkuOverride
from oneshop.ledger import models as m
from oneshop.plugins import available_connectors
from oneshop.service import Runner
from oneshop.testing import VirtualClock
from oneshop.testing.shop import KINDS, SandboxShop

KINDS_HERE = tuple(k for k in KINDS if k in available_connectors())
# 06:00 UTC: a digest set for 08:00 is not due when the rig starts.
START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
STOCK = {"MUG": 30, "PIN": 4, "CARD": 20}
FAST = {"gumroad": {"requests_per_second": 50.0}}


class Rig:
    """The shop, its App (built from a config with the given extras) and a Runner."""

    def __init__(self, shop: SandboxShop, app: app_mod.App, clock: VirtualClock,
                 ids: dict[str, dict[str, str]]) -> None:
        self.shop, self.app, self.clock, self.ids = shop, app, clock, ids
        self.runner = Runner(app)

    def sell(self, kind: str, sku: str, quantity: int = 1) -> str:
        return self.shop.sandboxes[kind].sell(self.ids[sku][kind], quantity)

    def poll(self, kind: str, every_s: float = 60.0) -> None:
        self.clock.advance(every_s)
        assert self.runner.poll(kind), f"poll of {kind} failed"

    def poll_all(self, every_s: float = 60.0) -> None:
        for kind in self.shop.kinds:
            self.poll(kind, every_s)

    def on_hand(self, sku: str) -> int:
        with self.app.sessions() as s:
            return int(s.scalar(select(m.Sku.on_hand).where(m.Sku.sku == sku)) or 0)

    def rows(self, event: str) -> list[m.Alert]:
        with self.app.sessions() as s:
            return list(s.scalars(select(m.Alert).where(m.Alert.event == event)
                                  .order_by(m.Alert.id)))

    def count(self, model: Any) -> int:
        with self.app.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)


def configured(config: Config, service: dict[str, Any], skus: dict[str, dict[str, Any]],
               alerts: Any = None) -> Config:
    file = config.file.model_copy(update={
        "service": config.file.service.model_copy(update=service),
        "skus": {name: SkuOverride(**values) for name, values in skus.items()},
        "alerts": alerts})
    return dataclasses.replace(config, file=file)


def make_history(shop: SandboxShop, clock: VirtualClock) -> dict[str, dict[str, str]]:
    """Weeks of trade on every channel before the takeover: sales, a cancellation, a
    refund where the channel has one, a hand edit."""
    ids = {sku: shop.seed(sku, qty) for sku, qty in STOCK.items()}
    clock.set(START - timedelta(days=20))
    for day in range(6):
        for kind in shop.kinds:
            shop.sandboxes[kind].sell(ids["MUG"][kind], 1 + day % 2)
            shop.sandboxes[kind].sell(ids["CARD"][kind], 1)
        clock.advance(days=3)
    for kind in shop.kinds:
        sandbox: Any = shop.sandboxes[kind]
        sandbox.cancel(sandbox.sell(ids["CARD"][kind], 2))
        if kind == "etsy":
            sandbox.refund(sandbox.sell(ids["MUG"][kind], 1), 500)
    shop.sandboxes[shop.kinds[-1]].hand_edit(ids["CARD"][shop.kinds[-1]], 15)
    clock.set(START)
    return ids


def build_rig(tmp_path: Path, database_url: str, *, service: dict[str, Any] | None = None,
              skus: dict[str, dict[str, Any]] | None = None, alerts: Any = None) -> Rig:
    clock = VirtualClock(START)
    shop = SandboxShop(state_dir=tmp_path / "state", kinds=KINDS_HERE,
                       database_url=database_url, clock=clock.now, settings_overrides=FAST)
    shop.prepare_ledger()
    ids = make_history(shop, clock)
    config = configured(shop.config(), service or {}, skus or {}, alerts)
    transports: dict[str, httpx.BaseTransport] = {
        k: s.transport() for k, s in shop.sandboxes.items()}
    application = app_mod.build(config, clock=clock.now, sleep=clock.sleep,
                                transports=transports)
    adopt_with(application, source=None, force=False)
    return Rig(shop, application, clock, ids)


@pytest.fixture
def make_rig(tmp_path: Path, database_url: str) -> Iterator[Callable[..., Rig]]:
    made: list[Rig] = []

    def make(**kwargs: Any) -> Rig:
        made.append(build_rig(tmp_path, database_url, **kwargs))
        return made[-1]

    yield make
    for rig in made:
        rig.app.close()
        rig.shop.close()


def alert_lines(logs: list[dict[str, Any]], event: str, episode: str | None = None
                ) -> list[dict[str, Any]]:
    return [e for e in logs if e.get("event") == event and e.get("alert")
            and (episode is None or e.get("episode") == episode)]
