"""The documents we send and the sandbox's schema are held to the real 2026-04 schema."""

from __future__ import annotations

import httpx
import pytest
from graphql import GraphQLSchema, is_object_type, parse, validate
from oneshop_connectors.shopify import queries
from oneshop_sandboxes.shopify import ShopifySandbox
from oneshop_sandboxes.shopify.app import subset_schema


@pytest.mark.parametrize("name", sorted(queries.ALL_DOCUMENTS))
def test_every_operation_the_connector_sends_validates_against_2026_04(
        real: GraphQLSchema, name: str) -> None:
    errors = validate(real, parse(queries.ALL_DOCUMENTS[name]))
    assert errors == [], [e.message for e in errors]


@pytest.mark.parametrize("name", sorted(queries.ALL_DOCUMENTS))
def test_every_operation_is_executable_by_the_sandbox(name: str) -> None:
    errors = validate(subset_schema(), parse(queries.ALL_DOCUMENTS[name]))
    assert errors == [], [e.message for e in errors]


def test_sandbox_types_and_fields_are_shaped_exactly_as_in_the_real_schema(
        real: GraphQLSchema) -> None:
    subset = subset_schema()
    mismatches = []
    for name, subset_type in subset.type_map.items():
        if name.startswith("__") or not hasattr(subset_type, "fields"):
            continue
        real_type = real.type_map.get(name)
        assert real_type is not None, f"{name} is not a type of the real schema"
        for field_name, field in subset_type.fields.items():
            real_field = real_type.fields.get(field_name)  # type: ignore[attr-defined]
            if real_field is None or str(real_field.type) != str(field.type):
                mismatches.append(f"{name}.{field_name}")
                continue
            args = getattr(field, "args", {})
            for arg_name, arg in args.items():
                real_arg = real_field.args.get(arg_name)
                if real_arg is None or str(real_arg.type) != str(arg.type):
                    mismatches.append(f"{name}.{field_name}({arg_name})")
    assert mismatches == []
    for name, subset_type in subset.type_map.items():
        if is_object_type(subset_type) and name in real.type_map:
            real_interfaces = getattr(real.type_map[name], "interfaces", [])
            assert {i.name for i in getattr(subset_type, "interfaces", [])} <= {
                i.name for i in real_interfaces}


def post(sandbox: ShopifySandbox, query: str) -> httpx.Response:
    with httpx.Client(transport=sandbox.transport(), base_url="http://sandbox") as client:
        return client.post("/admin/api/2026-04/graphql.json", json={"query": query},
                           headers={"X-Shopify-Access-Token": sandbox.static_token})


def test_a_document_invalid_for_shopify_gets_shopifys_errors_shape(
        real: GraphQLSchema, sandbox: ShopifySandbox) -> None:
    response = post(sandbox, "{ shop { id noSuchField } }")
    assert response.status_code == 200
    (error,) = response.json()["errors"]
    assert "noSuchField" in error["message"]
    assert error["locations"] == [{"line": 1, "column": 13}]
    assert error["extensions"]["code"] == "undefinedField"
    assert "data" not in response.json()


def test_a_real_field_the_sandbox_does_not_emulate_is_refused_plainly(
        real: GraphQLSchema, sandbox: ShopifySandbox) -> None:
    response = post(sandbox, "{ shop { id ianaTimezone } }")
    (error,) = response.json()["errors"]
    assert "not emulated by the sandbox" in error["message"]


def test_a_syntax_error_is_answered_with_its_location(sandbox: ShopifySandbox) -> None:
    (error,) = post(sandbox, "{ shop { id }").json()["errors"]
    assert error["locations"][0]["line"] == 1
    assert error["extensions"]["code"] == "parseError"


def test_every_answer_carries_extensions_cost(sandbox: ShopifySandbox) -> None:
    body = post(sandbox, "{ shop { id name } }").json()
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 1
    assert cost["throttleStatus"]["maximumAvailable"] == 2000.0
    assert body["data"]["shop"]["name"] == "oneshop sandbox"


def test_a_query_over_the_single_query_cap_is_refused_before_running(
        sandbox: ShopifySandbox) -> None:
    query = ("{ productVariants(first: 250) { nodes { id inventoryItem { id inventoryLevel("
             'locationId: "gid://shopify/Location/1") { quantities(names: ["available"]) '
             "{ quantity } } } } } }")
    (error,) = post(sandbox, query).json()["errors"]
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert error["extensions"]["cost"] == 1002


def test_connector_page_sizes_keep_every_query_under_the_cap() -> None:
    variants = 2 + queries.VARIANT_NODE_COST * queries.page_size(queries.VARIANT_NODE_COST, 250)
    orders = 2 + queries.ORDER_NODE_COST * queries.page_size(queries.ORDER_NODE_COST, 250)
    assert variants <= queries.MAX_QUERY_COST
    assert orders <= queries.MAX_QUERY_COST
