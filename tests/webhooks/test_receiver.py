"""The webhooks receiver: verified deliveries trigger a pull; nothing else does."""

from __future__ import annotations

import base64
import hashlib
import hmac

import httpx
import pytest

from oneshop.plugins import available_connectors
from oneshop.testing import sandbox_for
from oneshop.webhooks import Endpoint, Receiver

Rig = tuple[Receiver, list[str], httpx.Client]
SECRET = "shpss_0123456789abcdef"
TOKEN = "gum-hook-7f3a9c"


@pytest.fixture
def rig() -> Rig:
    factories = available_connectors()
    triggered: list[str] = []
    receiver = Receiver({"shopify": Endpoint(factories["shopify"], SECRET),
                         "gumroad": Endpoint(factories["gumroad"], TOKEN)},
                        triggered.append, max_body_bytes=2048)
    client = httpx.Client(transport=httpx.WSGITransport(app=receiver), base_url="http://hooks")
    return receiver, triggered, client


def signed(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_a_signed_shopify_delivery_triggers_one_pull_and_duplicates_do_not(rig: Rig) -> None:
    _, triggered, client = rig
    body = b'{"id": 1}'
    headers = {"X-Shopify-Hmac-Sha256": signed(body), "X-Shopify-Event-Id": "evt-1",
               "X-Shopify-Topic": "orders/create"}
    assert client.post("/webhooks/shopify", content=body, headers=headers).status_code == 200
    assert client.post("/webhooks/shopify", content=body, headers=headers).text == "duplicate\n"
    assert triggered == ["shopify"]


def test_forged_oversized_and_unknown_deliveries_are_refused(rig: Rig) -> None:
    _, triggered, client = rig
    body = b'{"id": 2}'
    forged = {"X-Shopify-Hmac-Sha256": signed(body, "wrong-secret")}
    assert client.post("/webhooks/shopify", content=body, headers=forged).status_code == 401
    assert client.post("/webhooks/shopify", content=body).status_code == 401
    huge = b"x" * 5000
    assert client.post("/webhooks/shopify", content=huge,
                       headers={"X-Shopify-Hmac-Sha256": signed(huge)}).status_code == 413
    assert client.post("/webhooks/nope", content=body).status_code == 404
    assert client.get("/webhooks/shopify").status_code == 405
    assert client.post(f"/webhooks/gumroad/{TOKEN}x", data={"sale_id": "1"}).status_code == 401
    assert client.post("/webhooks/gumroad", data={"sale_id": "1"}).status_code == 401
    assert triggered == []


def test_a_gumroad_ping_with_the_url_token_triggers_a_pull(rig: Rig) -> None:
    _, triggered, client = rig
    assert client.post(f"/webhooks/gumroad/{TOKEN}", data={"sale_id": "abc"}).status_code == 200
    assert triggered == ["gumroad"]


def test_the_shopify_sandbox_deliveries_verify(rig: Rig) -> None:
    receiver, triggered, _ = rig
    sandbox = sandbox_for("shopify", seed=3)
    sandbox.deliver_webhooks_to("http://hooks/webhooks/shopify", SECRET,  # type: ignore[attr-defined]
                                transport=httpx.WSGITransport(app=receiver))
    listing = sandbox.seed_listing("HOOK-1", 4)
    sandbox.sell(listing, 1)
    assert "shopify" in triggered
    assert receiver.refused == 0
