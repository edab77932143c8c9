"""Plain values exchanged between connectors and the core.

Connectors build these from marketplace JSON; the core never sees raw payloads except
inside a `Rejected` record. All datetimes are timezone-aware UTC; money is Decimal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

OrderStatus = Literal["open", "cancelled", "refunded", "partially_refunded", "closed"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Listing:
    """One sellable unit on a channel that can be bound to a SKU.

    `external_id` is the stable binding key, unique within the account and unchanged by
    our writes (e.g. Shopify inventory item id; Etsy "listing_id:sku"; Gumroad product id
    or "product/category/variant"). `quantity` is what the channel shows now; None means
    the channel does not limit it (e.g. a Gumroad product with no cap).
    """

    external_id: str
    sku: str | None
    title: str
    quantity: int | None
    state: str = "active"
    # Connector-private facts needed to write back (ids, units sold, …); opaque to the core.
    extra: Mapping[str, str] = field(default_factory=dict)
    # The channel keeps selling it at 0 (Shopify inventoryPolicy CONTINUE): a setting of
    # the seller's, read and never written (oneshop.ledger.stock_models).
    sells_below_zero: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ListingsPage:
    listings: tuple[Listing, ...]
    rejected: tuple[Rejected, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderLine:
    external_id: str
    sku: str | None
    listing_external_id: str | None
    quantity: int
    unit_price: Decimal
    # Units the buyer got their money back for, restocked or not (the order list shows
    # it); a channel that refunds amounts only counts a full refund as every unit.
    refunded_quantity: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Restock:
    """Units that come back to stock (a cancellation, or a refund with restock).

    `key` is unique for this event within the order (e.g. "refund:123:line:9"), so the
    same restock reported by every overlapping poll is booked once.
    `channel_applied` says the channel already put the units back on its own shelf
    (Shopify does on restocking refunds), so the engine must not count them twice there.
    `channel_may_apply` says the channel may or may not have done so, and nothing tells
    which (Etsy cancellations): the engine pushes the units, but a rise of the listing by
    exactly this quantity, seen before a push of ours lands, is the channel's own restock.
    """

    key: str
    line_external_id: str
    quantity: int
    channel_applied: bool
    channel_may_apply: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Order:
    external_id: str
    status: OrderStatus
    currency: str
    total: Decimal
    created_at: datetime
    updated_at: datetime
    lines: tuple[OrderLine, ...]
    restocks: tuple[Restock, ...] = ()
    # Whether the channel took the sold units off its own quantity (every channel we know
    # does); the engine then adjusts its last observed quantity instead of pushing.
    channel_decremented: bool = True
    # When the buyer paid (None: not paid yet, or the channel does not say).
    paid_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejected:
    """A record that could not be mapped; kept aside with the reason, never dropped."""

    reason: str
    raw: str
    external_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrdersPage:
    """One page of orders and the cursor to save in the same transaction."""

    orders: tuple[Order, ...]
    cursor: str | None
    rejected: tuple[Rejected, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class StockLevel:
    """A quantity to publish for one listing.

    `observed` is the quantity we last saw on the channel (compare-and-set where the
    channel supports it); `push_id` identifies the push record (idempotency key, audit).
    """

    listing: Listing
    quantity: int
    observed: int | None
    push_id: str
    # True when oneshop itself took this listing off sale (Etsy zero-stock deactivation),
    # so it may put it back on sale; a listing the seller deactivated stays as it is.
    may_activate: bool = False


PushStatus = Literal["ok", "stale", "policy", "failed"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PushResult:
    """What happened to one StockLevel.

    ok: the channel now shows `observed`. stale: the channel changed under us (`observed`
    is its current quantity, when known): re-read, fold in, recompute. policy: a channel
    rule applied instead (Etsy zero-stock deactivation, …), described in `detail`.
    failed: this listing could not be written (`detail` says why).
    """

    external_id: str
    status: PushStatus
    observed: int | None
    detail: str = ""
    listing: Listing | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Budget:
    """API budget the connector last saw (None where the channel publishes none).

    `daily` marks a budget that is spent for the day (Etsy's requests per day): only such
    a budget raises `budget_low` and stretches polling. A leaky bucket that refills in
    seconds (Shopify's query cost) is reported with daily False.
    """

    remaining: int | None = None
    limit: int | None = None
    daily: bool = False
    requests: int = 0
    throttle_wait_s: float = 0.0


# A listing whose quantity the channel derives from other listings (a Shopify bundle
# parent, `requiresComponents`): read, never written, never adopted from (its quantity
# is None: no count of ours). docs/bundles.md.
CHANNEL_BUNDLE = "channel_bundle"
