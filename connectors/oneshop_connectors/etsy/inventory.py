"""Pure reshaping of a listing's inventory for `updateListingInventory`.

Etsy's PUT replaces the whole inventory, so the body is rebuilt from what was just read:
every product with its property values and one offering (price as a float, quantity,
is_enabled, readiness_state_id); read-only fields (product_id, offering_id, is_deleted,
scale_name, the Money object) are dropped (etsy/open-api#168).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from oneshop.errors import InvalidRecord
from oneshop_connectors.etsy.endpoints import MAX_QUANTITY
from oneshop_connectors.etsy.mapping import (
    dict_of,
    int_of,
    live_offering,
    live_products,
    money_of,
    product_key,
    shown_quantity,
    sku_of,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reshaped:
    body: dict[str, Any]
    on_sale: bool  # at least one enabled offering above 0: Etsy will accept the write


def current_quantities(listing_id: int, inventory: Any, listing_state: str) -> dict[str, int]:
    """Binding key -> the quantity buyers see now."""
    found: dict[str, int] = {}
    for raw in live_products(inventory):
        product = dict_of(raw, "product")
        key = product_key(listing_id, sku_of(product.get("sku")), product.get("property_values"))
        found[key] = shown_quantity(live_offering(product), listing_state)
    return found


def listing_readiness(listing: Any, inventory: Any) -> int | None:
    """The processing profile to send for offerings that carry none.

    Etsy returns the listing's `readiness_state_id` only on shop-scoped and single-listing
    reads of an active physical listing; the batch read and off-sale listings give null.
    Then the profile another offering of the same listing carries stands in for it.
    """
    own = _profile_id(listing)
    if own is not None:
        return own
    products = inventory.get("products") if isinstance(inventory, dict) else None
    for product in products if isinstance(products, list) else []:
        offerings = product.get("offerings") if isinstance(product, dict) else None
        for offering in offerings if isinstance(offerings, list) else []:
            found = _profile_id(offering)
            if found is not None:
                return found
    return None


def _profile_id(raw: Any) -> int | None:
    value = raw.get("readiness_state_id") if isinstance(raw, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


def _property_value(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidRecord("property value is not an object")
    value = {k: raw[k] for k in ("property_id", "value_ids", "values") if k in raw}
    if isinstance(raw.get("property_name"), str):
        value["property_name"] = raw["property_name"]
    if raw.get("scale_id") is not None:
        value["scale_id"] = raw["scale_id"]
    return value


def _offering(raw: Mapping[str, Any], want: int | None, fallback_readiness: int | None
              ) -> dict[str, Any]:
    price, _ = money_of(raw.get("price"), "offering.price")
    quantity = int_of(raw.get("quantity"), "offering.quantity")
    enabled = raw.get("is_enabled") is True
    if want is not None:
        want = min(want, MAX_QUANTITY)
        if want <= 0:
            # A single variant at 0 is disabled; Etsy accepts it while another has stock.
            quantity, enabled = 0, False
        else:
            # Re-enable only what was off for lack of stock, not what the seller switched off.
            enabled = enabled or quantity == 0
            quantity = want
    readiness = raw.get("readiness_state_id")
    return {"price": float(price), "quantity": quantity, "is_enabled": enabled,
            "readiness_state_id": readiness if readiness is not None else fallback_readiness}


def reshape(listing_id: int, inventory: Any, desired: Mapping[str, int],
            *, readiness_state_id: int | None = None) -> Reshaped:
    """The full PUT body with `desired` quantities (by binding key) applied."""
    products: list[dict[str, Any]] = []
    on_sale = False
    for raw in live_products(inventory):
        product = dict_of(raw, "product")
        sku = sku_of(product.get("sku"))
        key = product_key(listing_id, sku, product.get("property_values"))
        offering = _offering(live_offering(product), desired.get(key), readiness_state_id)
        on_sale = on_sale or (offering["is_enabled"] and offering["quantity"] > 0)
        values = product.get("property_values") or []
        if not isinstance(values, list):
            raise InvalidRecord("property_values is not a list")
        products.append({"sku": product.get("sku"),
                         "property_values": [_property_value(v) for v in values],
                         "offerings": [offering]})
    body: dict[str, Any] = {"products": products}
    for key in ("price_on_property", "quantity_on_property", "sku_on_property"):
        if isinstance(inventory.get(key), list):
            body[key] = inventory[key]
    if inventory.get("readiness_state_on_property"):
        body["readiness_state_on_property"] = inventory["readiness_state_on_property"]
    return Reshaped(body=body, on_sale=on_sale)
