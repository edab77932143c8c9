"""Etsy webhook deliveries: signing and verification (Standard Webhooks scheme).

Etsy signs with a per-endpoint `whsec_…` secret; headers `webhook-id`, `webhook-timestamp`
and `webhook-signature` ("v1,<base64 HMAC-SHA256 of '{id}.{timestamp}.{body}'>", several
space-separated). The payload is thin (`event_type`, `resource_url`, `shop_id`): a delivery
only triggers a pull, it is never trusted as data. Pure functions, no I/O.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass

# Deliveries older or newer than this are refused, against replays.
TOLERANCE_S = 300


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookEvent:
    event_type: str
    resource_url: str
    shop_id: int | None


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign(secret: str, message_id: str, timestamp_s: int, body: bytes) -> str:
    """The `webhook-signature` header value for one delivery."""
    signed = f"{message_id}.{timestamp_s}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, now_s: float
           ) -> WebhookEvent | None:
    """The event if the delivery is authentic and fresh, else None."""
    lowered = {k.lower(): v for k, v in headers.items()}
    message_id = lowered.get("webhook-id", "")
    try:
        timestamp_s = int(lowered.get("webhook-timestamp", ""))
        expected = sign(secret, message_id, timestamp_s, body)
    except ValueError:
        return None
    if not message_id or abs(now_s - timestamp_s) > TOLERANCE_S:
        return None
    offered = lowered.get("webhook-signature", "").split()
    if not any(hmac.compare_digest(expected, candidate) for candidate in offered):
        return None
    return parse_event(body)


def parse_event(body: bytes) -> WebhookEvent | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    event_type, url, shop = data.get("event_type"), data.get("resource_url"), data.get("shop_id")
    if not isinstance(event_type, str) or not isinstance(url, str):
        return None
    shop_id = shop if isinstance(shop, int) and not isinstance(shop, bool) else None
    return WebhookEvent(event_type=event_type, resource_url=url, shop_id=shop_id)
