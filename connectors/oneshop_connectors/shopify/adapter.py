"""The Shopify connector: catalog, orders changed since a cursor, and stock pushes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from oneshop.errors import ConfigError
from oneshop.http import new_client
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
from oneshop_connectors.shopify import mapping, queries
from oneshop_connectors.shopify.auth import ClientCredentials, StaticToken, TokenSource
from oneshop_connectors.shopify.client import CostExceeded, GraphQLClient
from oneshop_connectors.shopify.paging import PageSizes

if TYPE_CHECKING:
    from oneshop_connectors.shopify import ShopifySettings

# Re-read orders updated in the last few minutes before the cursor: Shopify's search index
# (behind `query: "updated_at:…"`) can lag behind recent writes, and DateTime has whole
# seconds. Re-reading is harmless: the ledger dedupes by order id + line id.
ORDER_OVERLAP = timedelta(minutes=5)
CURSOR_PREFIX = "updated_at>="
STALE = "CHANGE_FROM_QUANTITY_STALE"


def format_cursor(moment: datetime) -> str:
    return CURSOR_PREFIX + moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_cursor(cursor: str) -> datetime:
    if not cursor.startswith(CURSOR_PREFIX):
        raise ValueError("not a Shopify orders cursor")
    try:
        return mapping.timestamp(cursor.removeprefix(CURSOR_PREFIX), "cursor")
    except mapping.Unmappable as exc:
        raise ValueError(f"not a Shopify orders cursor: {exc}") from None


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
        location = self.location_id()
        derived = queries.page_size(queries.VARIANT_NODE_COST, self._settings.page_size)
        after: str | None = None
        while True:
            def page(first: int, after: str | None = after) -> dict[str, Any]:
                return self.gql.execute(queries.VARIANTS, {
                    "first": first, "after": after, "locationId": location},
                    name="OneshopVariants")
            data = self.pages.call("OneshopVariants", derived, page)
            connection = data["productVariants"]
            listings: list[Listing] = []
            rejected: list[Rejected] = []
            for node in connection["nodes"]:
                mapped = mapping.listing_from_variant(node, location)
                (listings if isinstance(mapped, Listing) else rejected).append(mapped)  # type: ignore[arg-type]
            yield ListingsPage(listings=tuple(listings), rejected=tuple(rejected))
            if not connection["pageInfo"]["hasNextPage"]:
                return
            after = connection["pageInfo"]["endCursor"]

    # --- orders -------------------------------------------------------------------
    def fetch_orders(self, cursor: str | None) -> Iterator[OrdersPage]:
        started = self._ctx.clock()
        since = (parse_cursor(cursor) if cursor is not None
                 else started - timedelta(days=self._settings.order_lookback_days))
        search = f"updated_at:>='{since.strftime('%Y-%m-%dT%H:%M:%SZ')}'"
        derived = queries.page_size(queries.ORDER_NODE_COST, self._settings.page_size)
        after: str | None = None
        while True:
            def page(first: int, after: str | None = after) -> dict[str, Any]:
                return self.gql.execute(queries.ORDERS, {
                    "first": first, "after": after, "query": search,
                    "lines": queries.ORDER_LINES, "refunds": queries.ORDER_REFUNDS,
                    "refundLines": queries.ORDER_REFUND_LINES}, name="OneshopOrders")
            data = self.pages.call("OneshopOrders", derived, page)
            connection = data["orders"]
            orders, rejected, last_seen = self._map_orders(connection["nodes"])
            more = connection["pageInfo"]["hasNextPage"] is True
            # Never past the moment this fetch started; mid-way, not past what was seen.
            mark = min(last_seen or since, started) if more else started
            yield OrdersPage(orders=tuple(orders), rejected=tuple(rejected),
                             cursor=format_cursor(max(since, mark - ORDER_OVERLAP)))
            if not more:
                return
            after = connection["pageInfo"]["endCursor"]

    def _map_orders(self, nodes: list[Any]) -> tuple[list[Order], list[Rejected], datetime | None]:
        orders: list[Order] = []
        rejected: list[Rejected] = []
        last_seen: datetime | None = None
        for node in nodes:
            if mapping.needs_full_read(node, queries.ORDER_REFUNDS):
                node = self._read_order(node)
            mapped = (mapping.rejected("order: more lines or refunds than one read carries",
                                       node)
                      if mapping.needs_full_read(node, queries.BIG_ORDER_REFUNDS)
                      else mapping.order_from_node(node))
            if isinstance(mapped, Order):
                orders.append(mapped)
                last_seen = max(last_seen or mapped.updated_at, mapped.updated_at)
            else:
                rejected.append(mapped)
        return orders, rejected, last_seen

    def _read_order(self, node: Any) -> Any:
        try:
            data = self.gql.execute(queries.ORDER, {
                "id": node.get("id"), "lines": queries.BIG_ORDER_LINES,
                "refunds": queries.BIG_ORDER_REFUNDS,
                "refundLines": queries.BIG_ORDER_REFUND_LINES}, name="OneshopOrder")
        except CostExceeded:
            return node  # Shopify prices it dearer than we do: kept aside, not lost
        return data.get("order") or node

    # --- stock --------------------------------------------------------------------
    def push_stock(self, levels: Sequence[StockLevel]) -> Sequence[PushResult]:
        """One inventorySetQuantities per ≤250 levels, compare-and-set on `observed`."""
        results: dict[int, PushResult] = {}
        indexed = list(enumerate(levels))
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
