"""Pure translation between Gumroad's JSON and oneshop's values.

Every function takes parsed JSON of any shape and returns a value or a `Rejected` record;
hostile input (wrong types, missing fields, huge numbers) never raises anything else.

SKUs: Gumroad has no SKU field a seller can write through the API (custom SKUs exist
only for physical products with SKUs enabled, and are read-only). The seller-chosen,
unique-per-account handle is the product's `custom_permalink`, so that is a product's
SKU; a variant's SKU is "<custom_permalink>/<option name>". Products without a custom
permalink have no SKU and are reported unlinked (bind them with `oneshop link`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from oneshop.values import Listing, Order, OrderLine, OrderStatus, Rejected, Restock

# Keys holding customer personal data; never copied into a Rejected record.
PII_KEYS = frozenset({
    "email", "purchase_email", "full_name", "street_address", "city", "state", "zip_code",
    "country", "country_iso2", "ip_country", "purchaser_id", "custom_fields", "card",
    "shipping_information", "affiliate", "gifter_email", "license_key", "name",
})
# Gumroad's /v2/sales prices are USD cents (the Ping doc says so of the same field).
SALE_CURRENCY = "USD"
MAX_QUANTITY = 10_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class VariantRef:
    category_id: str
    variant_id: str
    category_title: str
    name: str

    def external_id(self, product_id: str) -> str:
        return f"{product_id}/{self.category_id}/{self.variant_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductInfo:
    """What the connector needs to know about a product to map its sales and write it."""

    id: str
    sku: str | None
    title: str
    max_purchase_count: int | None
    published: bool
    variant_titles: tuple[str, ...] = ()
    variants: tuple[VariantRef, ...] = field(default=())

    def variant_for(self, chosen: Mapping[str, str]) -> VariantRef | None:
        """The first category's chosen option (a line binds to one variant)."""
        for ref in self.variants:
            if chosen.get(ref.category_title) == ref.name:
                return ref
        return None


def scrub(raw: object) -> str:
    """Raw JSON for a Rejected record, with personal data taken out."""
    def clean(value: object) -> object:
        if isinstance(value, Mapping):
            return {str(k): clean(v) for k, v in value.items() if str(k) not in PII_KEYS}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value
    return json.dumps(clean(raw), default=str, ensure_ascii=False)


def parse_time(value: object) -> datetime:
    """ISO 8601 with a zone (Gumroad writes "2021-01-05T19:38:56Z"), as aware UTC."""
    if not isinstance(value, str):
        raise ValueError("created_at is not a string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("created_at is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise ValueError("created_at has no time zone")
    return parsed.astimezone(UTC)


def int_field(raw: Mapping[str, Any], key: str, *, low: int = 0, high: int = MAX_QUANTITY,
              optional: bool = False) -> int | None:
    value = raw.get(key)
    if value is None and optional:
        return None
    return required_int(raw, key, low=low, high=high)


def required_int(raw: Mapping[str, Any], key: str, *, low: int = 0, high: int = MAX_QUANTITY
                 ) -> int:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} is not an integer")
    if not low <= value <= high:
        raise ValueError(f"{key} is out of range")
    return value


def str_field(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} is missing")
    return value


def map_product(raw: object) -> ProductInfo | Rejected:
    """A product from /v2/products (variant ids are added later from its categories)."""
    if not isinstance(raw, Mapping):
        return Rejected(reason="product is not an object", raw=scrub(raw))
    try:
        product_id = str_field(raw, "id")
        permalink = raw.get("custom_permalink")
        titles = tuple(str(v["title"]) for v in raw.get("variants") or ()
                       if isinstance(v, Mapping) and v.get("options"))
        return ProductInfo(
            id=product_id,
            sku=permalink if isinstance(permalink, str) and permalink else None,
            title=str(raw.get("name") or ""),
            # Not `sales_count`: that counts purchases, refunds and chargebacks left out,
            # while a cap counts units, refunds in (units.py). The connector counts them.
            max_purchase_count=int_field(raw, "max_purchase_count", optional=True),
            published=raw.get("published") is not False,
            variant_titles=titles,
        )
    except (ValueError, KeyError, TypeError) as exc:
        external = raw.get("id") if isinstance(raw.get("id"), str) else None
        return Rejected(reason=f"product: {exc}", raw=scrub(raw), external_id=external)


def variant_refs(category: object, variants: object) -> tuple[VariantRef, ...] | Rejected:
    """One category's options, from its /variant_categories and /variants answers."""
    try:
        if not isinstance(category, Mapping) or not isinstance(variants, Sequence):
            raise ValueError("variant category is malformed")
        cat_id, title = str_field(category, "id"), str_field(category, "title")
        return tuple(
            VariantRef(category_id=cat_id, variant_id=str_field(v, "id"),
                       category_title=title, name=str_field(v, "name"))
            for v in variants if isinstance(v, Mapping)
        )
    except ValueError as exc:
        return Rejected(reason=f"variant category: {exc}", raw=scrub([category, variants]))


