"""The Shopify connector: catalog (catalog.py), orders changed since a cursor (orders.py),
and stock pushes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from oneshop.errors import ConfigError
from oneshop.http import new_client
from oneshop.protocols import ConnectorContext
from oneshop.values import (
    CHANNEL_BUNDLE,
    Budget,
    ListingsPage,
    OrdersPage,
    PushResult,
    StockLevel,
)
from oneshop_connectors.shopify import catalog, mapping, orders, queries
from oneshop_connectors.shopify.auth import ClientCredentials, StaticToken, TokenSource
from oneshop_connectors.shopify.bulk import BulkReader
from oneshop_connectors.shopify.client import GraphQLClient
from oneshop_connectors.shopify.orders import ORDER_OVERLAP, format_cursor, parse_cursor
from oneshop_connectors.shopify.paging import PageSizes

if TYPE_CHECKING:
    from oneshop_connectors.shopify import ShopifySettings

STALE = "CHANGE_FROM_QUANTITY_STALE"
__all__ = ["ORDER_OVERLAP", "ShopifyConnector", "format_cursor", "idempotency_key",
           "parse_cursor"]


def idempotency_key(levels: Sequence[StockLevel]) -> str:
    """Derived from the push ids only, so a retry of the same push reuses it."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "oneshop:push:" + "|".join(
        level.push_id for level in levels)))


