"""Webhook deliveries the sandbox sends, signed and headed as Shopify's are."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from oneshop_sandboxes.shopify.nodes import iso
from oneshop_sandboxes.shopify.state import SHOP_DOMAIN, Order, gid


@dataclass(frozen=True, slots=True)
class Delivery:
    topic: str
    payload: dict[str, Any]


def order_created(order: Order) -> Delivery:
    return Delivery("orders/create", {
        "id": order.num, "admin_graphql_api_id": gid("Order", order.num), "name": order.name,
        "created_at": iso(order.created_at), "updated_at": iso(order.updated_at),
        "currency": "USD", "total_price": order.total, "financial_status": "paid",
        "line_items": [{"id": li.num, "admin_graphql_api_id": gid("LineItem", li.num),
                        "sku": li.sku, "quantity": li.quantity, "price": li.unit_price,
                        "variant_id": li.variant_num} for li in order.lines]})


def level_updated(item_num: int, location_num: int, available: int,
                  now: datetime) -> Delivery:
    return Delivery("inventory_levels/update", {
        "inventory_item_id": item_num, "location_id": location_num, "available": available,
        "updated_at": iso(now), "admin_graphql_api_id":
            f"gid://shopify/InventoryLevel/{location_num}?inventory_item_id={item_num}"})


def sign(body: bytes, secret: str) -> str:
    """Base64 HMAC-SHA256 of the raw body keyed by the app's client secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def send(url: str, secret: str, delivery: Delivery, *, api_version: str, event_id: str,
         transport: httpx.BaseTransport | None = None) -> bool:
    """POST one delivery; failures are swallowed (Shopify retries later, then gives up)."""
    body = json.dumps(delivery.payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": delivery.topic,
        "X-Shopify-Hmac-Sha256": sign(body, secret),
        "X-Shopify-Shop-Domain": SHOP_DOMAIN,
        "X-Shopify-Api-Version": api_version,
        "X-Shopify-Event-Id": event_id,
        "X-Shopify-Webhook-Id": event_id,
    }
    try:
        with httpx.Client(timeout=5.0, transport=transport) as client:
            return client.post(url, content=body, headers=headers).is_success
    except httpx.HTTPError:
        return False
