"""Sandbox records rendered as Etsy's JSON (shapes from the OpenAPI document)."""

from __future__ import annotations

from typing import Any

from oneshop_sandboxes.etsy.state import (
    EtsyState,
    ListingRecord,
    Product,
    Receipt,
    Transaction,
)

CURRENCY = "USD"


def money(cents: int) -> dict[str, Any]:
    return {"amount": cents, "divisor": 100, "currency_code": CURRENCY}


def product_json(product: Product) -> dict[str, Any]:
    offering = product.offering
    return {
        "product_id": product.product_id,
        "sku": product.sku,
        "is_deleted": False,
        "offerings": [{
            "offering_id": offering.offering_id,
            "quantity": offering.quantity,
            "is_enabled": offering.is_enabled,
            "is_deleted": False,
            "price": money(offering.price_cents),
            "readiness_state_id": offering.readiness_state_id,
        }],
        "property_values": [dict(pv) for pv in product.property_values],
    }


def inventory_json(listing: ListingRecord) -> dict[str, Any]:
    return {
        "products": [product_json(p) for p in listing.products],
        "price_on_property": list(listing.price_on_property),
        "quantity_on_property": list(listing.quantity_on_property),
        "sku_on_property": list(listing.sku_on_property),
        "readiness_state_on_property": [],
    }


def listing_json(state: EtsyState, listing: ListingRecord, *,
                 with_inventory: bool = False, scoped: bool = True) -> dict[str, Any]:
    """A ShopListing. `scoped`: the endpoint is shop-scoped or reads a single listing; only
    those return the listing's readiness_state_id, and only while it is active (OpenAPI)."""
    first = listing.products[0].offering if listing.products else None
    readiness = listing.readiness_state_id if scoped and listing.state == "active" else None
    body: dict[str, Any] = {
        "listing_id": listing.listing_id,
        "user_id": state.user_id,
        "shop_id": state.shop_id,
        "title": listing.title,
        "description": "",
        "state": listing.state,
        "creation_timestamp": listing.created_ts,
        "created_timestamp": listing.created_ts,
        "last_modified_timestamp": listing.updated_ts,
        "updated_timestamp": listing.updated_ts,
        "state_timestamp": listing.updated_ts,
        "quantity": listing.quantity(),
        "url": f"https://www.etsy.com/listing/{listing.listing_id}",
        "listing_type": "physical",
        "has_variations": any(p.property_values for p in listing.products),
        "should_auto_renew": False,
        "price": money(first.price_cents if first else 0),
        "readiness_state_id": readiness,
        "skus": [p.sku for p in listing.products if p.sku],
        "tags": [],
        "materials": [],
    }
    if with_inventory:
        body["inventory"] = inventory_json(listing)
    return body


def transaction_json(state: EtsyState, receipt: Receipt, tx: Transaction) -> dict[str, Any]:
    body: dict[str, Any] = {
        "transaction_id": tx.transaction_id,
        "title": None,
        "seller_user_id": state.user_id,
        "buyer_user_id": 1,
        "create_timestamp": receipt.created_ts,
        "created_timestamp": receipt.created_ts,
        "paid_timestamp": receipt.created_ts,
        "shipped_timestamp": None,
        "receipt_id": receipt.receipt_id,
        "is_digital": False,
        "listing_id": tx.listing_id,
        "transaction_type": "listing",
        "product_id": tx.product_id,
        "sku": tx.sku,
        "price": money(tx.price_cents),
        "shipping_cost": money(0),
        "variations": [],
        "product_data": [dict(pv) for pv in tx.product_data],
    }
    if tx.quantity is not None:
        body["quantity"] = tx.quantity
    return body


def receipt_json(state: EtsyState, receipt: Receipt) -> dict[str, Any]:
    total = sum((t.quantity or 0) * t.price_cents for t in receipt.transactions)
    return {
        "receipt_id": receipt.receipt_id,
        "receipt_type": 0,
        "seller_user_id": state.user_id,
        "buyer_user_id": 1,
        "buyer_email": receipt.buyer_email,
        "name": receipt.buyer_name,
        "first_line": "1 Sandbox Street",
        "city": "Brooklyn",
        "zip": "11201",
        "country_iso": "US",
        "status": receipt.status,
        "payment_method": "cc",
        "is_paid": True,
        "is_shipped": False,
        "create_timestamp": receipt.created_ts,
        "created_timestamp": receipt.created_ts,
        "update_timestamp": receipt.updated_ts,
        "updated_timestamp": receipt.updated_ts,
        "is_gift": False,
        "grandtotal": money(total),
        "subtotal": money(total),
        "total_price": money(total),
        "total_shipping_cost": money(0),
        "total_tax_cost": money(0),
        "shipments": [],
        "transactions": [transaction_json(state, receipt, t) for t in receipt.transactions],
        "refunds": [{"amount": money(r["amount_cents"]),
                     "created_timestamp": r["created_timestamp"], "reason": None,
                     "note_from_issuer": None, "status": "completed"} for r in receipt.refunds],
    }