class ShopifyConnector:
    # Pushes are compare-and-set (changeFromQuantity): a sale landing after our read
    # makes the write fail as stale instead of erasing it.
    blind_writes = False

    @staticmethod
    def write_group(external_id: str) -> str:
        """One inventory item per write."""
        return external_id

    def __init__(self, settings: ShopifySettings, ctx: ConnectorContext) -> None:
        self._settings = settings
        self._ctx = ctx
        base_url = settings.base_url or f"https://{settings.shop}"
        self._http = new_client(ctx, base_url, headers={"Accept": "application/json"})
        auth: TokenSource
        if settings.access_token is not None:
            auth = StaticToken(settings.access_token.get_secret_value())
        else:
            assert settings.client_id is not None and settings.client_secret is not None
            auth = ClientCredentials(self._http, ctx, client_id=settings.client_id,
                                     client_secret=settings.client_secret.get_secret_value())
        self.auth = auth
        self.gql = GraphQLClient(self._http, ctx, auth, api_version=settings.api_version)
        self._location: str | None = None
        self.pages = PageSizes(ctx.account)
        self.bulk = BulkReader(self.gql, self._http, ctx)
        # Variants seen by the last catalog read (None: not read yet in this process).
        self.catalog_size: int | None = None
        self.read_orders = orders.ReadOrders()

    @property
    def settings(self) -> ShopifySettings:
        return self._settings

    @property
    def account(self) -> str:
        return self._ctx.account

    def clock(self) -> datetime:
        return self._ctx.clock()

    def __repr__(self) -> str:
        return f"ShopifyConnector(shop={self._settings.shop!r})"

    def budget(self) -> Budget:
        throttle = self.gql.throttle
        return Budget(remaining=int(throttle.available) if throttle else None,
                      limit=int(throttle.maximum) if throttle else None,
                      requests=self.gql.requests, throttle_wait_s=self.gql.throttle_wait_s)

    def close(self) -> None:
        self._http.close()

    # --- catalog ------------------------------------------------------------------
    def location_id(self) -> str:
        """The configured location's GID (default: the active one that ships inventory)."""
        if self._location is None:
            nodes: list[Any] = []
            after: str | None = None
            while True:
                def page(first: int, after: str | None = after) -> dict[str, Any]:
                    return self.gql.execute(queries.LOCATIONS, {"first": first,
                                                                "after": after},
                                            name="OneshopLocations")
                data = self.pages.call("OneshopLocations", queries.MAX_PAGE, page)
                nodes.extend(data["locations"]["nodes"])
                info = data["locations"]["pageInfo"]
                if not info["hasNextPage"]:
                    break
                after = info["endCursor"]
            self._location = mapping.choose_location(nodes, self._settings.location)
            if self._location is None:
                raise ConfigError([f"shopify.location: no active location matches "
                                   f"{self._settings.location or '(default)'}"])
        return self._location

    def fetch_listings(self) -> Iterator[ListingsPage]:
        return catalog.fetch_listings(self)

    # --- orders -------------------------------------------------------------------
    def fetch_orders(self, cursor: str | None) -> Iterator[OrdersPage]:
        return orders.fetch_orders(self, cursor)

    # --- stock --------------------------------------------------------------------
    def push_stock(self, levels: Sequence[StockLevel]) -> Sequence[PushResult]:
        """One inventorySetQuantities per ≤250 levels, compare-and-set on `observed`."""
        results: dict[int, PushResult] = {}
        indexed = []
        for i, level in enumerate(levels):
            if level.listing.state == CHANNEL_BUNDLE:
                # Shopify refuses a write to a bundle parent and fails the whole batch.
                results[i] = PushResult(external_id=level.listing.external_id,
                                        status="failed", observed=None, listing=level.listing,
                                        detail="a Shopify bundle: its inventory is derived")
            else:
                indexed.append((i, level))
        for start in range(0, len(indexed), queries.MAX_PAGE):
            self._push_batch(indexed[start:start + queries.MAX_PAGE], results)
        return [results[i] for i in range(len(levels))]

    def _quantity_input(self, level: StockLevel) -> dict[str, Any]:
        extra = level.listing.extra
        return {"inventoryItemId": extra.get("inventory_item_id", level.listing.external_id),
                "locationId": extra.get("location_id") or self.location_id(),
                "quantity": level.quantity,
                # Explicit null (never omitted) when we have not observed a quantity yet.
                "changeFromQuantity": level.observed}

    def _push_batch(self, batch: list[tuple[int, StockLevel]],
                    results: dict[int, PushResult]) -> None:
        while batch:
            levels = [level for _, level in batch]
            key = idempotency_key(levels)
            uri = (f"gid://oneshop/Push/{levels[0].push_id}" if len(levels) == 1
                   else f"gid://oneshop/PushBatch/{key}")
            data = self.gql.execute(queries.SET_QUANTITIES, {"key": key, "input": {
                "name": "available", "reason": "correction", "referenceDocumentUri": uri,
                "quantities": [self._quantity_input(level) for level in levels]}},
                name="OneshopSetQuantities")
            payload = data.get("inventorySetQuantities") or {}
            errors = payload.get("userErrors") or []
            if not errors:
                self._record_ok(batch, payload, results)
                return
            failed = self._record_errors(batch, errors, results)
            batch = [pair for pos, pair in enumerate(batch) if pos not in failed]

    def _record_ok(self, batch: list[tuple[int, StockLevel]], payload: dict[str, Any],
                   results: dict[int, PushResult]) -> None:
        group = payload.get("inventoryAdjustmentGroup") or {}
        after = {c["item"]["id"]: c["quantityAfterChange"] for c in group.get("changes") or ()
                 if c.get("name") == "available" and c.get("item")}
        for index, level in batch:
            item = self._quantity_input(level)["inventoryItemId"]
            observed = after.get(item, level.quantity)
            results[index] = PushResult(external_id=level.listing.external_id, status="ok",
                                        observed=observed, listing=level.listing)

    def _record_errors(self, batch: list[tuple[int, StockLevel]], errors: list[Any],
                       results: dict[int, PushResult]) -> set[int]:
        """Mark the levels the errors name; an error naming none fails the whole batch."""
        by_pos: dict[int, dict[str, Any]] = {}
        for error in errors:
            path = error.get("field") or []
            pos = int(path[2]) if len(path) > 2 and str(path[2]).isdigit() else None
            if pos is None or pos >= len(batch):
                by_pos = {p: error for p in range(len(batch))}
                break
            by_pos.setdefault(pos, error)
        stale_items = [self._quantity_input(batch[p][1])["inventoryItemId"]
                       for p, e in by_pos.items() if e.get("code") == STALE]
        current = self.read_available(stale_items) if stale_items else {}
        for pos, error in by_pos.items():
            index, level = batch[pos]
            if error.get("code") == STALE:
                item = self._quantity_input(level)["inventoryItemId"]
                results[index] = PushResult(external_id=level.listing.external_id,
                                            status="stale", observed=current.get(item),
                                            detail="changed on Shopify", listing=level.listing)
            else:
                results[index] = PushResult(external_id=level.listing.external_id,
                                            status="failed", observed=None,
                                            detail=f"{error.get('code')}: "
                                                   f"{error.get('message')!s:.200}",
                                            listing=level.listing)
        return set(by_pos)

    def read_available(self, item_ids: list[str]) -> dict[str, int | None]:
        """`available` at our location for these inventory items, as Shopify shows it now."""
        found: dict[str, int | None] = {}
        location = self.location_id()
        derived = queries.ids_per_read(queries.ITEM_LEVEL_COST)
        start = 0
        while start < len(item_ids):
            def read(size: int, start: int = start) -> tuple[int, dict[str, Any]]:
                return size, self.gql.execute(queries.ITEM_LEVELS, {
                    "ids": item_ids[start:start + size], "locationId": location},
                    name="OneshopItemLevels")
            size, data = self.pages.call("OneshopItemLevels", derived, read)
            start += size
            for node in data.get("nodes") or ():
                if isinstance(node, dict) and isinstance(node.get("id"), str):
                    try:
                        found[node["id"]] = mapping.available_of(node.get("inventoryLevel"))
                    except mapping.Unmappable:
                        found[node["id"]] = None
        return found
