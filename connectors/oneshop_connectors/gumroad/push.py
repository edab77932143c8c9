"""Publishing a quantity on Gumroad: write the cap `units counted + N` (the answer reads back).

Gumroad has no stock field and no compare-and-set: `max_purchase_count` is a lifetime
cap, so showing N units means writing `units counted + N`, where the units are the ones
the ledger has booked (units.py). A sale Gumroad has and the ledger has not booked yet
then takes one of those N, as it takes one of the ledger's units once the next pull books
it: the unit is never handed back. The compare stands on the cap alone: if the cap no
longer shows what the core last observed, someone changed it (a hand edit, or a write of
ours whose answer was lost), and the push answers `stale` for the core to sort out.

Before this process pulled orders once, the units are Gumroad's own count, read from the
product's sales; then an unbooked sale shows as a change, and the push is stale too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from oneshop.values import Listing, PushResult, Rejected, StockLevel
from oneshop_connectors.gumroad import endpoints
from oneshop_connectors.gumroad import mapping as m
from oneshop_connectors.gumroad.client import Refused

if TYPE_CHECKING:
    from oneshop_connectors.gumroad.account import GumroadConnector


def target_cap(units_sold: int, quantity: int) -> int:
    """The cap that shows `quantity` units (never null: a bound SKU is always capped)."""
    return max(0, min(endpoints.MAX_PURCHASE_COUNT_LIMIT, units_sold + max(0, quantity)))


def push_one(connector: GumroadConnector, level: StockLevel) -> PushResult:
    parts = level.listing.external_id.split("/")
    if len(parts) == 1:
        return _push_product(connector, level, parts[0])
    if len(parts) == 3:
        return _push_variant(connector, level, parts)
    return failed(level, "not a Gumroad product or variant id")


def failed(level: StockLevel, detail: str) -> PushResult:
    return PushResult(external_id=level.listing.external_id, status="failed",
                      observed=None, detail=detail)


def stale(level: StockLevel, current: int | None, detail: str) -> PushResult:
    """The channel moved since the core last looked: pull first, then push again."""
    return PushResult(external_id=level.listing.external_id, status="stale", observed=current,
                      detail=detail)


def moved(level: StockLevel, current: int | None) -> bool:
    return level.observed is not None and current is not None and current != level.observed


def _push_product(connector: GumroadConnector, level: StockLevel, product_id: str
                  ) -> PushResult:
    """GET the cap, PUT the new one (its answer is the read-back): two requests, one if
    nothing changes."""
    body = connector.client.get(endpoints.product(product_id))
    before = m.map_product(body.get("product"))
    if isinstance(before, Rejected):
        return failed(level, before.reason)
    sold = connector.units_for(product_id).units(product_id)
    current = m.quantity_left(before.max_purchase_count, sold)
    if moved(level, current):
        return stale(level, current, "changed on Gumroad since last seen (an edit, or a sale "
                                     "not yet pulled)")
    cap = target_cap(sold, level.quantity)
    after: m.ProductInfo | Rejected = before
    if before.max_purchase_count != cap:
        try:
            body = connector.client.put(endpoints.product(product_id), endpoints.cap_form(cap))
        except Refused as exc:
            # Below Gumroad's units: sales we have not counted. Pull, then push again.
            return stale(level, None, exc.reason)
        after = m.map_product(body.get("product"))
    if isinstance(after, Rejected):
        return failed(level, after.reason)
    listing = m.product_listing(after, sold)
    return PushResult(external_id=product_id, status="ok", observed=listing.quantity,
                      listing=listing)


def _push_variant(connector: GumroadConnector, level: StockLevel, parts: list[str]
                  ) -> PushResult:
    """GET the variant's cap, PUT the new one: two requests, one if nothing changes."""
    product_id, category_id, variant_id = parts
    extra = level.listing.extra
    title, name = extra.get("category_title"), extra.get("variant_name")
    if not title or not name:
        return failed(level, "listing lacks its variant names; fetch listings first")
    path = endpoints.variant(product_id, category_id, variant_id)
    cap_now = _cap_of(connector.client.get(path).get("variant"))
    sold = connector.units_for(product_id).option_units(product_id, title, name)
    current = m.quantity_left(cap_now, sold)
    if moved(level, current):
        return stale(level, current, "changed on Gumroad since last seen (an edit, or a sale "
                                     "not yet pulled)")
    cap = target_cap(sold, level.quantity)
    shown = cap_now
    if cap_now != cap:
        try:
            body = connector.client.put(path, endpoints.cap_form(cap))
        except Refused as exc:
            return stale(level, None, exc.reason)
        written = body.get("variant")
        shown = _cap_of(written) if isinstance(written, dict) else cap
    observed = m.quantity_left(cap if shown is None else shown, sold)
    listing = Listing(
        external_id=level.listing.external_id, sku=level.listing.sku,
        title=level.listing.title, quantity=observed, state=level.listing.state,
        extra={**extra, "units_sold": str(sold)})
    return PushResult(external_id=level.listing.external_id, status="ok",
                      observed=observed, listing=listing)


def _cap_of(raw: Any) -> int | None:
    cap = raw.get("max_purchase_count") if isinstance(raw, dict) else None
    return cap if isinstance(cap, int) and not isinstance(cap, bool) else None
