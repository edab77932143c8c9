"""Pure translation between Admin API JSON and oneshop's values.

Nothing here raises on bad input: a node that cannot be mapped becomes a `Rejected`
record (reason + the node's JSON with customer fields stripped), never an exception.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from oneshop.values import (
    CHANNEL_BUNDLE,
    Listing,
    Order,
    OrderLine,
    OrderStatus,
    Rejected,
    Restock,
)

# Keys that may hold customer personal data; they never reach a Rejected record.
PII_KEYS = frozenset({"email", "phone", "customer", "billingAddress", "shippingAddress",
                      "address1", "address2", "firstName", "lastName", "name", "contactEmail",
                      "note", "ip", "browserIp"})
NO_RESTOCK = "NO_RESTOCK"


class Unmappable(Exception):
    """Internal: why one node cannot be mapped (turned into a Rejected record)."""


def strip_pii(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_pii(v) for k, v in value.items() if k not in PII_KEYS}
    if isinstance(value, list):
        return [strip_pii(v) for v in value]
    return value


def rejected(reason: str, node: Any) -> Rejected:
    external_id = node.get("id") if isinstance(node, dict) else None
    return Rejected(reason=reason, raw=json.dumps(strip_pii(node), default=str),
                    external_id=external_id if isinstance(external_id, str) else None)


def field(node: Any, key: str) -> Any:
    if not isinstance(node, dict) or key not in node:
        raise Unmappable(f"missing field {key}")
    return node[key]


def gid_of(value: Any, kind: str) -> str:
    if not isinstance(value, str) or not value.startswith(f"gid://shopify/{kind}/"):
        raise Unmappable(f"not a {kind} id")
    return value


def integer(value: Any, what: str, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Unmappable(f"{what} is not an integer")
    if minimum is not None and value < minimum:
        raise Unmappable(f"{what} is below {minimum}")
    return int(value)


def text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Unmappable(f"{what} is not a string")
    return value


def sku_of(value: Any) -> str | None:
    """Shopify answers "" for a variant without SKU; exact, case-sensitive otherwise."""
    sku = text(value, "sku")
    return sku if sku else None


def decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Unmappable(f"{what} is not a decimal amount")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise Unmappable(f"{what} is not a decimal amount") from None
    if not amount.is_finite():
        raise Unmappable(f"{what} is not a finite amount")
    return amount


def timestamp(value: Any, what: str) -> datetime:
    if not isinstance(value, str):
        raise Unmappable(f"{what} is not a timestamp")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Unmappable(f"{what} is not a timestamp") from None
    if parsed.tzinfo is None:
        raise Unmappable(f"{what} has no time zone")
    return parsed.astimezone(UTC)


def available_of(level: Any) -> int | None:
    """`available` from an InventoryLevel's quantities (None when the level is absent)."""
    if level is None:
        return None
    for quantity in field(level, "quantities") or ():
        if field(quantity, "name") == "available":
            return integer(field(quantity, "quantity"), "available")
    raise Unmappable("no available quantity")


def listing_from_variant(node: Any, location_id: str) -> Listing | Rejected:
    """A variant at the configured location; untracked or unstocked → quantity None."""
    try:
        item = field(node, "inventoryItem")
        external_id = gid_of(field(item, "id"), "InventoryItem")
        variant_id = gid_of(field(node, "id"), "ProductVariant")
        title = text(node.get("displayName"), "displayName") or ""
        tracked = field(item, "tracked")
        if not isinstance(tracked, bool):
            raise Unmappable("tracked is not a boolean")
        quantity = available_of(item.get("inventoryLevel")) if tracked else None
        # Read, never written: CONTINUE lets customers buy below 0 (docs/stock-models.md).
        policy = node.get("inventoryPolicy")
        # Tracked but not stocked at the location: no count here, and not unlimited.
        state = ("active" if quantity is not None else "untracked" if not tracked
                 else "unstocked")
        if node.get("requiresComponents") is True:
            # Shopify derives a bundle's inventory from its components and refuses writes
            # to it: no count of ours, never written (values.CHANNEL_BUNDLE).
            quantity, state = None, CHANNEL_BUNDLE
        return Listing(
            external_id=external_id, sku=sku_of(node.get("sku", item.get("sku"))),
            title=title, quantity=quantity, state=state,
            sells_below_zero=policy == "CONTINUE",
            extra={"inventory_item_id": external_id, "location_id": location_id,
                   "variant_id": variant_id})
    except (Unmappable, AttributeError, TypeError) as exc:
        return rejected(f"variant: {exc}", node)


def line_from_node(node: Any, refunded: Mapping[str, int] | None = None) -> OrderLine:
    variant = field(node, "variant")
    listing = None
    if variant is not None:
        listing = gid_of(field(field(variant, "inventoryItem"), "id"), "InventoryItem")
    price = field(field(node, "originalUnitPriceSet"), "shopMoney")
    line_id = gid_of(field(node, "id"), "LineItem")
    return OrderLine(external_id=line_id,
                     sku=sku_of(node.get("sku")), listing_external_id=listing,
                     quantity=integer(field(node, "quantity"), "quantity", minimum=0),
                     unit_price=decimal(field(price, "amount"), "unit price"),
                     refunded_quantity=(refunded or {}).get(line_id, 0))


