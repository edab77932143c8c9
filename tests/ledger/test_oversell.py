"""Oversell alerts: one per episode of a SKU's stock going below zero."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from oneshop.ledger import stock, takeover
from oneshop.ledger.db import transaction
from oneshop.ledger.oversell import check_oversells

from .conftest import T0


def test_an_edit_that_crosses_zero_without_any_sale_is_alerted_not_a_crash(
        factory: sessionmaker[Session]) -> None:
    # Seed 18: a hand edit adopted below 0 for a SKU that never sold anywhere made the
    # alert's "later order" lookup fail, and the account's reconcile failed for good.
    with transaction(factory) as s:
        sku_id = stock.ensure_skus(s, {"PRINT": "print"})["PRINT"]
        takeover.adopt_count(s, sku_id=sku_id, quantity=1, key="count:1", reason="", now=T0)
        stock.record_movement(s, sku_id=sku_id, kind="channel_edit", delta=-2,
                              source_key="edit:1", account="shopify")
        (fields,) = check_oversells(s, {sku_id: -2}, T0)
    assert fields["on_hand"] == -1 and fields["orders"] == []
    assert "oneshop adjust PRINT +1" in fields["action"]
    with transaction(factory) as s:
        assert check_oversells(s, {sku_id: -2}, T0) == [], "one alert per episode"
