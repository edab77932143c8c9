"""The sandbox served on a loopback port speaks the same API over real HTTP."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
from oneshop_connectors.shopify import connector
from oneshop_sandboxes.shopify import ShopifySandbox

from oneshop.protocols import ConnectorContext
from oneshop.testing import MemoryTokenStore, sandboxkit
from oneshop.values import StockLevel


def test_connector_works_against_the_sandbox_on_loopback() -> None:
    sandbox = ShopifySandbox(seed=7)
    served = sandboxkit.serve(sandbox.wsgi_app)
    try:
        item = sandbox.seed_listing("LOOP", 4)
        settings = connector.settings_model.model_validate(
            sandbox.connector_settings(served.url))
        ctx = ConnectorContext(account="loop", clock=lambda: datetime.now(UTC),
                               sleep=lambda s: None, token_store=MemoryTokenStore())
        live = connector.build(settings, ctx)
        (listing,) = [li for page in live.fetch_listings() for li in page.listings]
        (result,) = live.push_stock([StockLevel(listing=listing, quantity=2, observed=4,
                                                push_id="loop-1")])
        order_id = httpx.post(f"{served.url}/_sandbox/sell",
                              json={"external_id": item}).json()["order_id"]
        orders = [o.external_id for page in live.fetch_orders(None) for o in page.orders]
        stats = httpx.get(f"{served.url}/_sandbox/stats").json()
        live.close()
    finally:
        served.close()
    assert (listing.external_id, result.status, result.observed) == (item, "ok", 2)
    assert orders == [order_id]
    assert sandbox.quantity(item) == 1
    assert stats["writes"] == 1 and stats["requests"] >= 4


def test_shopify_specific_controls_over_http() -> None:
    sandbox = ShopifySandbox(seed=8)
    served = sandboxkit.serve(sandbox.wsgi_app)
    try:
        base = f"{served.url}/_sandbox/shopify"
        item = httpx.post(f"{base}/variants", json={"sku": "H", "quantity": 5}).json()[
            "external_id"]
        order = httpx.post(f"{base}/orders", json={"lines": [[item, 2]]}).json()["order_id"]
        refund = httpx.post(f"{base}/refunds", json={"order_id": order, "quantity": 1})
        sold_out = httpx.post(f"{base}/orders", json={"lines": [[item, 99]]})
        missing = httpx.post(f"{base}/nope", json={})
    finally:
        served.close()
    assert refund.json()["refund_id"].startswith("gid://shopify/Refund/")
    assert sandbox.quantity(item) == 4
    assert (sold_out.status_code, missing.status_code) == (409, 404)


def test_a_bulk_read_over_loopback_downloads_its_file_from_the_served_host() -> None:
    sandbox = ShopifySandbox(seed=9)
    sandbox.bulk.start_delay_s = 0.0  # and 1 s running: real time, real sleeps
    served = sandboxkit.serve(sandbox.wsgi_app)
    try:
        sandbox.add_variants(30)
        settings = connector.settings_model.model_validate({
            **sandbox.connector_settings(served.url), "bulk_threshold_variants": 10,
            "page_size": 10})
        ctx = ConnectorContext(account="loop", clock=lambda: datetime.now(UTC),
                               sleep=time.sleep, token_store=MemoryTokenStore())
        live = connector.build(settings, ctx)
        httpx.post(f"{served.url}/_sandbox/shopify/bulk_faults", json={"kind": "url_expired"})
        first = [li.external_id for page in live.fetch_listings() for li in page.listings]
        again = [li.external_id for page in live.fetch_listings() for li in page.listings]
        live.close()
    finally:
        served.close()
    assert len(first) == len(set(first)) == 30 and sorted(again) == sorted(first)
    assert sandbox.bulk.downloads == 3  # expired once, then two good files
