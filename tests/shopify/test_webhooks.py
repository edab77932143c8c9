"""Webhooks: verification, and the sandbox's signed deliveries over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable
from typing import Any

from oneshop_connectors.shopify.webhooks import verify_delivery
from werkzeug.wrappers import Request, Response

from oneshop.testing import sandboxkit

from .conftest import Rig


def test_verify_delivery_accepts_the_right_signature_only() -> None:
    body = b'{"id": 1}'
    good = base64.b64encode(hmac.new(b"secret", body, hashlib.sha256).digest()).decode()
    assert verify_delivery(body, good, "secret")
    assert not verify_delivery(body + b" ", good, "secret")
    assert not verify_delivery(body, good, "other")
    assert not verify_delivery(body, "", "secret")
    assert not verify_delivery(body, "not base64 ✓", "secret")


def test_sandbox_delivers_signed_orders_and_inventory_events(rig: Rig) -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    def receiver(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        received.append((dict(request.headers), request.get_data()))
        result: Iterable[bytes] = Response("ok")(environ, start_response)
        return result

    served = sandboxkit.serve(receiver)
    try:
        item = rig.sandbox.seed_listing("HOOK", 3)
        rig.sandbox.deliver_webhooks_to(f"{served.url}/hooks", "hook-secret")
        order_id = rig.sandbox.sell(item, 1)
    finally:
        served.close()
    topics = [headers["X-Shopify-Topic"] for headers, _ in received]
    assert topics == ["orders/create", "inventory_levels/update"]
    for headers, body in received:
        assert verify_delivery(body, headers["X-Shopify-Hmac-Sha256"], "hook-secret")
        assert headers["X-Shopify-Shop-Domain"] == "oneshop-sandbox.myshopify.com"
        assert headers["X-Shopify-Api-Version"] == "2026-04"
        assert headers["X-Shopify-Event-Id"]
    order = json.loads(received[0][1])
    level = json.loads(received[1][1])
    assert order["admin_graphql_api_id"] == order_id
    assert level["available"] == 2 and item.endswith(f"/{level['inventory_item_id']}")


def test_undeliverable_webhooks_are_swallowed(rig: Rig) -> None:
    item = rig.sandbox.seed_listing("LOST", 3)
    rig.sandbox.deliver_webhooks_to("http://127.0.0.1:9/nowhere")
    assert rig.sandbox.sell(item, 1).startswith("gid://shopify/Order/")
