"""Request shapes of Gumroad API v2: paths, parameters and the facts they carry."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

DEFAULT_BASE_URL = "https://api.gumroad.com"
# GET /v2/sales returns this many sales per page (RESULTS_PER_PAGE in Gumroad's code).
SALES_PER_PAGE = 10
# Gumroad clamps max_purchase_count to this range (concerns/max_purchase_count.rb).
MAX_PURCHASE_COUNT_LIMIT = 10_000_000
# The message Gumroad answers (success:false) to a product cap below the units sold.
PRODUCT_CAP_TOO_LOW = "Sorry, you cannot limit the number of purchases to that amount."
# The message a variant cap below its units sold gets; the count follows it.
VARIANT_CAP_TOO_LOW = (
    "You have chosen an amount lower than what you have already sold. "
    "Please enter an amount greater than {sold}."
)
# Doorkeeper's answer to a missing, invalid or revoked token.
INVALID_TOKEN = "The access token you provided is invalid."


def _seg(value: str) -> str:
    # Gumroad ids are base64 and may hold "=", "+" or "/"; keep them one path segment.
    return quote(value, safe="=-_")


def products() -> str:
    return "/v2/products"


def product(product_id: str) -> str:
    return f"/v2/products/{_seg(product_id)}"


def variant_categories(product_id: str) -> str:
    return f"{product(product_id)}/variant_categories"


def variants(product_id: str, category_id: str) -> str:
    return f"{variant_categories(product_id)}/{_seg(category_id)}/variants"


def variant(product_id: str, category_id: str, variant_id: str) -> str:
    return f"{variants(product_id, category_id)}/{_seg(variant_id)}"


def sales() -> str:
    return "/v2/sales"


def sale(sale_id: str) -> str:
    return f"/v2/sales/{_seg(sale_id)}"


def resource_subscriptions() -> str:
    return "/v2/resource_subscriptions"


def sales_params(
    *, after: date | None = None, product_id: str | None = None, page_key: str | None = None
) -> dict[str, str]:
    """Query of GET /v2/sales; `after` is a whole date (created_at >= that day)."""
    params: dict[str, str] = {}
    if after is not None:
        params["after"] = after.isoformat()
    if product_id is not None:
        params["product_id"] = product_id
    if page_key:
        params["page_key"] = page_key
    return params


def cap_form(max_purchase_count: int) -> dict[str, str]:
    """Form body of a product or variant PUT that sets only the lifetime cap."""
    return {"max_purchase_count": str(max_purchase_count)}
