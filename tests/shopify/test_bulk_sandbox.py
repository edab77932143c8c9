"""The sandbox's bulk query operations follow the 2026-04 schema's descriptions, and the
documents of large shops (bulk reads, overlap re-reads) validate against that schema."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pytest
from graphql import GraphQLSchema, parse, validate
from oneshop_connectors.shopify import queries
from oneshop_connectors.shopify.bulk import parse_jsonl
from oneshop_sandboxes.shopify import ShopifySandbox
from oneshop_sandboxes.shopify.app import subset_schema
from oneshop_sandboxes.shopify.cost import MAX_QUERY_COST

from oneshop.testing import VirtualClock

from .test_cost import price

LOCATION = "gid://shopify/Location/1"
NESTED = "{ orders { edges { node { id name lineItems { edges { node { id sku } } } } } } }"
SCALE_SENT: dict[str, dict[str, Any]] = {
    "BULK_RUN": {"query": "{}"}, "BULK_OPERATION": {"id": "x"}, "BULK_CANCEL": {"id": "x"},
    "ORDER_STAMPS": {"first": queries.page_size(queries.ORDER_STAMP_COST, queries.MAX_PAGE),
                     "query": "x"},
    "ORDERS_BY_ID": {"ids": ["x"] * queries.ids_per_read(queries.ORDER_NODE_COST),
                     "lines": queries.ORDER_LINES, "refunds": queries.ORDER_REFUNDS,
                     "refundLines": queries.ORDER_REFUND_LINES},
}



@pytest.mark.parametrize("name", sorted(SCALE_SENT))
def test_documents_of_large_shops_validate_and_stay_within_the_cap(
        real: GraphQLSchema, name: str) -> None:
    document = queries.SCALE_DOCUMENTS[name]
    assert validate(real, parse(document)) == []
    assert validate(subset_schema(), parse(document)) == []
    assert 0 < price(real, document, SCALE_SENT[name]) <= MAX_QUERY_COST


def test_the_bulk_catalog_query_validates_and_refuses_anything_but_a_location_gid(
        real: GraphQLSchema) -> None:
    assert set(SCALE_SENT) == set(queries.SCALE_DOCUMENTS)
    assert validate(real, parse(queries.bulk_variants(LOCATION))) == []
    with pytest.raises(ValueError):
        queries.bulk_variants('gid://shopify/Location/1") { id } #')


def test_the_count_rides_on_the_first_page_for_one_point(real: GraphQLSchema) -> None:
    without = price(real, queries.VARIANTS, {"first": 249, "locationId": LOCATION})
    assert without <= MAX_QUERY_COST and without - 2 - 249 * queries.VARIANT_NODE_COST == 1


class Admin:
    def __init__(self, sandbox: ShopifySandbox) -> None:
        self.client = httpx.Client(transport=sandbox.transport(), base_url="http://sandbox",
                                   headers={"X-Shopify-Access-Token": sandbox.static_token})

    def gql(self, document: str, **variables: Any) -> Any:
        body = self.client.post("/admin/api/2026-04/graphql.json", json={
            "query": document, "variables": variables}).json()
        assert "errors" not in body, body
        return body["data"]

    def run(self, query: str) -> Any:
        return self.gql(queries.BULK_RUN, query=query)["bulkOperationRunQuery"]

    def status(self, op: str) -> Any:
        return self.gql(queries.BULK_OPERATION, id=op)["bulkOperation"]


@pytest.fixture
def admin(sandbox: ShopifySandbox) -> Admin:
    return Admin(sandbox)


def test_lifecycle_created_running_completed_then_expired_after_seven_days(
        clock: VirtualClock, sandbox: ShopifySandbox, admin: Admin) -> None:
    sandbox.add_variants(3000)
    op = admin.run(queries.bulk_variants(
        f"gid://shopify/Location/{sandbox.state.default_location}"))
    assert op["userErrors"] == [] and op["bulkOperation"]["status"] == "CREATED"
    op_id = op["bulkOperation"]["id"]
    clock.advance(seconds=2)
    running = admin.status(op_id)
    assert running["status"] == "RUNNING" and 0 < int(running["objectCount"]) < 3000
    clock.advance(seconds=3)
    done = admin.status(op_id)
    assert (done["status"], done["objectCount"]) == ("COMPLETED", "3000")
    lines = admin.client.get(done["url"]).text.splitlines()
    assert len(lines) == 3000 and json.loads(lines[0])["inventoryItem"]["inventoryLevel"]
    with httpx.Client(transport=sandbox.transport()) as bare:  # signed: no token needed
        assert bare.get(done["url"]).status_code == 200
    clock.advance(days=7)
    assert admin.status(op_id)["status"] == "EXPIRED"
    assert admin.client.get(done["url"]).status_code == 403


def test_nested_connections_come_as_lines_naming_their_parent(
        clock: VirtualClock, sandbox: ShopifySandbox, admin: Admin) -> None:
    items = [sandbox.seed_listing(f"N-{i}", 5) for i in range(3)]
    order = sandbox.sell_many([(items[0], 1), (items[1], 2)])
    op_id = admin.run(NESTED)["bulkOperation"]["id"]
    clock.advance(seconds=5)
    done = admin.status(op_id)
    lines = [json.loads(x) for x in admin.client.get(done["url"]).text.splitlines()]
    assert [x.get("__parentId") for x in lines] == [None, order, order]
    (root,) = parse_jsonl(io.BytesIO(admin.client.get(done["url"]).content))
    assert root["id"] == order and [c["sku"] for c in root["__children"]] == ["N-0", "N-1"]


def test_one_query_operation_at_a_time_and_queries_are_checked(
        clock: VirtualClock, sandbox: ShopifySandbox, admin: Admin) -> None:
    assert admin.run("{ shop { id } }")["userErrors"][0]["code"] == "INVALID"
    five = " ".join(f"l{i}: lineItems {{ edges {{ node {{ id }} }} }}" for i in range(5))
    six = "{ orders { edges { node { " + five + " } } } }"
    assert admin.run(six)["userErrors"][0]["code"] == "INVALID"  # "up to five connections"
    first = admin.run(NESTED)["bulkOperation"]["id"]
    busy = admin.run(NESTED)
    assert busy["bulkOperation"] is None
    assert busy["userErrors"][0]["code"] == "OPERATION_IN_PROGRESS"
    canceled = admin.gql(queries.BULK_CANCEL, id=first)["bulkOperationCancel"]
    assert canceled["bulkOperation"]["status"] == "CANCELING"
    clock.advance(seconds=2)
    assert admin.status(first)["status"] == "CANCELED"
    assert admin.run(NESTED)["userErrors"] == []


def test_faults_failed_canceled_and_url_expired(
        clock: VirtualClock, sandbox: ShopifySandbox, admin: Admin) -> None:
    for i in range(4):
        sandbox.seed_listing(f"F-{i}", 1)
    query = "{ productVariants { edges { node { id sku } } } }"
    sandbox.fail_next_bulk("TIMEOUT")
    op = admin.run(query)["bulkOperation"]["id"]
    clock.advance(seconds=5)
    failed = admin.status(op)
    assert (failed["status"], failed["errorCode"], failed["url"]) == ("FAILED", "TIMEOUT", None)
    assert len(admin.client.get(failed["partialDataUrl"]).text.splitlines()) == 2
    sandbox.cancel_next_bulk()
    op = admin.run(query)["bulkOperation"]["id"]
    clock.advance(seconds=5)
    assert admin.status(op)["status"] == "CANCELED"
    sandbox.expire_next_bulk_url()
    op = admin.run(query)["bulkOperation"]["id"]
    clock.advance(seconds=5)
    shown = admin.status(op)
    assert shown["status"] == "COMPLETED"
    assert admin.client.get(shown["url"]).status_code == 403
    assert admin.status(op)["status"] == "EXPIRED"


def test_a_bulk_read_costs_the_mutation_and_its_status_checks_only(
        clock: VirtualClock, sandbox: ShopifySandbox, admin: Admin) -> None:
    sandbox.add_variants(5000)
    before = sandbox.bucket.status()["currentlyAvailable"]
    op = admin.run(queries.bulk_variants(f"gid://shopify/Location/"
                                         f"{sandbox.state.default_location}"))
    admin.status(op["bulkOperation"]["id"])
    assert before - sandbox.bucket.status()["currentlyAvailable"] == 10 + 1
