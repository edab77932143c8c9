"""The paid time and refunded units of a Gumroad sale (docs/connectors/gumroad.md): a
sale is charged when made; a full refund or chargeback refunds its units, a partial one
(an amount) none."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from oneshop_connectors.gumroad import mapping

from oneshop.values import Order


def sale(**flags: Any) -> dict[str, Any]:
    return {"id": "s-1", "created_at": "2026-11-01T09:00:00Z", "quantity": 2, "price": 3000,
            "product_id": "p-1", "variants": {}, **flags}


@pytest.mark.parametrize(("flags", "refunded"), [
    ({}, 0), ({"refunded": True}, 2), ({"chargedback": True}, 2),
    ({"partially_refunded": True}, 0)])
def test_a_full_refund_refunds_the_units_and_the_sale_was_paid_when_made(
        flags: dict[str, Any], refunded: int) -> None:
    order = mapping.map_sale(sale(**flags), None, restock_refunds=False)
    assert isinstance(order, Order)
    assert order.paid_at == datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    assert order.lines[0].refunded_quantity == refunded