def quantity_left(cap: int | None, sold: int) -> int | None:
    """Gumroad's quantity_left: max(cap - sold, 0); no cap means unlimited (None)."""
    return None if cap is None else max(cap - sold, 0)


def product_listing(info: ProductInfo, sold: int) -> Listing:
    """A product as a listing; `sold` is its units counted against the cap (units.py)."""
    return Listing(
        external_id=info.id,
        sku=info.sku,
        title=info.title,
        quantity=quantity_left(info.max_purchase_count, sold),
        state="active" if info.published else "inactive",
        extra={"product_id": info.id, "units_sold": str(sold)},
    )


def variant_listing(info: ProductInfo, ref: VariantRef, raw: object, sold: int
                    ) -> Listing | Rejected:
    """A variant as a listing; `sold` is its units counted against its cap (units.py)."""
    if not isinstance(raw, Mapping):
        return Rejected(reason="variant is not an object", raw=scrub(raw))
    try:
        cap = int_field(raw, "max_purchase_count", optional=True)
    except ValueError as exc:
        return Rejected(reason=f"variant: {exc}", raw=scrub(raw),
                        external_id=ref.external_id(info.id))
    return Listing(
        external_id=ref.external_id(info.id),
        sku=f"{info.sku}/{ref.name}" if info.sku else None,
        title=f"{info.title} ({ref.name})",
        quantity=quantity_left(cap, sold),
        state="active" if info.published else "inactive",
        extra={"product_id": info.id, "variant_category_id": ref.category_id,
               "variant_id": ref.variant_id, "category_title": ref.category_title,
               "variant_name": ref.name, "units_sold": str(sold)},
    )


def sale_status(raw: Mapping[str, Any]) -> OrderStatus:
    if raw.get("cancelled") is True:
        return "cancelled"
    if raw.get("refunded") is True or raw.get("chargedback") is True:
        return "refunded"
    if raw.get("partially_refunded") is True:
        return "partially_refunded"
    return "open"


def map_sale(raw: object, product: ProductInfo | None, *, restock_refunds: bool
             ) -> Order | Rejected:
    """One sale is one order with one line (both keyed by the sale id)."""
    if not isinstance(raw, Mapping):
        return Rejected(reason="sale is not an object", raw=scrub(raw))
    sale_id = raw.get("id") if isinstance(raw.get("id"), str) and raw.get("id") else None
    try:
        return _order(raw, product, restock_refunds=restock_refunds)
    except (ValueError, TypeError, ArithmeticError) as exc:
        return Rejected(reason=f"sale: {exc}", raw=scrub(raw), external_id=sale_id)


def _order(raw: Mapping[str, Any], product: ProductInfo | None, *, restock_refunds: bool
           ) -> Order:
    sale_id = str_field(raw, "id")
    created = parse_time(raw.get("created_at"))
    quantity = required_int(raw, "quantity", low=1)
    cents = required_int(raw, "price", high=10**12)
    chosen = raw.get("variants") or {}
    if not isinstance(chosen, Mapping):
        raise ValueError("variants is not an object")
    product_id = str_field(raw, "product_id")
    listing_id, sku = _line_target(product_id, product, chosen)
    status = sale_status(raw)
    total = Decimal(cents) / 100
    line = OrderLine(external_id=sale_id, sku=sku, listing_external_id=listing_id,
                     quantity=quantity, unit_price=(total / quantity).quantize(Decimal("0.01")),
                     # A partial refund is an amount: only a full one says which units.
                     refunded_quantity=quantity if status == "refunded" else 0)
    # A partial refund is money back on a sale the buyer keeps: no units return.
    gives_back = status in ("refunded", "cancelled") and restock_refunds
    restocks = (Restock(key=f"refund:{sale_id}", line_external_id=sale_id,
                        quantity=quantity, channel_applied=False),) if gives_back else ()
    # A Gumroad sale is charged when it is made (no unpaid sales are listed).
    return Order(external_id=sale_id, status=status, currency=SALE_CURRENCY, total=total,
                 created_at=created, updated_at=created, lines=(line,), restocks=restocks,
                 paid_at=created)


def _line_target(product_id: str, product: ProductInfo | None, chosen: Mapping[Any, Any]
                 ) -> tuple[str, str | None]:
    if product is None or product.id != product_id:
        return product_id, None
    if not chosen or not product.variants:
        return product_id, product.sku
    ref = product.variant_for({str(k): str(v) for k, v in chosen.items()})
    if ref is None:
        return product_id, None
    return ref.external_id(product_id), f"{product.sku}/{ref.name}" if product.sku else None
