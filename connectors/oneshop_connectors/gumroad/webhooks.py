"""Gumroad webhook deliveries (Ping and resource subscriptions).

They are unsigned form posts: the core authenticates them by a secret token in the URL
path, and a delivery only triggers a pull (polling stays the source of truth), so all
we take from the body is the sale id to re-fetch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Gumroad sale ids are urlsafe base64 ("B28UKN-dvxYabdavG97Y-Q=="); allow a little more.
SALE_ID = re.compile(r"[A-Za-z0-9_\-+/=]{1,100}")


def parse_ping(form: Mapping[str, str]) -> str | None:
    """The sale id a Ping or sale/refund/dispute delivery names, or None."""
    try:
        value = form.get("sale_id")
    except Exception:  # hostile Mapping implementations: treat as no delivery
        return None
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if SALE_ID.fullmatch(value) else None
