"""Orders changed since a cursor, with an overlap that costs ids and update times only.

The cursor is `updated_at>=<moment>`, opaque to the core, ORDER_OVERLAP behind the newest
order handed over (never past the moment a fetch started). A poll from a cursor lists the
(id, updatedAt) of every order updated since (ORDER_STAMPS: one point an order, 250 to a
request) and reads in full (ORDERS_BY_ID, nine to a request) only those this process has
not read at that updatedAt. The others are handed over again from the copy kept since, so
a poll delivers what it always did (the ledger dedupes) without paying for it again. A
poll from no cursor reads full orders page by page.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from oneshop.values import Order, OrdersPage, Rejected
from oneshop_connectors.shopify import mapping, queries
from oneshop_connectors.shopify.client import CostExceeded

if TYPE_CHECKING:
    from oneshop_connectors.shopify.adapter import ShopifyConnector

# Re-read orders updated in the last few minutes before the cursor: Shopify's search index
# (behind `query: "updated_at:…"`) can lag behind recent writes, and DateTime has whole
# seconds. Re-reading is harmless: the ledger dedupes by order id + line id.
ORDER_OVERLAP = timedelta(minutes=5)
CURSOR_PREFIX = "updated_at>="
Mapped = Order | Rejected


def format_cursor(moment: datetime) -> str:
    return CURSOR_PREFIX + moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_cursor(cursor: str) -> datetime:
    if not cursor.startswith(CURSOR_PREFIX):
        raise ValueError("not a Shopify orders cursor")
    try:
        return mapping.timestamp(cursor.removeprefix(CURSOR_PREFIX), "cursor")
    except mapping.Unmappable as exc:
        raise ValueError(f"not a Shopify orders cursor: {exc}") from None


@dataclass(frozen=True, slots=True)
class Kept:
    updated_at: str
    at: datetime
    mapped: Mapped


class ReadOrders:
    """The orders read in full lately, by id, with the updatedAt they were read at."""

    def __init__(self) -> None:
        self._kept: dict[str, Kept] = {}

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, order_id: str, updated_at: str) -> Mapped | None:
        kept = self._kept.get(order_id)
        return kept.mapped if kept is not None and kept.updated_at == updated_at else None

    def put(self, node: Any, mapped: Mapped) -> None:
        order_id = node.get("id") if isinstance(node, dict) else None
        stamp = node.get("updatedAt") if isinstance(node, dict) else None
        try:
            at = mapping.timestamp(stamp, "updatedAt")
        except mapping.Unmappable:
            return  # read again next time, as before
        if isinstance(order_id, str) and isinstance(stamp, str):
            self._kept[order_id] = Kept(stamp, at, mapped)

    def forget_before(self, floor: datetime) -> None:
        """Orders below the next poll's floor are not re-read unless they change."""
        self._kept = {k: v for k, v in self._kept.items() if v.at >= floor}


def fetch_orders(conn: ShopifyConnector, cursor: str | None) -> Iterator[OrdersPage]:
    started = conn.clock()
    since = (parse_cursor(cursor) if cursor is not None
             else started - timedelta(days=conn.settings.order_lookback_days))
    search = f"updated_at:>='{since.strftime('%Y-%m-%dT%H:%M:%SZ')}'"
    batches = full_pages(conn, search) if cursor is None else stamped_pages(conn, search)
    for mapped, last_seen, more in batches:
        # Never past the moment this fetch started; mid-way, not past what was seen.
        mark = min(last_seen or since, started) if more else started
        floor = max(since, mark - ORDER_OVERLAP)
        if not more:
            conn.read_orders.forget_before(floor)
        yield OrdersPage(orders=tuple(m for m in mapped if isinstance(m, Order)),
                         rejected=tuple(m for m in mapped if isinstance(m, Rejected)),
                         cursor=format_cursor(floor))


Batch = tuple[list[Mapped], datetime | None, bool]


