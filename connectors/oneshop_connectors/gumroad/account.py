"""The Gumroad connector: orders from /v2/sales, listings from products and variants,
stock published as lifetime caps (`max_purchase_count = units counted + N`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
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
from oneshop_connectors.gumroad import endpoints, orders
from oneshop_connectors.gumroad import mapping as m
from oneshop_connectors.gumroad.client import GumroadClient, Refused
from oneshop_connectors.gumroad.push import push_one
from oneshop_connectors.gumroad.settings import GumroadSettings
from oneshop_connectors.gumroad.units import Counts, Tally, UnitsView, count_all, counted_sale


class GumroadConnector:
    """One Gumroad account."""

    # The cap written counts every unit sold, booked or not: a sale landing between our
    # read and our write still takes one of the units shown, it is never erased (push.py).
    blind_writes = False

    @staticmethod
    def write_group(external_id: str) -> str:
        """One product or variant per write."""
        return external_id

    def __init__(self, settings: GumroadSettings, ctx: ConnectorContext) -> None:
        self.settings = settings
        self._ctx = ctx
        self._client = GumroadClient(
            ctx, base_url=settings.base_url, token=settings.access_token.get_secret_value(),
            requests_per_second=settings.requests_per_second)
        # Products seen, with their variant ids: sales name options, not ids.
        self._products: dict[str, m.ProductInfo] = {}
        # Units counted against caps, as the last booked orders page left them (units.py);
        # None until this process pulled orders once.
        self.tally: Tally | None = None

    def __repr__(self) -> str:
        return f"GumroadConnector(account={self._ctx.account!r})"

    def budget(self) -> Budget:
        return self._client.budget()

    def close(self) -> None:
        self._client.close()

    def clock(self) -> datetime:
        return self._ctx.clock()

    @property
    def client(self) -> GumroadClient:
        return self._client

    # -- orders ------------------------------------------------------------------------
    def fetch_orders(self, cursor: str | None) -> Iterator[OrdersPage]:
        return orders.fetch_orders(self, cursor)

    def map_sales(self, sales: list[Any]) -> tuple[tuple[Order, ...], tuple[Rejected, ...]]:
        found: list[Order] = []
        rejected: list[Rejected] = []
        for raw in sales:
            result = m.map_sale(raw, self._product_for_sale(raw),
                                restock_refunds=self.settings.restock_refunds)
            if isinstance(result, Rejected):
                rejected.append(result)
            else:
                found.append(result)
        return tuple(found), tuple(rejected)

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

    # -- units counted against caps ----------------------------------------------------
    def units_for(self, product_id: str) -> UnitsView:
        """The units the ledger has booked, once a pull loaded them. Before that (a push or
        a catalog scan right after start), Gumroad's own count from the product's sales:
        a sale the ledger has not booked then shows as a change, so the push is stale and
        the core pulls first."""
        if self.tally is not None:
            return self.tally
        return count_all(c for c in map(counted_sale, self.sales_of(product_id)) if c)

    def sales_of(self, product_id: str | None) -> list[Any]:
        """Every sale (of one product, or of all): the full history, 10 to a page."""
        sales: list[Any] = []
        page_key: str | None = None
        while True:
            body = self.list_or_retry(endpoints.sales(), endpoints.sales_params(
                product_id=product_id, page_key=page_key))
            page = body.get("sales")
            sales += page if isinstance(page, list) else []
            page_key = orders.next_key(body)
            if page_key is None:
                return sales

    # -- catalog -----------------------------------------------------------------------
    def fetch_listings(self) -> Iterator[ListingsPage]:
        units = self.tally or _AllSales(self)
        page_key: str | None = None
        while True:
            body = self.list_or_retry(endpoints.products(),
                                      {"page_key": page_key} if page_key else {})
            raws = body.get("products")
            listings: list[Listing] = []
            rejected: list[Rejected] = []
            for raw in raws if isinstance(raws, list) else ():
                if isinstance(raw, Mapping) and raw.get("deleted") is True:
                    continue
                found, bad = self._listings_of(raw, units)
                listings += found
                rejected += bad
            yield ListingsPage(listings=tuple(listings), rejected=tuple(rejected))
            page_key = orders.next_key(body)
            if page_key is None:
                return

    def _listings_of(self, raw: object, units: UnitsView
                     ) -> tuple[list[Listing], list[Rejected]]:
        info = m.map_product(raw)
        if isinstance(info, Rejected):
            return [], [info]
        if not info.variant_titles:
            self._products[info.id] = info
            # Units are only worth counting (and, before a pull, reading) under a cap.
            sold = units.units(info.id) if info.max_purchase_count is not None else 0
            return [m.product_listing(info, sold)], []
        info, found, rejected = self._load_variants(info)
        listings: list[Listing] = []
        for ref, raw_variant in found:
            capped = raw_variant.get("max_purchase_count") is not None
            sold = units.option_units(info.id, ref.category_title, ref.name) if capped else 0
            result = m.variant_listing(info, ref, raw_variant, sold)
            if isinstance(result, Rejected):
                rejected.append(result)
            else:
                listings.append(result)
        return listings, rejected

    def _load_variants(self, info: m.ProductInfo
                       ) -> tuple[m.ProductInfo, list[tuple[m.VariantRef, Any]], list[Rejected]]:
        """A product's options with their ids (one request per category, plus one)."""
        body = self.list_or_retry(endpoints.variant_categories(info.id))
        categories = body.get("variant_categories")
        found: list[tuple[m.VariantRef, Any]] = []
        rejected: list[Rejected] = []
        for category in categories if isinstance(categories, list) else ():
            cat_id = category.get("id") if isinstance(category, Mapping) else None
            raws: Any = None
            if isinstance(cat_id, str):
                raws = self.list_or_retry(endpoints.variants(info.id, cat_id)).get("variants")
            refs = m.variant_refs(category, raws)
            if isinstance(refs, Rejected):
                rejected.append(refs)
                continue
            found += zip(refs, [v for v in raws if isinstance(v, Mapping)], strict=True)
        info = replace(info, variants=tuple(ref for ref, _ in found))
        self._products[info.id] = info
        return info, found, rejected

    def list_or_retry(self, path: str, params: Mapping[str, str] | None = None
                      ) -> dict[str, Any]:
        """A read that must succeed: a refusal here is Gumroad misbehaving, so retry later."""
        try:
            return self._client.get(path, params)
        except Refused as exc:
            raise RetryableError(exc.reason) from None

    # -- stock -------------------------------------------------------------------------
    def push_stock(self, levels: Sequence[StockLevel]) -> Sequence[PushResult]:
        """A refusal fails its own level. A RetryableError (retries spent) is raised and
        leaves no results, even for levels already written: a failed level is held until
        its quantity changes, and a timeout says nothing against the next try. The
        engine pushes them all again after the next pull, where a write that did land
        reads back as our own."""
        results: list[PushResult] = []
        for level in levels:
            try:
                results.append(push_one(self, level))
            except Refused as exc:
                results.append(PushResult(external_id=level.listing.external_id,
                                          status="failed", observed=None, detail=exc.reason))
        return results


class _AllSales:
    """Gumroad's own units, from one read of every sale, made only if a capped listing
    asks (a catalog scan before this process pulled orders: `oneshop adopt`)."""

    def __init__(self, connector: GumroadConnector) -> None:
        self._connector = connector
        self._counts: Counts | None = None

    def _all(self) -> Counts:
        if self._counts is None:
            raws = self._connector.sales_of(None)
            self._counts = count_all(c for c in map(counted_sale, raws) if c)
        return self._counts

    def units(self, product_id: str) -> int:
        return self._all().units(product_id)

    def option_units(self, product_id: str, title: str, name: str) -> int:
        return self._all().option_units(product_id, title, name)
