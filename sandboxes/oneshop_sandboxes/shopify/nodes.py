"""Query resolvers: the shop's records as the Admin API's JSON objects.

graphql-core's default resolver reads dict keys and calls callables with the field's
arguments, so each node is a dict whose costly or argument-taking fields are functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextvars import ContextVar
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from graphql import GraphQLError

from oneshop_sandboxes.shopify import search
from oneshop_sandboxes.shopify.state import (
    CURRENCY,
    SHOP_DOMAIN,
    LineItem,
    Order,
    Refund,
    ShopState,
    Variant,
    gid,
    gid_num,
)

T = TypeVar("T")
JSON = dict[str, Any]
MAX_PAGE = 250
# Set while a bulk operation runs its query: connections take no `first` and have no end.
UNBOUNDED: ContextVar[bool] = ContextVar("UNBOUNDED", default=False)


def iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def money(amount: str) -> JSON:
    one = {"amount": amount, "currencyCode": CURRENCY}
    return {"shopMoney": one, "presentmentMoney": one}


def paginate(items: Sequence[T], *, key: Callable[[T], tuple[int, str | None]],
             to_node: Callable[[T], JSON], first: int | None, after: str | None) -> JSON:
    """A Relay connection; cursors name the last node's sort value, so they survive edits."""
    if UNBOUNDED.get():
        first = len(items)
    elif first is None:
        raise GraphQLError("you must provide one of first or last",
                           extensions={"code": "BAD_REQUEST"})
    elif first > MAX_PAGE or first < 0:
        raise GraphQLError(f"The maximum number of items per page is {MAX_PAGE}.",
                           extensions={"code": "BAD_REQUEST"})
    start = 0
    if after:
        try:
            last_id, last_value = search.decode_cursor(after)
        except ValueError as exc:
            raise GraphQLError(str(exc), extensions={"code": "BAD_REQUEST"}) from None
        mark = (last_value or "", last_id)
        start = next((i for i, item in enumerate(items)
                      if (key(item)[1] or "", key(item)[0]) > mark), len(items))
    page = items[start:start + first]
    edges = [{"cursor": search.encode_cursor(*key(item)), "node": to_node(item)} for item in page]
    return {"edges": edges, "nodes": [e["node"] for e in edges], "pageInfo": {
        "hasNextPage": start + first < len(items), "hasPreviousPage": start > 0,
        "startCursor": edges[0]["cursor"] if edges else None,
        "endCursor": edges[-1]["cursor"] if edges else None}}