def refunded_units(refunds: Any) -> dict[str, int]:
    """Units refunded per line, restocked or not (every refund line item counts)."""
    units: dict[str, int] = {}
    for refund in refunds:
        for node in field(field(refund, "refundLineItems"), "nodes"):
            line_id = gid_of(field(field(node, "lineItem"), "id"), "LineItem")
            units[line_id] = units.get(line_id, 0) + integer(
                field(node, "quantity"), "refund quantity", minimum=0)
    return units


def is_bundle_parent(node: Any) -> bool:
    """A line for a Shopify bundle itself. Shopify documents a bundle's order as its
    components' lines (each with a `lineItemGroup`); a line for the parent as well is
    not documented, and would count the components twice: it is left out."""
    variant = node.get("variant") if isinstance(node, dict) else None
    return isinstance(variant, dict) and variant.get("requiresComponents") is True


def restocks_from_refund(refund: Any) -> list[Restock]:
    """Refund lines that put units back: Shopify already moved them (channel_applied)."""
    refund_id = gid_of(field(refund, "id"), "Refund")
    found: list[Restock] = []
    for node in field(field(refund, "refundLineItems"), "nodes"):
        restock_type = field(node, "restockType")
        if restock_type == NO_RESTOCK:
            continue
        if not isinstance(restock_type, str):
            raise Unmappable("restockType is not a string")
        line_id = gid_of(field(field(node, "lineItem"), "id"), "LineItem")
        restocked = field(node, "restocked")
        if not isinstance(restocked, bool):
            raise Unmappable("restocked is not a boolean")
        found.append(Restock(key=f"refund:{refund_id}:{line_id}", line_external_id=line_id,
                             quantity=integer(field(node, "quantity"), "refund quantity",
                                              minimum=1),
                             channel_applied=restocked))
    return found


# Financial statuses of an order the buyer paid in full (refunds come after a payment).
PAID = frozenset({"PAID", "PARTIALLY_REFUNDED", "REFUNDED"})


def paid_at_of(node: dict[str, Any]) -> datetime | None:
    """When the buyer paid. Shopify's Order has no payment time; `processedAt` ("when the
    order was processed") is read as it only for an order whose status says it is paid
    (docs/connectors/shopify.md: assumed, not documented). Unreadable: unknown, not a
    reason to reject the sale."""
    if node.get("displayFinancialStatus") not in PAID or not node.get("processedAt"):
        return None
    try:
        return timestamp(node["processedAt"], "processedAt")
    except Unmappable:
        return None


def status_of(node: dict[str, Any]) -> OrderStatus:
    if node.get("cancelledAt"):
        return "cancelled"
    financial = node.get("displayFinancialStatus")
    if financial == "REFUNDED":
        return "refunded"
    if financial == "PARTIALLY_REFUNDED":
        return "partially_refunded"
    return "closed" if node.get("closed") is True else "open"


def order_from_node(node: Any) -> Order | Rejected:
    try:
        total = field(field(node, "totalPriceSet"), "shopMoney")
        currency = text(field(total, "currencyCode"), "currency")
        if not currency:
            raise Unmappable("no currency")
        refunded = refunded_units(field(node, "refunds"))
        return Order(
            external_id=gid_of(field(node, "id"), "Order"), status=status_of(node),
            currency=currency, total=decimal(field(total, "amount"), "total"),
            created_at=timestamp(field(node, "createdAt"), "createdAt"),
            updated_at=timestamp(field(node, "updatedAt"), "updatedAt"),
            lines=tuple(line_from_node(n, refunded)
                        for n in field(field(node, "lineItems"), "nodes")
                        if not is_bundle_parent(n)),
            restocks=tuple(r for refund in field(node, "refunds")
                           for r in restocks_from_refund(refund)),
            paid_at=paid_at_of(node))
    except (Unmappable, AttributeError, TypeError) as exc:
        return rejected(f"order: {exc}", node)


def needs_full_read(node: Any, refunds_asked: int) -> bool:
    """Whether the order may have more lines, refunds or refund lines than this read
    carried (`refunds` is a plain list cut at `first`: as many as asked may mean more)."""
    try:
        if node["lineItems"]["pageInfo"]["hasNextPage"] is True:
            return True
        if len(node["refunds"]) >= refunds_asked:
            return True
        return any(r["refundLineItems"]["pageInfo"]["hasNextPage"] is True
                   for r in node["refunds"])
    except (KeyError, TypeError):
        return False


def choose_location(nodes: list[Any], wanted: str | None) -> str | None:
    """The configured location (GID or exact name), else the one that ships inventory."""
    active = [n for n in nodes if isinstance(n, dict) and n.get("isActive") is True
              and isinstance(n.get("id"), str)]
    if wanted:
        return next((n["id"] for n in active if wanted in (n.get("id"), n.get("name"))), None)
    shipping = [n for n in active if n.get("shipsInventory") is True]
    chosen = (shipping or active)[:1]
    return chosen[0]["id"] if chosen else None
