"""The paid time and refunded units of an Etsy receipt (docs/connectors/etsy.md): the
earliest `paid_timestamp` of a receipt with `is_paid`; refunds are amounts, so only a
fully refunded receipt counts its units refunded."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from oneshop_connectors.etsy import mapping

from oneshop.values import Order

PAID_1 = int(datetime(2026, 11, 1, 9, 5, tzinfo=UTC).timestamp())


def receipt(status: str = "paid", *, is_paid: bool = True,
            stamps: tuple[Any, ...] = (PAID_1 + 60, PAID_1)) -> dict[str, Any]:
    money = {"amount": 1000, "divisor": 100, "currency_code": "EUR"}
    return {"receipt_id": 5, "status": status, "is_paid": is_paid,
            "grandtotal": {**money, "amount": 2000},
            "created_timestamp": PAID_1 - 30, "updated_timestamp": PAID_1 + 90,
            "transactions": [{"transaction_id": 10 + i, "quantity": 1 + i, "price": money,
                              "sku": "MUG", "listing_id": 77, "product_data": [],
                              "paid_timestamp": stamp} for i, stamp in enumerate(stamps)]}


def test_the_paid_time_is_the_earliest_paid_timestamp() -> None:
    order = mapping.map_receipt(receipt())
    assert isinstance(order, Order) and order.paid_at == datetime(2026, 11, 1, 9, 5, tzinfo=UTC)


@pytest.mark.parametrize("raw", [receipt(is_paid=False), receipt(stamps=(None, "x"))])
def test_unpaid_or_unreadable_leaves_the_paid_time_empty_and_books_the_sale(
        raw: dict[str, Any]) -> None:
    order = mapping.map_receipt(raw)
    assert isinstance(order, Order) and order.paid_at is None and len(order.lines) == 2


@pytest.mark.parametrize(("status", "refunded"), [
    ("fully refunded", [1, 2]), ("partially refunded", [0, 0]), ("paid", [0, 0]),
    ("canceled", [0, 0])])
def test_only_a_full_refund_says_which_units_were_refunded(status: str,
                                                           refunded: list[int]) -> None:
    order = mapping.map_receipt(receipt(status))
    assert isinstance(order, Order)
    assert [line.refunded_quantity for line in order.lines] == refunded