class Nodes:
    """Builds the JSON objects of one shop; call only with the state lock held."""

    def __init__(self, state: ShopState) -> None:
        self.state = state

    def location(self, num: int) -> JSON:
        loc = self.state.locations[num]
        return {"__typename": "Location", "id": gid("Location", num), "name": loc.name,
                "isActive": loc.active, "shipsInventory": num == self.state.default_location,
                "fulfillsOnlineOrders": loc.active}

    def variant(self, v: Variant) -> JSON:
        return {"__typename": "ProductVariant", "id": gid("ProductVariant", v.num), "sku": v.sku,
                "title": v.title, "displayName": f"{v.product_title} - {v.title}",
                "product": {"__typename": "Product", "id": gid("Product", v.product_num),
                            "title": v.product_title},
                "inventoryItem": lambda info: self.item(v),
                "inventoryQuantity": sum(lv["available"] for lv in v.levels.values()),
                "updatedAt": iso(v.updated_at)}

    def item(self, v: Variant) -> JSON:
        return {"__typename": "InventoryItem", "id": gid("InventoryItem", v.item_num),
                "sku": v.sku, "tracked": v.tracked, "updatedAt": iso(v.updated_at),
                "variant": lambda info: self.variant(v),
                "inventoryLevel": partial(self._level_arg, v)}

    def _level_arg(self, v: Variant, info: Any, locationId: str,
                   includeInactive: bool = False) -> JSON | None:
        num = gid_num(locationId, "Location")
        return self.level(v, num) if num is not None else None

    def level(self, v: Variant, location_num: int) -> JSON | None:
        levels = v.levels.get(location_num)
        if levels is None or location_num not in self.state.locations:
            return None
        level_id = f"gid://shopify/InventoryLevel/{location_num}?inventory_item_id={v.item_num}"

        def quantities(info: Any, names: list[str]) -> list[JSON]:
            return [{"__typename": "InventoryQuantity", "id": f"{level_id}&name={n}", "name": n,
                     "quantity": levels.get(n, 0), "updatedAt": iso(v.updated_at)} for n in names]

        return {"__typename": "InventoryLevel", "id": level_id, "isActive": True,
                "item": lambda info: self.item(v),
                "location": lambda info: self.location(location_num),
                "quantities": quantities, "updatedAt": iso(v.updated_at)}

    def line(self, line: LineItem) -> JSON:
        variant = self.state.variants.get(line.variant_num or -1)
        return {"__typename": "LineItem", "id": gid("LineItem", line.num), "sku": line.sku,
                "name": line.title, "title": line.title, "quantity": line.quantity,
                "currentQuantity": line.current_quantity,
                "restockable": line.current_quantity > 0,
                "variant": self.variant(variant) if variant is not None else None,
                "originalUnitPriceSet": money(line.unit_price)}

    def refund(self, order: Order, refund: Refund) -> JSON:
        lines = {li.num: li for li in order.lines}

        def refund_lines(info: Any, first: int | None = None, after: str | None = None,
                         **_: Any) -> JSON:
            return paginate(refund.lines, key=lambda r: (r.num, None), first=first, after=after,
                            to_node=lambda r: {
                                "id": gid("RefundLineItem", r.num), "quantity": r.quantity,
                                "lineItem": self.line(lines[r.line_num]),
                                "restockType": r.restock_type, "restocked": r.restocked,
                                "location": self.location(r.location_num)
                                if r.location_num is not None else None})

        return {"__typename": "Refund", "id": gid("Refund", refund.num), "note": None,
                "createdAt": iso(refund.created_at), "refundLineItems": refund_lines}

    def order(self, order: Order) -> JSON:
        def line_items(info: Any, first: int | None = None, after: str | None = None,
                       **_: Any) -> JSON:
            return paginate(order.lines, key=lambda li: (li.num, None), first=first,
                            after=after, to_node=self.line)

        def refunds(info: Any, first: int | None = None) -> list[JSON]:
            chosen = order.refunds[:first] if first is not None else order.refunds
            return [self.refund(order, r) for r in chosen]

        return {"__typename": "Order", "id": gid("Order", order.num), "name": order.name,
                "createdAt": iso(order.created_at), "updatedAt": iso(order.updated_at),
                "cancelledAt": iso(order.cancelled_at), "cancelReason": order.cancel_reason,
                "closed": order.closed, "closedAt": iso(order.cancelled_at), "test": False,
                "currencyCode": CURRENCY, "displayFinancialStatus": order.financial_status,
                "totalPriceSet": money(order.total), "lineItems": line_items,
                "refunds": refunds}

    def shop(self) -> JSON:
        return {"__typename": "Shop", "id": "gid://shopify/Shop/1", "name": "oneshop sandbox",
                "myshopifyDomain": SHOP_DOMAIN, "currencyCode": CURRENCY}

    def by_gid(self, value: str) -> JSON | None:
        """The `node(id:)` lookup for the kinds the sandbox knows."""
        st = self.state
        for kind, table, build in (
            ("InventoryItem", st.items, lambda n: self.item(st.variant_by_item(n))),
            ("ProductVariant", st.variants, lambda n: self.variant(st.variants[n])),
            ("Order", st.orders, lambda n: self.order(st.orders[n])),
            ("Location", st.locations, self.location),
        ):
            num = gid_num(value, kind)
            if num is not None:
                return build(num) if num in table else None
        return None
