"""The emulated shop: locations, variants with inventory levels, orders and refunds.

Every mutation happens under one lock; timestamps come from the injected clock and ids
from counters, so a given seed replays the same shop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

SHOP_DOMAIN = "oneshop-sandbox.myshopify.com"
CURRENCY = "USD"


def gid(kind: str, num: int) -> str:
    return f"gid://shopify/{kind}/{num}"


def gid_num(value: str, kind: str) -> int | None:
    """The numeric id inside a GID of the given kind (None when it is not one)."""
    prefix = f"gid://shopify/{kind}/"
    if not value.startswith(prefix):
        return None
    tail = value.removeprefix(prefix).split("?", 1)[0]
    return int(tail) if tail.isdigit() else None


@dataclass(slots=True)
class Location:
    num: int
    name: str
    active: bool = True


@dataclass(slots=True)
class Variant:
    num: int
    product_num: int
    product_title: str
    title: str
    sku: str | None
    item_num: int
    price: Decimal
    tracked: bool = True
    updated_at: datetime | None = None
    # location num -> quantity name -> quantity (available, committed, on_hand)
    levels: dict[int, dict[str, int]] = field(default_factory=dict)


@dataclass(slots=True)
class LineItem:
    num: int
    variant_num: int | None
    sku: str | None
    title: str
    quantity: int
    current_quantity: int
    unit_price: str


@dataclass(slots=True)
class RefundLine:
    num: int
    line_num: int
    quantity: int
    restock_type: str
    restocked: bool
    location_num: int | None


@dataclass(slots=True)
class Refund:
    num: int
    created_at: datetime
    lines: list[RefundLine]


@dataclass(slots=True)
class Order:
    num: int
    name: str
    created_at: datetime
    updated_at: datetime
    lines: list[LineItem]
    total: str
    financial_status: str = "PAID"
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    closed: bool = False
    refunds: list[Refund] = field(default_factory=list)
    email: str = ""


class ShopState:
    """The shop's data; callers hold `lock` around every read-modify-write."""

    def __init__(self, *, seed: int, clock: Callable[[], datetime]) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self._next = 1000 + seed * 100_000
        self.locations: dict[int, Location] = {}
        self.variants: dict[int, Variant] = {}
        self.items: dict[int, int] = {}  # inventory item num -> variant num
        self.orders: dict[int, Order] = {}
        self.order_number = 1000
        self.default_location = self.add_location("Shop location")

    def next_id(self) -> int:
        self._next += 1
        return self._next

    def now(self) -> datetime:
        # Shopify's DateTime values have whole-second precision.
        return self.clock().replace(microsecond=0)

    def add_location(self, name: str, *, active: bool = True) -> int:
        num = self.next_id()
        self.locations[num] = Location(num=num, name=name, active=active)
        return num

    def add_variant(self, sku: str | None, quantity: int | None, *, title: str = "",
                    product_title: str = "", tracked: bool = True,
                    price: Decimal = Decimal("10.00"), location: int | None = None) -> Variant:
        """A product with one variant; `quantity` None leaves it unstocked at the location."""
        product_num, num, item_num = self.next_id(), self.next_id(), self.next_id()
        variant = Variant(num=num, product_num=product_num,
                          product_title=product_title or title or sku or "Product",
                          title=title or "Default Title", sku=sku, item_num=item_num,
                          price=price, tracked=tracked, updated_at=self.now())
        if quantity is not None:
            variant.levels[location or self.default_location] = {
                "available": quantity, "committed": 0, "on_hand": quantity}
        self.variants[num] = variant
        self.items[item_num] = num
        return variant

    def variant_by_item(self, item_num: int) -> Variant:
        if item_num not in self.items:
            raise KeyError(f"no inventory item {item_num}")
        return self.variants[self.items[item_num]]

    def level(self, item_num: int, location: int | None = None) -> dict[str, int] | None:
        return self.variant_by_item(item_num).levels.get(location or self.default_location)

    def adjust(self, item_num: int, location: int, name: str, delta: int) -> None:
        variant = self.variant_by_item(item_num)
        level = variant.levels.get(location)
        if level is None:
            return
        level[name] = level.get(name, 0) + delta
        if name in ("available", "committed"):
            # on_hand = available + committed (+ unavailable states, not emulated).
            level["on_hand"] = level["available"] + level.get("committed", 0)
        variant.updated_at = self.now()

    def create_order(self, lines: list[tuple[Variant, int]]) -> Order:
        """A customer checks out: available goes down, committed up (Shopify's own move)."""
        for variant, qty in lines:
            level = variant.levels.get(self.default_location)
            if variant.tracked and (level is None or level["available"] < qty):
                raise ValueError("sold out")
        now = self.now()
        items: list[LineItem] = []
        for variant, qty in lines:
            items.append(LineItem(num=self.next_id(), variant_num=variant.num, sku=variant.sku,
                                  title=variant.product_title, quantity=qty,
                                  current_quantity=qty, unit_price=f"{variant.price:.2f}"))
            if variant.tracked:
                self.adjust(variant.item_num, self.default_location, "available", -qty)
                self.adjust(variant.item_num, self.default_location, "committed", qty)
        total = sum((Decimal(li.unit_price) * li.quantity for li in items), Decimal("0"))
        self.order_number += 1
        order = Order(num=self.next_id(), name=f"#{self.order_number}", created_at=now,
                      updated_at=now, lines=items, total=f"{total:.2f}",
                      email=f"buyer{self.order_number}@example.com")
        self.orders[order.num] = order
        return order

    def refund(self, order: Order, lines: list[tuple[LineItem, int]], *, restock_type: str,
               ) -> Refund:
        """Refund lines; restocking types put the units back at the default location."""
        restock = restock_type != "NO_RESTOCK"
        refund_lines: list[RefundLine] = []
        for line, qty in lines:
            if qty <= 0 or qty > line.current_quantity:
                raise ValueError("refund quantity exceeds the refundable quantity")
            line.current_quantity -= qty
            refund_lines.append(RefundLine(num=self.next_id(), line_num=line.num, quantity=qty,
                                           restock_type=restock_type, restocked=restock,
                                           location_num=self.default_location if restock
                                           else None))
            variant = self.variants.get(line.variant_num or -1)
            if restock and variant is not None and variant.tracked:
                self.adjust(variant.item_num, self.default_location, "available", qty)
                self.adjust(variant.item_num, self.default_location, "committed", -qty)
        refund = Refund(num=self.next_id(), created_at=self.now(), lines=refund_lines)
        order.refunds.append(refund)
        left = sum(li.current_quantity for li in order.lines)
        order.financial_status = "REFUNDED" if left == 0 else "PARTIALLY_REFUNDED"
        order.updated_at = self.now()
        return refund

    def cancel(self, order: Order, *, restock: bool) -> None:
        """Cancel: Shopify refunds what is left; with restock the refund's type is CANCEL."""
        if order.cancelled_at is not None:
            return
        open_lines = [(li, li.current_quantity) for li in order.lines if li.current_quantity]
        if open_lines:
            self.refund(order, open_lines, restock_type="CANCEL" if restock else "NO_RESTOCK")
        order.cancelled_at = self.now()
        order.cancel_reason = "CUSTOMER"
        order.closed = True
        order.updated_at = order.cancelled_at
