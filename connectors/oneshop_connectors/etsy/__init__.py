"""Etsy (Open API v3) connector for oneshop: settings and factory.

Registered under the `oneshop.connectors` entry point as `oneshop_connectors.etsy:connector`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from oneshop.protocols import Connector, ConnectorContext
from oneshop.values import TokenPair
from oneshop_connectors.etsy.adapter import EtsyConnector

DEFAULT_SCOPES = ["listings_r", "listings_w", "transactions_r", "shops_r"]


class EtsySettings(BaseModel):
    """One Etsy shop's account settings (`[accounts.NAME]` with `kind = "etsy"`)."""

    model_config = ConfigDict(extra="forbid")

    shop_id: int = Field(gt=0, description="The numeric id of your Etsy shop.")
    keystring: str = Field(min_length=1, description=(
        "Your app's keystring (API key) from etsy.com/developers/your-apps; also the "
        "OAuth client_id."))
    shared_secret: SecretStr = Field(description=(
        "Your app's shared secret; sent as `x-api-key: keystring:shared_secret` on every "
        "request (required by Etsy since 2026-02-09)."))
    base_url: str = Field(default="https://openapi.etsy.com", description=(
        "Base URL of the Open API (the sandbox URL in tests and the demo)."))
    oauth_base_url: str = Field(default="https://www.etsy.com", description=(
        "Base URL of Etsy's authorize page (/oauth/connect), used by `oneshop auth etsy`."))
    redirect_uri: str = Field(default="http://127.0.0.1:8765/callback", description=(
        "Redirect URI registered for your app; `oneshop auth etsy` listens on it when it is "
        "a loopback address."))
    scopes: list[str] = Field(default_factory=lambda: list(DEFAULT_SCOPES), description=(
        "OAuth scopes to request; oneshop needs listings_r, listings_w, transactions_r and "
        "shops_r."))
    zero_stock_policy: Literal["deactivate", "leave"] = Field(default="deactivate", description=(
        "Etsy cannot show 0 for every offering of a listing: `deactivate` takes the listing "
        "off sale (and back on when stock returns, unless you deactivated it yourself); "
        "`leave` writes nothing and alerts."))
    renew_sold_out: bool = Field(default=False, description=(
        "Whether oneshop may reactivate a sold_out listing when stock returns; Etsy "
        "renews it, which costs a listing fee."))
    cancellation_rescan_hours: float = Field(default=72, gt=0, description=(
        "Look-back window of the cancellation rescan, in hours (Etsy does not mark a "
        "cancelled receipt as modified)."))
    cancellation_rescan_every_s: float = Field(default=900, gt=0, description=(
        "How often the cancellation rescan runs, in seconds."))
    order_lookback_days: float = Field(default=7, gt=0, description=(
        "How far back the first order poll reads, in days."))
    budget_low_share: float = Field(default=0.2, ge=0, le=1, description=(
        "Alert `budget_low` and poll less often when the share of the daily request budget "
        "left falls below this."))
    budget_reserve_share: float = Field(default=0.25, ge=0, lt=1, description=(
        "The planned schedule (polls, rolling reconcile, expected pushes) leaves this share "
        "of the daily request budget unspent, for pushes above the estimate and other "
        "apps on the same key; never less than budget_low_share."))


class EtsyFactory:
    """The `oneshop.protocols.ConnectorFactory` for Etsy."""

    kind = "etsy"
    settings_model = EtsySettings

    def build(self, settings: BaseModel, ctx: ConnectorContext) -> Connector:
        if not isinstance(settings, EtsySettings):
            settings = EtsySettings.model_validate(settings.model_dump())
        return EtsyConnector(settings, ctx)

    def store_identity(self, settings: BaseModel) -> str | None:
        """One Etsy shop id (at one API root: sandboxes in tests are separate stores)."""
        if not isinstance(settings, EtsySettings):
            return None
        base = settings.base_url.rstrip("/")
        where = "" if base == "https://openapi.etsy.com" else f" at {base}"
        return f"Etsy shop {settings.shop_id}{where}"

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, secret: str,
                       now_s: float) -> str | None:
        """Etsy's signed deliveries (webhook-id/-timestamp/-signature); id for dedupe."""
        from oneshop_connectors.etsy.webhooks import verify

        if verify(secret, headers, body, now_s=now_s) is None:
            return None
        return {k.lower(): v for k, v in headers.items()}.get("webhook-id")

    def authorize(self, settings: BaseModel, ctx: ConnectorContext, *,
                  show: Callable[[str], None], pasted: Callable[[], str] | None,
                  timeout_s: float) -> TokenPair:
        """OAuth2 authorization code with PKCE (S256), as `oneshop auth etsy` runs it."""
        from oneshop_connectors.etsy import auth

        if not isinstance(settings, EtsySettings):
            settings = EtsySettings.model_validate(settings.model_dump())
        verifier, challenge = auth.new_pkce()
        state = secrets.token_urlsafe(16)
        show(auth.authorize_url(settings, state, challenge))
        if pasted is not None:
            code = auth.code_from_redirect(pasted(), state)
        else:
            code = auth.wait_for_redirect(settings.redirect_uri, state, timeout_s)
        return auth.exchange_code(settings, ctx, code, verifier)


connector = EtsyFactory()

__all__ = ["EtsyConnector", "EtsyFactory", "EtsySettings", "connector"]
