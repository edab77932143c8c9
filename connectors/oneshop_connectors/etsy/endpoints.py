"""Etsy Open API v3 request shapes: paths, page sizes and query parameters."""

from __future__ import annotations

from typing import Any

V3 = "/v3/application"
TOKEN_PATH = "/v3/public/oauth/token"
AUTHORIZE_PATH = "/oauth/connect"
PAGE_LIMIT = 100  # Etsy's maximum `limit` on every paged endpoint
BATCH_SIZE = 100  # getListingsByListingIds takes at most 100 ids
MAX_QUANTITY = 999  # Etsy refuses offering quantities above this
# States whose listings we report: sold_out and inactive too, so the core knows them.
LISTING_STATES = ("active", "inactive", "sold_out")
EARLIEST_TS = 946_684_800  # the minimum Etsy accepts for *_created / *_last_modified


def shop(shop_id: int) -> str:
    """getShop: the shop itself (`is_vacation`: "not accepting purchases")."""
    return f"{V3}/shops/{shop_id}"


def shop_listings(shop_id: int) -> str:
    return f"{V3}/shops/{shop_id}/listings"


def listings_batch() -> str:
    return f"{V3}/listings/batch"


def listing_inventory(listing_id: int) -> str:
    return f"{V3}/listings/{listing_id}/inventory"


def update_listing(shop_id: int, listing_id: int) -> str:
    return f"{V3}/shops/{shop_id}/listings/{listing_id}"


def shop_receipts(shop_id: int) -> str:
    return f"{V3}/shops/{shop_id}/receipts"


def listings_params(state: str, offset: int) -> dict[str, Any]:
    return {"state": state, "limit": PAGE_LIMIT, "offset": offset, "includes": ["Inventory"]}


def batch_params(listing_ids: list[int]) -> dict[str, Any]:
    return {"listing_ids": listing_ids, "includes": ["Inventory"]}


def changed_receipts_params(min_last_modified: int, offset: int) -> dict[str, Any]:
    # Ascending by update time, so receipts changed during the scan land after us.
    return {"min_last_modified": max(EARLIEST_TS, min_last_modified), "limit": PAGE_LIMIT,
            "offset": offset, "sort_on": "updated", "sort_order": "asc"}


def canceled_receipts_params(min_created: int, offset: int) -> dict[str, Any]:
    return {"min_created": max(EARLIEST_TS, min_created), "was_canceled": "true",
            "limit": PAGE_LIMIT, "offset": offset, "sort_on": "created", "sort_order": "asc"}
