"""The paid time and refunded units of a Shopify order (docs/connectors/shopify.md):
`processedAt` is read as the paid time only when the financial status says the order is
paid (assumed, the conservative reading); refunded units count every refund line item,
restocked or not."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from oneshop_connectors.shopify import mapping

from oneshop.values import Order


def node(financial: str, refunds: list[Any] | None = None) -> dict[str, Any]:
    money = {"shopMoney": {"amount": "30.00", "currencyCode": "EUR"}}
    return {
        "id": "gid://shopify/Order/7", "createdAt": "2026-11-01T09:00:00Z",
        "updatedAt": "2026-11-02T10:00:00Z", "processedAt": "2026-11-01T09:05:00Z",
        "cancelledAt": None, "closed": False, "displayFinancialStatus": financial,
        "totalPriceSet": money,
        "lineItems": {"nodes": [{
            "id": "gid://shopify/LineItem/11", "sku": "MUG", "quantity": 3,
            "currentQuantity": 3, "variant": None,
            "originalUnitPriceSet": {"shopMoney": {"amount": "10.00",
                                                   "currencyCode": "EUR"}}}],
            "pageInfo": {"hasNextPage": False}},
        "refunds": refunds or [],
    }


def refund(num: int, quantity: int, restock: str) -> dict[str, Any]:
    return {"id": f"gid://shopify/Refund/{num}", "refundLineItems": {"nodes": [{
        "quantity": quantity, "restockType": restock, "restocked": restock != "NO_RESTOCK",
        "lineItem": {"id": "gid://shopify/LineItem/11"}}], "pageInfo": {"hasNextPage": False}}}


@pytest.mark.parametrize(("financial", "paid"), [
    ("PAID", datetime(2026, 11, 1, 9, 5, tzinfo=UTC)),
    ("PARTIALLY_REFUNDED", datetime(2026, 11, 1, 9, 5, tzinfo=UTC)),
    ("REFUNDED", datetime(2026, 11, 1, 9, 5, tzinfo=UTC)),
    ("PENDING", None), ("AUTHORIZED", None), ("PARTIALLY_PAID", None), ("VOIDED", None),
])
def test_processed_at_is_the_paid_time_only_of_a_paid_order(financial: str,
                                                             paid: datetime | None) -> None:
    order = mapping.order_from_node(node(financial))
    assert isinstance(order, Order) and order.paid_at == paid


def test_an_unreadable_processed_at_leaves_the_paid_time_unknown_not_the_sale() -> None:
    raw = {**node("PAID"), "processedAt": "yesterday"}
    order = mapping.order_from_node(raw)
    assert isinstance(order, Order) and order.paid_at is None and order.lines[0].quantity == 3


def test_refunded_units_count_every_refund_line_restocked_or_not() -> None:
    order = mapping.order_from_node(node("PARTIALLY_REFUNDED", [
        refund(1, 1, "NO_RESTOCK"), refund(2, 1, "RETURN")]))
    assert isinstance(order, Order)
    (line,) = order.lines
    assert line.refunded_quantity == 2
    assert [r.quantity for r in order.restocks] == [1]  # only the restocked one moves stock
