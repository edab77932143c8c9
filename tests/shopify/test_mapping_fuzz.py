"""Fuzzing the pure mapping: any JSON shaped like Shopify's gives a value or a Rejected."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from oneshop_connectors.shopify import mapping

from oneshop.values import Listing, Order, Rejected

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=True), st.text(max_size=12))
junk = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)
skus = st.one_of(st.none(), st.text(alphabet=st.characters(codec="utf-8"), max_size=20))


def maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(value, junk)


def gids(kind: str) -> st.SearchStrategy[Any]:
    return maybe(st.integers(min_value=0).map(lambda n: f"gid://shopify/{kind}/{n}"))


money = st.fixed_dictionaries({"shopMoney": maybe(st.fixed_dictionaries({
    "amount": maybe(st.one_of(st.decimals(allow_nan=True).map(str), st.text(max_size=6))),
    "currencyCode": maybe(st.sampled_from(["USD", "EUR", ""]))}))})
quantities = maybe(st.lists(st.fixed_dictionaries({
    "name": maybe(st.just("available")),
    "quantity": maybe(st.integers(min_value=-(2**40), max_value=2**40))}), max_size=2))
variant = st.fixed_dictionaries({
    "id": gids("ProductVariant"), "sku": maybe(skus), "displayName": maybe(st.text()),
    "inventoryItem": maybe(st.fixed_dictionaries({
        "id": gids("InventoryItem"), "sku": maybe(skus), "tracked": maybe(st.booleans()),
        "inventoryLevel": maybe(st.one_of(st.none(), st.fixed_dictionaries(
            {"quantities": quantities})))}))})
line = st.fixed_dictionaries({
    "id": gids("LineItem"), "sku": maybe(skus),
    "quantity": maybe(st.integers(min_value=-5, max_value=2**40)),
    "currentQuantity": maybe(st.integers()),
    "variant": maybe(st.one_of(st.none(), st.fixed_dictionaries(
        {"id": gids("ProductVariant"), "inventoryItem": st.fixed_dictionaries(
            {"id": gids("InventoryItem")})}))),
    "originalUnitPriceSet": maybe(money)})
refund = st.fixed_dictionaries({"id": gids("Refund"), "refundLineItems": maybe(
    st.fixed_dictionaries({"nodes": maybe(st.lists(st.fixed_dictionaries({
        "quantity": maybe(st.integers(min_value=-3, max_value=2**40)),
        "restockType": maybe(st.sampled_from(["RETURN", "CANCEL", "NO_RESTOCK"])),
        "restocked": maybe(st.booleans()),
        "lineItem": st.fixed_dictionaries({"id": gids("LineItem")})}), max_size=3))}))})
timestamps = maybe(st.datetimes(timezones=st.none()).map(lambda d: d.isoformat() + "Z"))
order = st.fixed_dictionaries({
    "id": gids("Order"), "createdAt": timestamps, "updatedAt": timestamps,
    "cancelledAt": maybe(st.none()), "closed": maybe(st.booleans()),
    "displayFinancialStatus": maybe(st.sampled_from(["PAID", "REFUNDED"])),
    "totalPriceSet": maybe(money), "email": st.just("someone@example.com"),
    "lineItems": maybe(st.fixed_dictionaries({"nodes": maybe(st.lists(line, max_size=3))})),
    "refunds": maybe(st.lists(refund, max_size=2))})


@settings(max_examples=300, deadline=None)
@given(maybe(variant))
def test_any_variant_json_maps_to_a_listing_or_a_rejected_record(node: Any) -> None:
    result = mapping.listing_from_variant(node, "gid://shopify/Location/1")
    assert isinstance(result, Listing | Rejected)
    if isinstance(result, Listing):
        assert result.quantity is None or isinstance(result.quantity, int)
        assert result.external_id.startswith("gid://shopify/InventoryItem/")
    else:
        json.loads(result.raw)


@settings(max_examples=300, deadline=None)
@given(maybe(order))
def test_any_order_json_maps_to_an_order_or_a_rejected_record(node: Any) -> None:
    result = mapping.order_from_node(node)
    assert isinstance(result, Order | Rejected)
    if isinstance(result, Order):
        assert result.created_at.tzinfo is not None and result.total.is_finite()
        assert all(li.quantity >= 0 for li in result.lines)
        assert all(r.quantity > 0 for r in result.restocks)
    else:
        assert "someone@example.com" not in result.raw


@settings(max_examples=100, deadline=None)
@given(junk)
def test_needs_full_read_and_location_choice_never_raise(node: Any) -> None:
    assert mapping.needs_full_read(node, 2) in (True, False)
    nodes = node if isinstance(node, list) else [node]
    for wanted in (None, "Shop location"):
        chosen = mapping.choose_location(nodes, wanted)
        assert chosen is None or isinstance(chosen, str)


def test_choose_location_ignores_nodes_without_an_id() -> None:
    nodes = [{"isActive": True, "name": "A", "shipsInventory": True},
             {"isActive": True, "name": "A", "id": "gid://shopify/Location/2"}]
    assert mapping.choose_location(nodes, "A") == "gid://shopify/Location/2"
    assert mapping.choose_location(nodes, None) == "gid://shopify/Location/2"
