"""The sandbox on its own: Gumroad's paging, filters, subscriptions and deliveries."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from oneshop_connectors.gumroad import GumroadSettings, connector
from oneshop_sandboxes.gumroad import GumroadSandbox
from werkzeug.wrappers import Request, Response

from oneshop.protocols import ConnectorContext
from oneshop.testing import MemoryTokenStore, sandboxkit
from oneshop.values import StockLevel

from .conftest import Rig


def api(rig: Rig) -> httpx.Client:
    return httpx.Client(transport=rig.sandbox.transport(), base_url="https://api.gumroad.com",
                        headers={"Authorization": f"Bearer {rig.sandbox.world.token}"})


def test_sales_page_ten_at_a_time_newest_first_with_page_key(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("P", 100)
    sold = []
    for _ in range(12):
        sold.append(rig.sandbox.sell(product))
        rig.clock.advance(seconds=1)
    first = api(rig).get("/v2/sales").json()
    assert [s["id"] for s in first["sales"]] == sold[::-1][:10]
    second = api(rig).get("/v2/sales", params={"page_key": first["next_page_key"]}).json()
    assert [s["id"] for s in second["sales"]] == sold[1::-1]
    assert "next_page_key" not in second


def test_sales_filters_take_whole_dates_only(rig: Rig) -> None:
    answer = api(rig).get("/v2/sales", params={"after": "2026-03-14T10:00:00Z"})
    assert answer.status_code == 400 and answer.json()["success"] is False
    ok = api(rig).get("/v2/sales", params={"after": "2026-03-14", "before": "2026-03-15"})
    assert ok.json()["success"] is True


def test_access_token_parameter_works_like_the_bearer_header(rig: Rig) -> None:
    client = httpx.Client(transport=rig.sandbox.transport(), base_url="https://api.gumroad.com")
    assert client.get("/v2/products").status_code == 401
    answer = client.get("/v2/products", params={"access_token": rig.sandbox.world.token})
    assert answer.json()["success"] is True


def test_resource_subscriptions_put_get_delete(rig: Rig) -> None:
    client = api(rig)
    refused = client.put("/v2/resource_subscriptions",
                         data={"resource_name": "sale", "post_url": "http://localhost/x"})
    assert refused.json()["success"] is False
    made = client.put("/v2/resource_subscriptions", data={
        "resource_name": "sale", "post_url": "https://hooks.example.org/g/secret"}).json()
    sub_id = made["resource_subscription"]["id"]
    listed = client.get("/v2/resource_subscriptions", params={"resource_name": "sale"}).json()
    assert [s["id"] for s in listed["resource_subscriptions"]] == [sub_id]
    assert client.delete(f"/v2/resource_subscriptions/{sub_id}").json()["success"] is True
    again = client.get("/v2/resource_subscriptions", params={"resource_name": "sale"}).json()
    assert again["resource_subscriptions"] == []


def test_refund_endpoint_keeps_the_sold_count(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("R", 2)
    sale = rig.sandbox.sell(product)
    answer = api(rig).put(f"/v2/sales/{sale}/refund").json()
    assert answer["sale"]["refunded"] is True
    assert rig.sandbox.sold(product) == 1 and rig.sandbox.quantity(product) == 1
    twice = api(rig).put(f"/v2/sales/{sale}/refund").json()
    assert twice["success"] is False


def test_requests_and_writes_are_counted_including_faults(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("C", 2)
    rig.sandbox.fail_next(1, status=503)
    client = api(rig)
    assert client.get("/v2/products").status_code == 503
    client.put(f"/v2/products/{product}", data={"max_purchase_count": "3"})
    assert (rig.sandbox.requests, rig.sandbox.writes) == (2, 1)


def test_sandbox_is_deterministic_given_the_seed() -> None:
    def ids(seed: int) -> list[str]:
        sandbox = GumroadSandbox(seed=seed)
        product = sandbox.seed_listing("X", 5)
        return [product, sandbox.sell(product)]

    assert ids(3) == ids(3) != ids(4)


class Receiver:
    """A loopback HTTP endpoint that records form posts."""

    def __init__(self) -> None:
        self.forms: list[list[tuple[str, str]]] = []
        self.got = threading.Event()

    def __call__(self, environ: dict[str, Any], start: Any) -> Any:
        req = Request(environ)
        assert req.mimetype == "application/x-www-form-urlencoded"
        self.forms.append(list(req.form.items(multi=True)))
        self.got.set()
        return Response("ok")(environ, start)


@pytest.mark.e2e
def test_served_on_loopback_end_to_end_with_webhook_deliveries() -> None:
    sandbox = GumroadSandbox(seed=2)
    receiver = Receiver()
    served, hook = sandboxkit.serve(sandbox.wsgi_app), sandboxkit.serve(receiver)
    try:
        sandbox.deliver_webhooks_to(f"{hook.url}/hooks/gumroad/s3cret")
        settings = GumroadSettings.model_validate(
            sandbox.connector_settings(served.url) | {"requests_per_second": 50})
        ctx = ConnectorContext(account="e2e", clock=lambda: datetime.now(UTC),
                               sleep=lambda s: None, token_store=MemoryTokenStore())
        conn = connector.build(settings, ctx)
        product = httpx.post(f"{served.url}/_sandbox/listings",
                             json={"sku": "LOOP", "quantity": 4}).json()["external_id"]
        sale = httpx.post(f"{served.url}/_sandbox/sell",
                          json={"external_id": product}).json()["order_id"]
        orders = [o for page in conn.fetch_orders(None) for o in page.orders]
        assert [o.external_id for o in orders] == [sale]
        listing = next(li for p in conn.fetch_listings() for li in p.listings)
        (result,) = conn.push_stock([StockLevel(listing=listing, quantity=9, observed=3,
                                                push_id="e2e")])
        assert result.observed == 9
        assert httpx.get(f"{served.url}/_sandbox/quantity",
                         params={"external_id": product}).json() == {"quantity": 9}
        assert receiver.got.wait(5)
        assert ("sale_id", sale) in receiver.forms[0]
        conn.close()
    finally:
        served.close()
        hook.close()


def test_delivery_failures_are_swallowed(rig: Rig) -> None:
    rig.sandbox.deliver_webhooks_to("http://127.0.0.1:9/nothing-listens")
    product = rig.sandbox.seed_listing("D", 2)
    rig.sandbox.sell(product)
    rig.sandbox.deliveries.flush()
    assert rig.sandbox.deliveries.failed == 1


def test_gumroad_controls_over_http(rig: Rig) -> None:
    client = httpx.Client(transport=rig.sandbox.transport(), base_url="http://sandbox")
    pid = client.post("/_sandbox/gumroad/products",
                      json={"name": "Tee", "permalink": "TEE"}).json()["product_id"]
    variant = client.post("/_sandbox/gumroad/variants", json={
        "product_id": pid, "category": "Size", "name": "M",
        "max_purchase_count": 2}).json()["external_id"]
    sale = client.post("/_sandbox/gumroad/sell_options", json={
        "product_id": pid, "variants": {"Size": "M"}}).json()["order_id"]
    assert client.get("/_sandbox/gumroad/sold", params={"external_id": variant}).json() == {
        "sold": 1}
    client.post("/_sandbox/gumroad/refund", json={"sale_id": sale, "amount_cents": 100})
    assert rig.sandbox.world.sales[sale].partially_refunded
    assert client.get("/_sandbox/stats").json()["requests"] == 0
