"""Shopify's own bundles (`requiresComponents`): the sandbox derives the parent's
inventory and refuses writes to it (the whole batch fails), sells it as component line
items grouped by `lineItemGroup`; the connector never writes a parent and books each
component once, never the parent as well."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from graphql import GraphQLSchema, parse, validate
from oneshop_connectors.shopify import queries

from oneshop.values import CHANNEL_BUNDLE, StockLevel

from .conftest import Rig

GROUPS = """
query Groups($id: ID!) {
  order(id: $id) {
    lineItems(first: 10) {
      nodes { sku quantity lineItemGroup { id quantity title variantId variantSku } }
    }
  }
}
"""


def gift(rig: Rig) -> tuple[str, str, str]:
    mug = rig.sandbox.seed_listing("MUG", 9)
    card = rig.sandbox.seed_listing("CARD", 8)
    return mug, card, rig.sandbox.add_bundle("GIFT", [(mug, 1), (card, 2)])


def post(rig: Rig, query: str, variables: dict[str, Any]) -> Any:
    with httpx.Client(transport=rig.sandbox.transport(), base_url="http://sandbox") as client:
        return client.post("/admin/api/2026-04/graphql.json",
                           json={"query": query, "variables": variables},
                           headers={"X-Shopify-Access-Token": rig.sandbox.static_token}).json()


def test_a_bundle_parent_is_read_as_a_channel_bundle_with_no_count_of_ours(rig: Rig) -> None:
    mug, card, parent = gift(rig)
    assert rig.sandbox.quantity(parent) == 4  # min(9 // 1, 8 // 2), derived by Shopify
    listings = rig.listings()
    assert (listings[parent].state, listings[parent].quantity) == (CHANNEL_BUNDLE, None)
    assert (listings[mug].state, listings[mug].quantity) == ("active", 9)
    rig.sandbox.sell(card, 3)
    assert rig.sandbox.quantity(parent) == 2


def test_a_write_to_a_parent_fails_the_whole_batch(rig: Rig) -> None:
    mug, _, parent = gift(rig)
    location = rig.connector.location_id()
    body = post(rig, queries.SET_QUANTITIES, {"key": "k1", "input": {
        "name": "available", "reason": "correction",
        "referenceDocumentUri": "gid://oneshop/Push/1", "quantities": [
            {"inventoryItemId": mug, "locationId": location, "quantity": 3,
             "changeFromQuantity": 9},
            {"inventoryItemId": parent, "locationId": location, "quantity": 1,
             "changeFromQuantity": 4}]}})
    payload = body["data"]["inventorySetQuantities"]
    assert [e["code"] for e in payload["userErrors"]] == ["NON_MUTABLE_INVENTORY_ITEM"]
    assert payload["userErrors"][0]["field"] == ["input", "quantities", "1",
                                                 "inventoryItemId"]
    assert rig.sandbox.quantity(mug) == 9  # nothing of the batch was applied


def test_the_connector_never_sends_a_parent_and_writes_the_rest(rig: Rig) -> None:
    mug, _, parent = gift(rig)
    listings = rig.listings()
    writes = rig.sandbox.writes
    results = rig.connector.push_stock([
        StockLevel(listing=listings[parent], quantity=1, observed=None, push_id="p1"),
        StockLevel(listing=listings[mug], quantity=3, observed=9, push_id="p2")])
    assert [(r.status, r.observed) for r in results] == [("failed", None), ("ok", 3)]
    assert rig.sandbox.writes == writes + 1  # one mutation, without the parent
    assert rig.sandbox.quantity(mug) == 3
    assert rig.sandbox.quantity(parent) == 3  # derived from the mug written


@pytest.mark.parametrize("parent_lines", [False, True])
def test_a_bundle_order_books_each_component_once_never_the_parent(
        rig: Rig, parent_lines: bool) -> None:
    mug, card, parent = gift(rig)
    rig.sandbox.bundle_parent_lines = parent_lines
    order_id = rig.sandbox.sell(parent, 2)
    assert (rig.sandbox.quantity(mug), rig.sandbox.quantity(card)) == (7, 4)
    orders = {o.external_id: o for page in rig.connector.fetch_orders(None)
              for o in page.orders}
    (order,) = orders.values()
    assert sorted((ln.sku, ln.listing_external_id, ln.quantity) for ln in order.lines) == [
        ("CARD", card, 4), ("MUG", mug, 2)]
    lines = post(rig, GROUPS, {"id": order_id})["data"]["order"]["lineItems"]["nodes"]
    grouped = [(n["sku"], n["quantity"], n["lineItemGroup"]) for n in lines]
    assert len(grouped) == (3 if parent_lines else 2)
    for sku, _, group in grouped:
        if sku == "GIFT":
            assert group is None  # the parent line (undocumented) moves no units
            continue
        assert (group["quantity"], group["variantSku"], group["title"]) == (2, "GIFT", "GIFT")


def test_a_refund_of_a_bundle_restocks_its_components(rig: Rig) -> None:
    mug, card, parent = gift(rig)
    order_id = rig.sandbox.sell(parent, 1)
    rig.sandbox.cancel(order_id, restock=True)
    assert (rig.sandbox.quantity(mug), rig.sandbox.quantity(card)) == (9, 8)
    (order,) = [o for page in rig.connector.fetch_orders(None) for o in page.orders]
    assert sorted(r.quantity for r in order.restocks) == [1, 2]


def test_the_groups_query_is_valid_against_2026_04(real: GraphQLSchema) -> None:
    assert validate(real, parse(GROUPS)) == []
