"""The sandbox holds the connector to what Etsy enforces, and speaks Etsy's documented shapes."""

from __future__ import annotations

import httpx

from .conftest import Rig


def _client(rig: Rig, api_key: str | None) -> httpx.Client:
    headers = {"authorization": f"Bearer {rig.store.tokens.access_token}"}  # type: ignore[union-attr]
    if api_key is not None:
        headers["x-api-key"] = api_key
    return httpx.Client(base_url="http://sandbox", transport=rig.transport, headers=headers)


def test_connector_traffic_validates_against_the_openapi_document(
        rig: Rig, openapi_required: object) -> None:
    listing = rig.sandbox.seed_listing("DOC-1", 4)
    small, large = rig.sandbox.seed_variant_listing(
        "Shirt", [("TS-S", "Small", 2), (None, "Large", 3)])
    sold = rig.sandbox.seed_listing("DOC-SOLD", 1)
    rig.sandbox.sell(listing, 1)
    rig.sandbox.sell(sold, 1)
    conn = rig.connector()
    found = rig.listings(conn)
    list(conn.fetch_orders(None))
    conn.push_stock([])
    from oneshop.values import StockLevel

    def level(external_id: str, quantity: int) -> StockLevel:
        return StockLevel(listing=found[external_id], quantity=quantity,
                          observed=found[external_id].quantity, push_id=external_id)

    results = conn.push_stock([level(listing, 2), level(small, 0), level(large, 5),
                               level(sold, 2)])
    assert [r.status for r in results] == ["ok", "ok", "ok", "policy"]
    api = [r for r in rig.transport.sent if r.url.path.startswith("/v3/application/")]
    # The push's batch read (with inventories, an active and a sold_out listing: nullable
    # fields null) and its writes, whose answers are the read-back, were all validated.
    batch = [r for r in api if r.url.path.endswith("/listings/batch")]
    assert len(batch) == 1 and batch[0].url.params.get_list("includes") == ["Inventory"]
    assert sum(r.method == "PUT" for r in api) == 2  # none to the sold_out listing
    assert rig.transport.checked == len(api)
    assert not rig.transport.problems


def test_missing_shared_secret_is_refused_with_etsys_message(rig: Rig) -> None:
    shop = f"/v3/application/shops/{rig.sandbox.state.shop_id}/listings"
    with _client(rig, None) as client:
        response = client.get(shop)
    assert response.status_code == 403
    assert response.json() == {"error": "Shared secret is required in x-api-key header."}
    with _client(rig, rig.sandbox.keystring) as client:
        response = client.get(shop)
    assert response.status_code == 403
    assert "keystring:shared_secret" in response.json()["error"]
    if rig.transport.openapi is not None:
        # The document's own security check flags the first request too.
        assert any("SecurityValidationError" in p for p in rig.transport.problems)
    rig.transport.problems.clear()


def test_sandbox_refuses_what_etsy_refuses(rig: Rig) -> None:
    external_id = rig.sandbox.seed_listing("RULE-1", 3)
    listing_id = int(external_id.split(":")[0])
    key = f"{rig.sandbox.keystring}:{rig.sandbox.shared_secret}"
    path = f"/v3/application/listings/{listing_id}/inventory"
    with _client(rig, key) as client:
        too_many = client.get(f"/v3/application/shops/{rig.sandbox.state.shop_id}/listings",
                              params={"limit": 101})
        inventory = client.get(path).json()
        product = inventory["products"][0]
        offering: dict[str, object] = {
            "price": 25.0, "quantity": 0, "is_enabled": True, "readiness_state_id": None}

        def put(offer: dict[str, object]) -> httpx.Response:
            body = {"products": [{"sku": "RULE-1", "property_values": [], "offerings": [offer]}]}
            return client.put(path, json=body)

        zero = put(offering)
        huge = put({**offering, "quantity": 1000})
        no_readiness = put({"price": 25.0, "quantity": 2, "is_enabled": True})
        good = put({**offering, "quantity": 2})
    assert too_many.status_code == 400
    assert zero.status_code == 400
    assert zero.json()["error"] == "One offering must have quantity greater than 0"
    assert huge.status_code == 400
    assert no_readiness.status_code == 400
    if rig.transport.openapi is not None:
        # The request without readiness_state_id breaks the document too: the validator
        # sees it.
        assert any("inventory" in p for p in rig.transport.problems)
    rig.transport.problems.clear()
    assert good.status_code == 200
    # A full-replacement write regenerates product and offering ids.
    new_product = good.json()["products"][0]
    assert new_product["product_id"] != product["product_id"]
    assert new_product["offerings"][0]["offering_id"] != product["offerings"][0]["offering_id"]
    assert rig.sandbox.quantity(external_id) == 2


def test_the_seller_renews_a_sold_out_listing_by_hand(rig: Rig) -> None:
    external_id = rig.sandbox.seed_listing("RENEW-1", 1)
    rig.sandbox.sell(external_id, 1)
    assert rig.sandbox.listing_state(external_id) == "sold_out"
    rig.sandbox.renew(external_id, 3)
    assert (rig.sandbox.listing_state(external_id), rig.sandbox.quantity(external_id)) == (
        "active", 3)
    assert rig.sandbox.fees == [(int(external_id.split(":")[0]), "renewal")]
    listing = rig.listings()[external_id]
    assert (listing.state, listing.quantity) == ("active", 3)


def test_restock_on_cancel_puts_units_back_on_the_variant_sold_only(rig: Rig) -> None:
    small, large = rig.sandbox.seed_variant_listing(
        "Shirt", [("TS-S", "Small", 1), (None, "Large", 2)])
    rig.sandbox.restock_on_cancel = True
    first, second = rig.sandbox.sell(small, 1), rig.sandbox.sell(large, 2)
    assert rig.sandbox.listing_state(small) == "sold_out"
    rig.sandbox.cancel(second)  # the listing is sold out: it stays off sale
    assert rig.sandbox.listing_state(large) == "sold_out"
    rig.sandbox.renew(small, 1)
    assert [rig.sandbox.quantity(e) for e in (small, large)] == [1, 2]
    rig.sandbox.restock_on_cancel = False
    rig.sandbox.cancel(first)
    assert [rig.sandbox.quantity(e) for e in (small, large)] == [1, 2]
