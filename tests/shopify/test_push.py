"""Pushes: compare-and-set on `changeFromQuantity`, `@idempotent` keys, one write per batch."""

from __future__ import annotations

import httpx
from oneshop_connectors.shopify import queries

from oneshop.values import Listing, StockLevel

from .conftest import Rig


def level(listing: Listing, quantity: int, observed: int | None, push_id: str) -> StockLevel:
    return StockLevel(listing=listing, quantity=quantity, observed=observed, push_id=push_id)


def test_a_stale_compare_reports_the_current_quantity_and_writes_nothing(rig: Rig) -> None:
    item = rig.sandbox.seed_listing("MUG", 5)
    listing = rig.listings()[item]
    rig.sandbox.sell(item, 2)  # a sale on Shopify the engine has not seen: 5 -> 3
    writes = rig.sandbox.writes
    (result,) = rig.connector.push_stock([level(listing, 4, 5, "p1")])
    assert (result.status, result.observed) == ("stale", 3)
    assert rig.sandbox.quantity(item) == 3
    assert rig.sandbox.writes == writes + 1  # the refused mutation, and no blind retry


def test_observed_none_sends_an_explicit_null_and_skips_the_check(rig: Rig) -> None:
    item = rig.sandbox.seed_listing("CUP", 5)
    listing = rig.listings()[item]
    rig.sandbox.hand_edit(item, 9)
    (result,) = rig.connector.push_stock([level(listing, 2, None, "p2")])
    assert (result.status, result.observed) == ("ok", 2)
    assert rig.sandbox.quantity(item) == 2


def test_a_retry_after_a_lost_answer_reuses_the_key_and_applies_once(rig: Rig) -> None:
    item = rig.sandbox.seed_listing("BOWL", 5)
    listing = rig.listings()[item]
    rig.sandbox.drop_next_responses(1)  # Shopify applied it, the answer never arrived
    (result,) = rig.connector.push_stock([level(listing, 3, 5, "p3")])
    # Without idempotency the retry would compare 5 against 3 and report stale.
    assert (result.status, result.observed) == ("ok", 3)
    assert rig.sandbox.quantity(item) == 3
    assert rig.sandbox.root.adjustment_groups == 1
    assert len(rig.sandbox.root.idempotency) == 1


def send_set(rig: Rig, key: str, quantity: int, change_from: int | None,
             item: str) -> dict[str, object]:
    variables = {"key": key, "input": {
        "name": "available", "reason": "correction",
        "referenceDocumentUri": "gid://oneshop/Push/x",
        "quantities": [{"inventoryItemId": item, "locationId": rig.connector.location_id(),
                        "quantity": quantity, "changeFromQuantity": change_from}]}}
    with httpx.Client(transport=rig.sandbox.transport(), base_url="http://sandbox") as client:
        body = client.post("/admin/api/2026-04/graphql.json",
                           json={"query": queries.SET_QUANTITIES, "variables": variables},
                           headers={"X-Shopify-Access-Token": rig.sandbox.static_token}).json()
    payload: dict[str, object] = body["data"]["inventorySetQuantities"]
    return payload


def test_same_key_and_variables_is_a_no_op_returning_the_same_result(rig: Rig) -> None:
    item = rig.sandbox.seed_listing("VASE", 5)
    first = send_set(rig, "k-1", 4, 5, item)
    rig.sandbox.hand_edit(item, 7)
    again = send_set(rig, "k-1", 4, 5, item)
    assert again == first
    assert rig.sandbox.quantity(item) == 7  # the replay changed nothing


def test_same_key_with_different_variables_is_a_parameter_mismatch(rig: Rig) -> None:
    item = rig.sandbox.seed_listing("LAMP", 5)
    send_set(rig, "k-2", 4, 5, item)
    payload = send_set(rig, "k-2", 1, 4, item)
    assert payload["userErrors"] == [{"code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                                      "field": ["input"], "message": payload["userErrors"][0][  # type: ignore[index]
                                          "message"]}]
    assert rig.sandbox.quantity(item) == 4


def test_missing_idempotent_directive_is_refused(rig: Rig) -> None:
    item = rig.sandbox.seed_listing("RUG", 5)
    document = queries.SET_QUANTITIES.replace(" @idempotent(key: $key)", "").replace(
        ", $key: String!", "")
    with httpx.Client(transport=rig.sandbox.transport(), base_url="http://sandbox") as client:
        body = client.post("/admin/api/2026-04/graphql.json", json={
            "query": document, "variables": {"input": {
                "name": "available", "reason": "correction", "quantities": [{
                    "inventoryItemId": item, "locationId": rig.connector.location_id(),
                    "quantity": 1, "changeFromQuantity": None}]}}},
            headers={"X-Shopify-Access-Token": rig.sandbox.static_token}).json()
    assert "@idempotent" in body["errors"][0]["message"]
    assert rig.sandbox.quantity(item) == 5


def test_several_levels_go_out_in_one_mutation(rig: Rig) -> None:
    items = [rig.sandbox.seed_listing(f"S-{i}", 5) for i in range(30)]
    listings = rig.listings()
    writes = rig.sandbox.writes
    results = rig.connector.push_stock(
        [level(listings[item], i, 5, f"b-{i}") for i, item in enumerate(items)])
    assert [r.status for r in results] == ["ok"] * 30
    assert [rig.sandbox.quantity(item) for item in items] == list(range(30))
    assert rig.sandbox.writes == writes + 1


def test_one_stale_level_in_a_batch_does_not_hold_back_the_others(rig: Rig) -> None:
    items = [rig.sandbox.seed_listing(f"T-{i}", 5) for i in range(3)]
    listings = rig.listings()
    rig.sandbox.sell(items[1], 1)
    results = rig.connector.push_stock(
        [level(listings[item], 2, 5, f"c-{i}") for i, item in enumerate(items)])
    assert [(r.status, r.observed) for r in results] == [("ok", 2), ("stale", 4), ("ok", 2)]
    assert [rig.sandbox.quantity(i) for i in items] == [2, 4, 2]


def test_an_item_not_stocked_at_the_location_fails_alone(rig: Rig) -> None:
    stocked = rig.sandbox.seed_listing("U-1", 5)
    unstocked = rig.sandbox.add_variant("U-2", None)
    listings = rig.listings()
    results = rig.connector.push_stock([level(listings[stocked], 1, 5, "d-1"),
                                        level(listings[unstocked], 1, None, "d-2")])
    assert [r.status for r in results] == ["ok", "failed"]
    assert "ITEM_NOT_STOCKED_AT_LOCATION" in results[1].detail


def test_a_push_moves_available_and_on_hand_but_not_committed(rig: Rig) -> None:
    item = rig.sandbox.seed_listing("W", 5)
    listing = rig.listings()[item]
    rig.sandbox.sell(item, 1)
    rig.connector.push_stock([level(listing, 10, 4, "e-1")])
    assert rig.sandbox.quantities(item) == {"available": 10, "committed": 1, "on_hand": 11}
