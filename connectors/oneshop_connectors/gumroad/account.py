"""The Gumroad connector: orders from /v2/sales, listings from products and variants,
stock published as lifetime caps (`max_purchase_count = units sold + N`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from oneshop.errors import RetryableError
from oneshop.protocols import ConnectorContext
from oneshop.values import (
    Budget,
    Listing,
    ListingsPage,
    Order,
    OrdersPage,
    PushResult,
    Rejected,
    StockLevel,
)
from oneshop_connectors.gumroad import endpoints
from oneshop_connectors.gumroad import mapping as m
from oneshop_connectors.gumroad.client import GumroadClient, Refused
from oneshop_connectors.gumroad.cursor import OrdersCursor, decode
from oneshop_connectors.gumroad.push import push_one
from oneshop_connectors.gumroad.settings import GumroadSettings

# /v2/sales lists only completed sales, stamped with the time the purchase *started*: a
# purchase still being charged when we poll shows up later with an older created_at.
# Re-reading this much before the newest sale we booked catches those; the ledger dedupes.
ORDER_OVERLAP = timedelta(minutes=15)
# The `after` filter takes whole dates, read in the seller's time zone, not UTC: starting
# a day earlier than the UTC date keeps every zone inside the window.
DATE_FILTER_SLACK = timedelta(days=1)
# Refunds do not change a sale's date, so older sales are re-read for refunds on this
# slower schedule (kept in the cursor); the polls between stay at one request.
REFUND_RESCAN_EVERY = timedelta(hours=1)


class GumroadConnector:
    """One Gumroad account."""

    def __init__(self, settings: GumroadSettings, ctx: ConnectorContext) -> None:
        self._settings = settings
        self._ctx = ctx
        self._client = GumroadClient(
            ctx, base_url=settings.base_url, token=settings.access_token.get_secret_value(),
            requests_per_second=settings.requests_per_second)
        # Products seen, with their variant ids: sales name options, not ids.
        self._products: dict[str, m.ProductInfo] = {}

    def __repr__(self) -> str:
        return f"GumroadConnector(account={self._ctx.account!r})"

    def budget(self) -> Budget:
        return self._client.budget()

    def close(self) -> None:
        self._client.close()

    # -- orders ------------------------------------------------------------------------
    def fetch_orders(self, cursor: str | None) -> Iterator[OrdersPage]:
        started = self._ctx.clock()
        state = decode(cursor, now=started,
                       lookback=timedelta(days=self._settings.order_lookback_days),
                       rescan_every=REFUND_RESCAN_EVERY)
        rescan = started >= state.rescan_at
        floor = state.since - ORDER_OVERLAP
        if rescan:
            floor = min(floor, started - timedelta(days=self._settings.refund_rescan_days))
        after = (floor - DATE_FILTER_SLACK).date()
        newest, seen = state.since, set[str]()
        page_key: str | None = None
        while True:
            body = self._list(endpoints.sales(), endpoints.sales_params(
                after=after, page_key=page_key))
            fresh, reached_floor = new_sales(body.get("sales"), floor, seen)
            newest = max([newest, *(t for t in (created_of(s) for s in fresh) if t)])
            orders, rejected = self._map_sales(fresh)
            page_key = next_key(body)
            last = reached_floor or page_key is None
            done = OrdersCursor(since=min(newest, started),
                                rescan_at=started + REFUND_RESCAN_EVERY if rescan
                                else state.rescan_at)
            yield OrdersPage(orders=orders, rejected=rejected,
                             cursor=(done if last else state).encode())
            if last:
                return

    def _map_sales(self, sales: list[Any]) -> tuple[tuple[Order, ...], tuple[Rejected, ...]]:
        orders: list[Order] = []
        rejected: list[Rejected] = []
        for raw in sales:
            result = m.map_sale(raw, self._product_for_sale(raw),
                                restock_refunds=self._settings.restock_refunds)
            if isinstance(result, Rejected):
                rejected.append(result)
            else:
                orders.append(result)
        return tuple(orders), tuple(rejected)

    def _product_for_sale(self, raw: object) -> m.ProductInfo | None:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("product_id"), str):
            return None
        product_id = raw["product_id"]
        info = self._products.get(product_id)
        chosen = raw.get("variants")
        stale = (info is not None and isinstance(chosen, Mapping) and chosen
                 and info.variant_titles and info.variant_for(chosen) is None)
        if info is None or stale:
            info = self._load_product(product_id)
        return info

    def _load_product(self, product_id: str) -> m.ProductInfo | None:
        try:
            body = self._client.get(endpoints.product(product_id))
        except Refused:
            return None  # deleted or unknown: the sale is still booked, without a SKU
        info = m.map_product(body.get("product"))
        if isinstance(info, Rejected):
            return None
        info, _, _ = self._load_variants(info)
        return info

    # -- catalog -----------------------------------------------------------------------
    def fetch_listings(self) -> Iterator[ListingsPage]:
        page_key: str | None = None
        while True:
            body = self._list(endpoints.products(), {"page_key": page_key} if page_key else {})
            raws = body.get("products")
            listings: list[Listing] = []
            rejected: list[Rejected] = []
            for raw in raws if isinstance(raws, list) else ():
                if isinstance(raw, Mapping) and raw.get("deleted") is True:
                    continue
                found, bad = self._listings_of(raw)
                listings += found
                rejected += bad
            yield ListingsPage(listings=tuple(listings), rejected=tuple(rejected))
            page_key = next_key(body)
            if page_key is None:
                return

    def _listings_of(self, raw: object) -> tuple[list[Listing], list[Rejected]]:
        info = m.map_product(raw)
        if isinstance(info, Rejected):
            return [], [info]
        if not info.variant_titles:
            self._products[info.id] = info
            return [m.product_listing(info)], []
        info, found, rejected = self._load_variants(info)
        capped = any(isinstance(v, Mapping) and v.get("max_purchase_count") is not None
                     for _, v in found)
        sales = self._product_sales(info.id) if capped else []
        listings: list[Listing] = []
        for ref, raw_variant in found:
            sold = m.units_sold_by_variant(sales, ref)
            result = m.variant_listing(info, ref, raw_variant, sold)
            if isinstance(result, Rejected):
                rejected.append(result)
            else:
                listings.append(result)
        return listings, rejected

    def _load_variants(self, info: m.ProductInfo
                       ) -> tuple[m.ProductInfo, list[tuple[m.VariantRef, Any]], list[Rejected]]:
        """A product's options with their ids (one request per category, plus one)."""
        body = self._list(endpoints.variant_categories(info.id))
        categories = body.get("variant_categories")
        found: list[tuple[m.VariantRef, Any]] = []
        rejected: list[Rejected] = []
        for category in categories if isinstance(categories, list) else ():
            cat_id = category.get("id") if isinstance(category, Mapping) else None
            raws: Any = None
            if isinstance(cat_id, str):
                raws = self._list(endpoints.variants(info.id, cat_id)).get("variants")
            refs = m.variant_refs(category, raws)
            if isinstance(refs, Rejected):
                rejected.append(refs)
                continue
            found += zip(refs, [v for v in raws if isinstance(v, Mapping)], strict=True)
        info = replace(info, variants=tuple(ref for ref, _ in found))
        self._products[info.id] = info
        return info, found, rejected

    def _product_sales(self, product_id: str) -> list[Any]:
        """Every sale of a product: the only way Gumroad lets us count a variant's units."""
        sales: list[Any] = []
        page_key: str | None = None
        while True:
            body = self._list(endpoints.sales(), endpoints.sales_params(
                product_id=product_id, page_key=page_key))
            page = body.get("sales")
            sales += page if isinstance(page, list) else []
            page_key = next_key(body)
            if page_key is None:
                return sales

    def _list(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """A read that must succeed: a refusal here is Gumroad misbehaving, so retry later."""
        try:
            return self._client.get(path, params)
        except Refused as exc:
            raise RetryableError(exc.reason) from None

    # -- stock -------------------------------------------------------------------------
    def push_stock(self, levels: Sequence[StockLevel]) -> Sequence[PushResult]:
        results: list[PushResult] = []
        for level in levels:
            try:
                results.append(push_one(self, level))
            except Refused as exc:
                results.append(PushResult(external_id=level.listing.external_id,
                                          status="failed", observed=None, detail=exc.reason))
            except RetryableError as exc:
                results.append(PushResult(external_id=level.listing.external_id,
                                          status="failed", observed=None, detail=str(exc)))
        return results

    @property
    def client(self) -> GumroadClient:
        return self._client

    def product_sales(self, product_id: str) -> list[Any]:
        return self._product_sales(product_id)


def created_of(raw: object) -> datetime | None:
    if not isinstance(raw, Mapping):
        return None
    try:
        return m.parse_time(raw.get("created_at"))
    except ValueError:
        return None


def new_sales(raws: object, floor: datetime, seen: set[str]) -> tuple[list[Any], bool]:
    """This page's sales at or after `floor`, not yet seen in this fetch; and whether the
    page reached below the floor (newest-first order: every later page is older)."""
    if not isinstance(raws, list):
        raise RetryableError("gumroad GET sales: answer has no sales list")
    fresh: list[Any] = []
    reached = False
    for raw in raws:
        created = created_of(raw)
        if created is not None and created < floor:
            reached = True
            continue
        sale_id = raw.get("id") if isinstance(raw, Mapping) else None
        if isinstance(sale_id, str):
            if sale_id in seen:
                continue
            seen.add(sale_id)
        fresh.append(raw)
    return fresh, reached


def next_key(body: Mapping[str, Any]) -> str | None:
    key = body.get("next_page_key")
    return key if isinstance(key, str) and key else None
