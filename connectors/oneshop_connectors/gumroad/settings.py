"""The settings of one Gumroad account (they become the user's config reference)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from oneshop_connectors.gumroad.endpoints import DEFAULT_BASE_URL


class GumroadSettings(BaseModel):
    """One Gumroad account."""

    model_config = ConfigDict(extra="forbid")

    access_token: SecretStr = Field(description=(
        "Access token of your Gumroad application (Settings → Advanced → Applications → "
        "Generate access token). Needs the view_sales and edit_products scopes. "
        "Gumroad tokens do not expire."))
    base_url: str = Field(default=DEFAULT_BASE_URL, description=(
        "Root of the Gumroad API (change only to point at a sandbox)."))
    restock_refunds: bool = Field(default=False, description=(
        "Whether a refunded, charged-back or cancelled Gumroad sale puts its units back "
        "into your stock. Off by default: digital goods and items the buyer keeps. "
        "Partial refunds never restock."))
    requests_per_second: float = Field(default=1.0, gt=0, le=50, description=(
        "Most requests per second sent to Gumroad (it documents no limit; stay polite)."))
    order_lookback_days: int = Field(default=30, ge=1, le=3650, description=(
        "How far back the first poll reads sales."))
    refund_rescan_days: int = Field(default=30, ge=1, le=3650, description=(
        "How far back sales are re-read (hourly) to catch refunds; Gumroad has no "
        "'changed since' filter and a refund does not change a sale's date."))
