"""How the sandbox renders sales: the /v2/sales JSON and the Ping form body."""

from __future__ import annotations

from typing import Any

from oneshop_sandboxes.gumroad.state import Product, Sale

SELLER_ID = "kL0paVL2SdmJSYsNs-OCMg=="


def sale_json(sale: Sale, product: Product | None) -> dict[str, Any]:
    """A sale as GET /v2/sales renders it (Sales.tsx example fields)."""
    if sale.override is not None:
        return dict(sale.override)
    return {
        "id": sale.id,
        "email": sale.email,
        "seller_id": SELLER_ID,
        "created_at": sale.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "product_name": product.name if product else "",
        "product_has_variants": bool(sale.variants),
        "price": sale.price_cents,
        "gumroad_fee": sale.price_cents // 10,
        "currency_symbol": "$",
        "formatted_display_price": f"${sale.price_cents / 100:g}",
        "amount_refundable_in_currency": f"{(sale.price_cents - sale.refunded_cents) / 100:g}",
        "product_id": sale.product_id,
        "product_permalink": product.short_permalink if product else "",
        "refunded": sale.refunded,
        "partially_refunded": sale.partially_refunded,
        "chargedback": sale.chargedback,
        "disputed": sale.chargedback,
        "dispute_won": False,
        "cancelled": sale.cancelled,
        "ended": False,
        "purchase_email": sale.email,
        "full_name": sale.full_name,
        "paid": True,
        "has_variants": bool(sale.variants),
        "variants": dict(sale.variants),
        "variants_and_quantity": f"({', '.join(sale.variants.values())})" if sale.variants else "",
        "order_id": 500_000_000 + sale.seq,
        "is_product_physical": False,
        "is_recurring_billing": False,
        "quantity": sale.quantity,
    }


def ping_form(sale: Sale, product: Product | None) -> list[tuple[str, str]]:
    """The Ping body, form-encoded with bracketed keys for dicts, as Gumroad posts it."""
    fields: list[tuple[str, str]] = [
        ("seller_id", SELLER_ID),
        ("product_id", sale.product_id),
        ("product_name", product.name if product else ""),
        ("product_permalink", product.short_permalink if product else ""),
        ("short_product_id", product.short_permalink if product else ""),
        ("email", sale.email),
        ("price", str(sale.price_cents)),
        ("gumroad_fee", str(sale.price_cents // 10)),
        ("quantity", str(sale.quantity)),
        ("discover_fee_charged", "false"),
        ("can_contact", "true"),
        ("referrer", "direct"),
        ("order_number", str(500_000_000 + sale.seq)),
        ("sale_id", sale.id),
        ("sale_timestamp", sale.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("full_name", sale.full_name),
        ("ip_country", "United States"),
        ("is_gift_receiver_purchase", "false"),
        ("refunded", "true" if sale.refunded else "false"),
        ("test", "false"),
    ]
    fields.extend((f"variants[{k}]", v) for k, v in sale.variants.items())
    return fields
