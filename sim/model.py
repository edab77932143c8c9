"""What the generator knows happened on the marketplaces (the checker's ground truth)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True, kw_only=True)
class Sale:
    kind: str
    order_id: str
    sku: str
    quantity: int
    step: int
    # The unit did not exist any more when it sold (units sold elsewhere, not yet booked,
    # or a channel that could not be told in time): only such sales may oversell.
    raced: bool = False
    restock_expected: int = 0
    closed: bool = False  # cancelled or refunded: no further cancellation
    # The channel put the units back on its own shelf when it was cancelled (Shopify's
    # restocks; Etsy with restock_on_cancel): it may sell them before we book it.
    channel_restocked: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Edit:
    """A seller's hand edit: `delta` on `kind`, made when the ledger held `folded_before`
    channel_edit movements for that SKU and account (one more means it was folded in)."""

    sku: str
    kind: str
    delta: int
    folded_before: int


@dataclass(slots=True, kw_only=True)
class Truth:
    reserve: int
    cap: int | None
    initial: dict[str, int] = field(default_factory=dict)
    listings: dict[str, dict[str, str]] = field(default_factory=dict)  # sku -> kind -> ext id
    sales: list[Sale] = field(default_factory=list)
    malformed: list[tuple[str, str]] = field(default_factory=list)  # (kind, order id)
    edited: set[str] = field(default_factory=set)  # SKUs a seller edited by hand
    edits: list[Edit] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)
    violations: list[str] = field(default_factory=list)
    # Kits (sim/bundles.py): bundle sku -> component -> units in one; their listings; sales.
    bundles: dict[str, dict[str, int]] = field(default_factory=dict)
    bundle_listings: dict[str, dict[str, str]] = field(default_factory=dict)
    bundle_sales: list[Sale] = field(default_factory=list)
    # Stock models (docs/stock-models.md), in seeds `stock_models_in` picks: SKUs with
    # backorders (sku -> N, also in `listings`) and unlimited SKUs (never pushed; their
    # listings here, not in `listings`, which hold counted stock).
    backorder: dict[str, int] = field(default_factory=dict)
    unlimited: dict[str, dict[str, str]] = field(default_factory=dict)

    def published(self, on_hand: int, sku: str = "") -> int:
        shown = max(on_hand + self.backorder.get(sku, 0) - self.reserve, 0)
        return shown if self.cap is None else min(shown, self.cap)

    def ext(self, sku: str, kind: str) -> str:
        return (self.listings.get(sku) or self.unlimited[sku])[kind]


def stock_models_in(seed: int) -> bool:
    """Seeds whose catalog holds an unlimited and a backordered SKU: every fourth, by
    arithmetic and not the RNG, so the other seeds replay as they did before."""
    return seed % 4 == 0
