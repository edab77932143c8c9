"""Verifying Shopify webhook deliveries (pure: the receiver lives in the core)."""

from __future__ import annotations

import base64
import hashlib
import hmac


def verify_delivery(body: bytes, hmac_header: str, secret: str) -> bool:
    """Whether `X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 of the raw body.

    Compare before parsing, in constant time; the key is the app's client secret.
    """
    if not hmac_header or not secret:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, hmac_header.strip().encode("ascii", "replace"))