def full_pages(conn: ShopifyConnector, search: str) -> Iterator[Batch]:
    derived = queries.page_size(queries.ORDER_NODE_COST, conn.settings.page_size)
    after: str | None = None
    while True:
        def page(first: int, after: str | None = after) -> dict[str, Any]:
            return conn.gql.execute(queries.ORDERS, {
                "first": first, "after": after, "query": search, **size_vars()},
                name="OneshopOrders")
        connection = conn.pages.call("OneshopOrders", derived, page)["orders"]
        mapped = [map_node(conn, node) for node in connection["nodes"]]
        more = connection["pageInfo"]["hasNextPage"] is True
        yield mapped, last_updated(mapped), more
        if not more:
            return
        after = connection["pageInfo"]["endCursor"]


def stamped_pages(conn: ShopifyConnector, search: str) -> Iterator[Batch]:
    """Per page of stamps: the orders, read in full only where new or changed."""
    derived = queries.page_size(queries.ORDER_STAMP_COST, conn.settings.page_size)
    after: str | None = None
    while True:
        def page(first: int, after: str | None = after) -> dict[str, Any]:
            return conn.gql.execute(queries.ORDER_STAMPS, {
                "first": first, "after": after, "query": search}, name="OneshopOrderStamps")
        connection = conn.pages.call("OneshopOrderStamps", derived, page)["orders"]
        stamps: list[tuple[str, str]] = [
            (n["id"], str(n.get("updatedAt"))) for n in connection["nodes"]
            if isinstance(n, dict) and isinstance(n.get("id"), str)]
        kept = {i: conn.read_orders.get(i, stamp) for i, stamp in stamps}
        read = read_by_id(conn, [i for i, found in kept.items() if found is None])
        mapped = [m for m in (kept[i] or read.get(i) for i in kept) if m is not None]
        more = connection["pageInfo"]["hasNextPage"] is True
        yield mapped, latest_stamp(stamps), more
        if not more:
            return
        after = connection["pageInfo"]["endCursor"]


def read_by_id(conn: ShopifyConnector, ids: list[str]) -> dict[str, Mapped]:
    """These orders in full (an id Shopify answers null for, deleted since, is left out)."""
    found: dict[str, Mapped] = {}
    derived = queries.ids_per_read(queries.ORDER_NODE_COST, conn.settings.page_size)
    start = 0
    while start < len(ids):
        def read(size: int, start: int = start) -> tuple[int, dict[str, Any]]:
            return size, conn.gql.execute(queries.ORDERS_BY_ID, {
                "ids": ids[start:start + size], **size_vars()}, name="OneshopOrdersById")
        size, data = conn.pages.call("OneshopOrdersById", derived, read)
        start += size
        for node in data.get("nodes") or ():
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                found[node["id"]] = map_node(conn, node)
    return found


def map_node(conn: ShopifyConnector, node: Any) -> Mapped:
    """One order node as a value (re-read alone when it carries more than a page read),
    kept for the overlap of later polls."""
    if mapping.needs_full_read(node, queries.ORDER_REFUNDS):
        node = read_order(conn, node)
    mapped = (mapping.rejected("order: more lines or refunds than one read carries", node)
              if mapping.needs_full_read(node, queries.BIG_ORDER_REFUNDS)
              else mapping.order_from_node(node))
    conn.read_orders.put(node, mapped)
    return mapped


def read_order(conn: ShopifyConnector, node: Any) -> Any:
    try:
        data = conn.gql.execute(queries.ORDER, {
            "id": node.get("id"), "lines": queries.BIG_ORDER_LINES,
            "refunds": queries.BIG_ORDER_REFUNDS,
            "refundLines": queries.BIG_ORDER_REFUND_LINES}, name="OneshopOrder")
    except CostExceeded:
        return node  # Shopify prices it dearer than we do: kept aside, not lost
    return data.get("order") or node


def size_vars() -> dict[str, int]:
    return {"lines": queries.ORDER_LINES, "refunds": queries.ORDER_REFUNDS,
            "refundLines": queries.ORDER_REFUND_LINES}


def last_updated(mapped: list[Mapped]) -> datetime | None:
    times = [m.updated_at for m in mapped if isinstance(m, Order)]
    return max(times) if times else None


def latest_stamp(stamps: list[tuple[str, str]]) -> datetime | None:
    times: list[datetime] = []
    for _, stamp in stamps:
        try:
            times.append(mapping.timestamp(stamp, "updatedAt"))
        except mapping.Unmappable:
            continue
    return max(times) if times else None
