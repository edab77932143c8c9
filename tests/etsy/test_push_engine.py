"""The engine over a batched Etsy push that fails half way: every push of the call is
failed, none half-reported, and the next pull brings Etsy in step (real ledger)."""

from __future__ import annotations

from pathlib import Path

import httpx
from oneshop_connectors.etsy.push import READ_AHEAD
from sqlalchemy import select

from oneshop import app as app_mod
from oneshop.ledger import models as m
from oneshop.service import Runner
from oneshop.testing import VirtualClock
from oneshop.testing.shop import SandboxShop

from .conftest import BeforeRequest

LISTINGS = 150  # several batch reads: the fault lands after the first batch was written


def etsy_pushes(app: app_mod.App) -> list[str]:
    with app.sessions() as s:
        return list(s.scalars(select(m.Push.status).where(m.Push.account == "etsy")
                              .order_by(m.Push.id)))


def test_a_429_after_the_first_batch_fails_every_push_then_the_next_pull_heals(
        tmp_path: Path, database_url: str) -> None:
    clock = VirtualClock()
    shop = SandboxShop(state_dir=tmp_path / "state", kinds=("etsy", "shopify"),
                       database_url=database_url, clock=clock.now)
    etsy, shopify = shop.sandboxes["etsy"], shop.sandboxes["shopify"]
    ids = [shop.seed(f"SKU-{i:03d}", 5) for i in range(LISTINGS)]
    shop.prepare_ledger()
    transports: dict[str, httpx.BaseTransport] = {k: s.transport()
                                                  for k, s in shop.sandboxes.items()}
    # Disarmed until `left` is set: then a 429 (the day is spent) before that batch read.
    trap = BeforeRequest(transports["etsy"], lambda r: r.url.path.endswith("/listings/batch"),
                         lambda: etsy.fail_next(1, status=429, retry_after_s=3600), nth=0)
    transports["etsy"] = trap
    app = app_mod.build(shop.config(), clock=clock.now, sleep=clock.sleep,
                        transports=transports)
    runner = Runner(app)
    try:
        for kind in ("etsy", "shopify"):
            assert runner.reconcile(kind, link=True)
        for sku_ids in ids:
            shopify.sell(sku_ids["shopify"], 1)
        etsy.fail_next(10_000, status=503)  # Etsy is down while Shopify's sales come in
        assert runner.poll("shopify")
        etsy.faults.clear()
        pushed_before = len(etsy_pushes(app))
        trap.left = 2
        runner.poll("etsy")  # one push of all 150: the first batch lands, then the 429
        assert etsy_pushes(app)[pushed_before:] == ["failed"] * LISTINGS
        rest = LISTINGS - READ_AHEAD
        assert [etsy.quantity(i["etsy"]) for i in ids] == [4] * READ_AHEAD + [5] * rest
        clock.advance(3600)
        assert runner.poll("etsy")
        assert [etsy.quantity(i["etsy"]) for i in ids] == [4] * LISTINGS
        with app.sessions() as s:
            on_hand = list(s.scalars(select(m.Sku.on_hand)))
            alerts = list(s.scalars(select(m.Alert.event)))
        assert on_hand == [4] * LISTINGS
        assert "oversell" not in alerts
    finally:
        app.close()
        shop.close()
