"""Query cost: every document the connector sends stays within Shopify's 1,000-point cap
under the conservative reading of its cost rules, priced against the real 2026-04 schema.

The reading (docs/connectors/shopify.md): objects 1, a connection 2 + first × node, and a
plain list field (`Order.refunds(first:)`, `nodes(ids:)`) N × one item, which Shopify does
not document. The sandbox prices that way by default (`ListPricing.PER_ITEM`).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from graphql import FragmentDefinitionNode, GraphQLSchema, OperationDefinitionNode, parse
from oneshop_connectors.shopify import queries
from oneshop_connectors.shopify.client import CostExceeded
from oneshop_sandboxes.shopify import ShopifySandbox
from oneshop_sandboxes.shopify.cost import MAX_QUERY_COST, ListPricing, query_cost
from structlog.testing import capture_logs

from oneshop.testing import VirtualClock
from oneshop.values import StockLevel

from .conftest import Rig, make_rig

ORDER_VARS = {"lines": queries.ORDER_LINES, "refunds": queries.ORDER_REFUNDS,
              "refundLines": queries.ORDER_REFUND_LINES, "query": "updated_at:>='x'"}
BIG_ORDER_VARS = {"id": "gid://shopify/Order/1", "lines": queries.BIG_ORDER_LINES,
                  "refunds": queries.BIG_ORDER_REFUNDS,
                  "refundLines": queries.BIG_ORDER_REFUND_LINES}
# The largest variables the connector sends with each document.
SENT: dict[str, dict[str, Any]] = {
    "LOCATIONS": {"first": queries.MAX_PAGE},
    "VARIANTS": {"first": queries.page_size(queries.VARIANT_NODE_COST, queries.MAX_PAGE),
                 "locationId": "gid://shopify/Location/1"},
    "ORDERS": {"first": queries.page_size(queries.ORDER_NODE_COST, queries.MAX_PAGE),
               **ORDER_VARS},
    "ORDER": BIG_ORDER_VARS,
    "ITEM_LEVELS": {"ids": ["gid://shopify/InventoryItem/1"]
                    * queries.ids_per_read(queries.ITEM_LEVEL_COST),
                    "locationId": "gid://shopify/Location/1"},
    "SET_QUANTITIES": {"key": "k", "input": {}},
}



def price(schema: GraphQLSchema, document: str, variables: dict[str, Any],
          lists: ListPricing = ListPricing.PER_ITEM) -> int:
    parsed = parse(document)
    (operation,) = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {d.name.value: d for d in parsed.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    return query_cost(schema, operation, fragments, variables, lists=lists)


def test_every_document_is_covered_with_the_variables_the_connector_sends() -> None:
    assert set(SENT) == set(queries.ALL_DOCUMENTS)


@pytest.mark.parametrize("name", sorted(queries.ALL_DOCUMENTS))
def test_every_document_stays_within_1000_points_read_conservatively(
        real: GraphQLSchema, name: str) -> None:
    cost = price(real, queries.ALL_DOCUMENTS[name], SENT[name])
    assert 0 < cost <= MAX_QUERY_COST, (name, cost)


def test_page_sizes_come_from_the_documents_own_price(real: GraphQLSchema) -> None:
    """The node costs in queries.py are what the walker prices one node at, so the page
    sizes derived from them are the largest that fit."""
    orders = {n: price(real, queries.ORDERS, {**ORDER_VARS, "first": n}) for n in (1, 2)}
    assert orders[2] - orders[1] == queries.ORDER_NODE_COST == 101
    variants = {n: price(real, queries.VARIANTS, {"first": n, "locationId": "x"})
                for n in (1, 2)}
    assert variants[2] - variants[1] == queries.VARIANT_NODE_COST
    assert price(real, queries.ORDER, BIG_ORDER_VARS) == queries.BIG_ORDER_COST == 935
    levels = {n: price(real, queries.ITEM_LEVELS, {"ids": ["x"] * n, "locationId": "x"})
              for n in (1, 2)}
    assert levels[2] - levels[1] == queries.ITEM_LEVEL_COST
    for document, node, size in ((queries.ORDERS, queries.ORDER_NODE_COST, ORDER_VARS),
                                 (queries.VARIANTS, queries.VARIANT_NODE_COST,
                                  {"locationId": "x"})):
        first = queries.page_size(node, queries.MAX_PAGE)
        assert price(real, document, {**size, "first": first}) <= MAX_QUERY_COST
        if first < queries.MAX_PAGE:
            assert price(real, document, {**size, "first": first + 1}) > MAX_QUERY_COST


def test_the_old_orders_query_was_over_the_cap_when_lists_are_priced_per_item(
        real: GraphQLSchema) -> None:
    """Issue 14: refunds(first: 5) priced as one object let 12 orders through a page."""
    old = queries.ORDERS.replace("refundLines", "lines")
    old_vars = {"first": 12, "lines": 10, "refunds": 5, "query": "x"}
    assert price(real, old, old_vars, ListPricing.ONE_OBJECT) <= MAX_QUERY_COST
    assert price(real, old, old_vars, ListPricing.PER_ITEM) == 2042


class Recording(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("graphql.json"):
            body = json.loads(request.content)
            self.sent.append((body["query"], body.get("variables") or {}))
        return self.inner.handle_request(request)


def busy_session(rig: Rig) -> None:
    """Listings, orders (one too big for a page), and a stale push that reads levels."""
    rig.sandbox.add_variants(300, quantity=9)
    items = [rig.sandbox.seed_listing(f"L-{i}", 4) for i in range(14)]
    big = rig.sandbox.sell_many([(item, 1) for item in items])
    for i in range(3):
        rig.sandbox.refund(big, i, 1)
    for item in items[:12]:
        rig.sandbox.sell(item, 1)
    listings = rig.listings()
    assert len(listings) > 300
    pages = list(rig.connector.fetch_orders(None))
    assert big in {o.external_id for p in pages for o in p.orders}
    rig.sandbox.hand_edit(items[0], 3)
    (result,) = rig.connector.push_stock([StockLevel(
        listing=listings[items[0]], quantity=1, observed=2, push_id="p")])
    assert result.status == "stale" and result.observed == 3


def test_every_request_of_a_busy_session_is_priced_within_the_cap(
        real: GraphQLSchema, clock: VirtualClock, sandbox: ShopifySandbox) -> None:
    rig = make_rig(clock, sandbox)
    recording = Recording(sandbox.transport())
    rig.connector.gql._http._transport = recording  # type: ignore[attr-defined]
    busy_session(rig)
    names = {text for text, _ in recording.sent}
    assert names == set(queries.ALL_DOCUMENTS.values())
    costs = [price(real, text, variables) for text, variables in recording.sent]
    assert max(costs) <= MAX_QUERY_COST


@pytest.mark.parametrize("lists", list(ListPricing))
def test_the_connector_works_under_either_reading_of_list_prices(
        clock: VirtualClock, lists: ListPricing) -> None:
    sandbox = ShopifySandbox(seed=5, clock=clock, list_pricing=lists)
    rig = make_rig(clock, sandbox)
    with capture_logs() as logs:
        busy_session(rig)
    assert [e for e in logs if e["event"] == "shopify.page_size_lowered"] == []


def test_max_cost_exceeded_halves_the_page_size_and_says_so_once(
        clock: VirtualClock, sandbox: ShopifySandbox) -> None:
    rig = make_rig(clock, sandbox)
    sandbox.add_variants(600, quantity=3)
    sandbox.max_query_cost = 400  # Shopify prices our documents dearer than we read it
    with capture_logs() as logs:
        first = rig.listings()
        for _ in range(4):  # later polls start at the lowered size: no refusal, no line
            sent = sandbox.requests
            assert rig.listings() == first
            assert sandbox.requests - sent == 10, "600 variants, 62 a page (250 points)"
    assert len(first) == 600
    lowered = [e for e in logs if e["event"] == "shopify.page_size_lowered"]
    assert [(e["operation"], e["was"], e["now"], e["log_level"]) for e in lowered] == [
        ("OneshopVariants", 249, 62, "warning")]


def test_a_query_over_the_cap_even_one_record_at_a_time_still_fails(
        clock: VirtualClock, sandbox: ShopifySandbox) -> None:
    rig = make_rig(clock, sandbox)
    sandbox.seed_listing("X", 1)
    sandbox.max_query_cost = 3
    with pytest.raises(CostExceeded):
        rig.listings()
