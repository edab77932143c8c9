"""Publishing a quantity on Gumroad: read units sold, write the cap (the answer reads back).

Gumroad has no stock field and no compare-and-set: `max_purchase_count` is a lifetime
cap, so showing N units means writing `units sold + N`. The fresh read stands in for the
compare: if the channel no longer shows what the core last observed, a sale (or an edit)
happened that the ledger has not booked yet, and writing `sold + N` would hand that unit
back to the next buyer; the push answers `stale` instead, so the core pulls first. A sale
landing between the read and the write makes the result one unit short; the next pull
books it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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


def stale(level: StockLevel, current: int) -> PushResult:
    """The channel moved since the core last looked: pull first, then push again."""
    return PushResult(external_id=level.listing.external_id, status="stale", observed=current,
                      detail="changed on Gumroad since last seen (a sale not yet pulled?)")


def _read_product(connector: GumroadConnector, product_id: str) -> m.ProductInfo | Rejected:
    body = connector.client.get(endpoints.product(product_id))
    return m.map_product(body.get("product"))


def _push_product(connector: GumroadConnector, level: StockLevel, product_id: str
                  ) -> PushResult:
    """GET (units sold), PUT the cap (its answer is the read-back): two requests, one if
    nothing changes."""
    before = _read_product(connector, product_id)
    if isinstance(before, Rejected):
        return failed(level, before.reason)
    current = m.quantity_left(before.max_purchase_count, before.units_sold)
    if level.observed is not None and current is not None and current != level.observed:
        return stale(level, current)
    cap = target_cap(before.units_sold, level.quantity)
    after: m.ProductInfo | Rejected = before
    if before.max_purchase_count != cap:
        try:
            body = connector.client.put(endpoints.product(product_id), endpoints.cap_form(cap))
        except Refused as exc:
            # Below units sold: sales landed since our read. Re-read and recompute.
            return PushResult(external_id=product_id, status="stale", observed=None,
                              detail=exc.reason)
        # The PUT answers with the product as written, its units sold included: that is
        # the read-back (a sale landing after it is booked by the next pull).
        after = m.map_product(body.get("product"))
    if isinstance(after, Rejected):
        return failed(level, after.reason)
    listing = m.product_listing(after)
    return PushResult(external_id=product_id, status="ok", observed=listing.quantity,
                      listing=listing)


def _push_variant(connector: GumroadConnector, level: StockLevel, parts: list[str]
                  ) -> PushResult:
    """GET the variant's cap, count its units from the product's sales, PUT the cap."""
    product_id, category_id, variant_id = parts
    extra = level.listing.extra
    title, name = extra.get("category_title"), extra.get("variant_name")
    if not title or not name:
        return failed(level, "listing lacks its variant names; fetch listings first")
    ref = m.VariantRef(category_id=category_id, variant_id=variant_id,
                       category_title=title, name=name)
    path = endpoints.variant(product_id, category_id, variant_id)
    now = connector.client.get(path).get("variant")
    cap_now = now.get("max_purchase_count") if isinstance(now, dict) else None
    sold = m.units_sold_by_variant(connector.product_sales(product_id), ref)
    current = m.quantity_left(cap_now if isinstance(cap_now, int) else None, sold)
    if level.observed is not None and current is not None and current != level.observed:
        return stale(level, current)
    cap = target_cap(sold, level.quantity)
    try:
        body = connector.client.put(path, endpoints.cap_form(cap))
    except Refused as exc:
        return PushResult(external_id=level.listing.external_id, status="stale",
                          observed=None, detail=exc.reason)
    # The PUT answers with the variant as written; counting its sales again would cost
    # a page of sales per 10 sold, and a sale landing now is booked by the next pull.
    written = body.get("variant")
    shown = written.get("max_purchase_count") if isinstance(written, dict) else None
    observed = m.quantity_left(shown if isinstance(shown, int) else cap, sold)
    listing = Listing(
        external_id=level.listing.external_id, sku=level.listing.sku,
        title=level.listing.title, quantity=observed, state=level.listing.state,
        extra={**extra, "units_sold": str(sold)})
    return PushResult(external_id=level.listing.external_id, status="ok",
                      observed=observed, listing=listing)
