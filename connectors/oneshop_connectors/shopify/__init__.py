"""Shopify (Admin GraphQL API): the connector factory and its settings.

Registered under the `oneshop.connectors` entry point as `shopify`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from oneshop.protocols import Connector, ConnectorContext

DEFAULT_API_VERSION = "2026-04"
# Below this a paged read waits about a minute at most on the standard bucket (2,000
# variants: ~8,000 points against 2,000 + 100/s), no worse than a bulk operation's start
# and status checks; above it the wait grows with the catalog (catalog.py).
BULK_THRESHOLD_VARIANTS = 2000
_HOST = re.compile(r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9-]+)+$")


class ShopifySettings(BaseModel):
    """One Shopify store. Use either `access_token` or `client_id` + `client_secret`."""

    model_config = ConfigDict(extra="forbid")

    shop: str = Field(description="The store's myshopify domain, e.g. "
                                  "'my-shop.myshopify.com' (a bare 'my-shop' is completed).")
    api_version: str = Field(DEFAULT_API_VERSION, pattern=r"^\d{4}-(01|04|07|10)$",
                             description="Admin API version (YYYY-MM); 2026-04 or later: "
                                         "pushes use changeFromQuantity and @idempotent.")
    location: str | None = Field(None, description="Location whose `available` quantity is "
                                 "synced: its exact name or GID. Default: the active location "
                                 "that ships inventory (else the first active one).")
    base_url: str | None = Field(None, pattern=r"^https?://[^\s/]+(/[^\s]*)?$",
                                 description="Override of https://{shop}, e.g. a sandbox at "
                                             "http://127.0.0.1:PORT. Leave unset in production.")
    access_token: SecretStr | None = Field(None, description="Static admin API token "
                                           "(shpat_…) of a legacy custom app. Never expires.")
    client_id: str | None = Field(None, description="Client id of your Dev Dashboard app "
                                  "(client-credentials grant; tokens re-minted before expiry).")
    client_secret: SecretStr | None = Field(None, description="Client secret of that app; "
                                            "also the key that signs its webhooks.")
    page_size: int = Field(250, ge=1, le=250, description="Records per page (at most 250; "
                           "lowered automatically to keep each query under 1,000 cost points).")
    bulk_threshold_variants: int = Field(
        BULK_THRESHOLD_VARIANTS, ge=1, description="Catalogs of at least this many variants "
        "are read with one bulk operation (no per-page throttle) instead of page by page.")
    order_lookback_days: int = Field(60, ge=1, le=3650, description="How far back the very "
                                     "first order poll reads (Shopify shows 60 days without "
                                     "the read_all_orders scope).")

    @field_validator("shop")
    @classmethod
    def _complete_shop(cls, value: str) -> str:
        value = value.strip().lower().removeprefix("https://").rstrip("/")
        if "." not in value:
            value = f"{value}.myshopify.com"
        if not _HOST.match(value):
            raise ValueError("must be a domain such as my-shop.myshopify.com")
        return value

    @field_validator("api_version")
    @classmethod
    def _recent_enough(cls, value: str) -> str:
        if value < DEFAULT_API_VERSION:
            raise ValueError(f"must be {DEFAULT_API_VERSION} or later (changeFromQuantity "
                             "and @idempotent are what pushes rely on)")
        return value

    @model_validator(mode="after")
    def _one_auth_method(self) -> ShopifySettings:
        static = self.access_token is not None
        grant = self.client_id is not None or self.client_secret is not None
        if static == grant:
            raise ValueError("set either access_token, or client_id and client_secret")
        if grant and (self.client_id is None or self.client_secret is None):
            raise ValueError("client_id and client_secret go together")
        return self


class ShopifyFactory:
    """The `ConnectorFactory` registered as `shopify`."""

    kind: str = "shopify"
    settings_model: type[BaseModel] = ShopifySettings

    def build(self, settings: BaseModel, ctx: ConnectorContext) -> Connector:
        from oneshop_connectors.shopify.adapter import ShopifyConnector

        if not isinstance(settings, ShopifySettings):
            settings = ShopifySettings.model_validate(settings.model_dump())
        return ShopifyConnector(settings, ctx)

    def store_identity(self, settings: BaseModel) -> str | None:
        """One myshopify domain (at one API root: sandboxes in tests are separate stores)."""
        if not isinstance(settings, ShopifySettings):
            return None
        where = f" at {settings.base_url.rstrip('/')}" if settings.base_url else ""
        return f"Shopify store {settings.shop}{where}"

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, secret: str,
                       now_s: float) -> str | None:
        """HMAC-SHA256 of the raw body with the app's client secret; id for dedupe."""
        from oneshop_connectors.shopify.webhooks import verify_delivery

        lowered = {k.lower(): v for k, v in headers.items()}
        if not verify_delivery(body, lowered.get("x-shopify-hmac-sha256", ""), secret):
            return None
        return (lowered.get("x-shopify-event-id") or lowered.get("x-shopify-webhook-id")
                or hashlib.sha256(body).hexdigest())


connector = ShopifyFactory()

__all__ = ["BULK_THRESHOLD_VARIANTS", "DEFAULT_API_VERSION", "ShopifyFactory", "ShopifySettings",
           "connector"]
