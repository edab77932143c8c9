"""Pure translation between Etsy JSON and oneshop values (no I/O).

Anything a function cannot map raises InvalidRecord inside and leaves as a `Rejected`
record; no other exception escapes for any JSON input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from oneshop.errors import InvalidRecord
from oneshop.values import Listing, Order, OrderLine, OrderStatus, Rejected, Restock

MAX_INT = 2**63 - 1
MAX_TS = 253_402_300_799  # 9999-12-31
# Customer personal data in receipts; never copied into a Rejected record.
PII_KEYS = frozenset({
    "name", "buyer_email", "seller_email", "payment_email", "first_line", "second_line",
    "city", "state", "zip", "formatted_address", "message_from_buyer", "message_from_seller",
    "message_from_payment", "gift_message", "gift_sender", "shipments",
})
STATUSES: dict[str, OrderStatus] = {
    "paid": "open", "open": "open", "payment processing": "open", "completed": "closed",
    "canceled": "cancelled", "fully refunded": "refunded",
    "partially refunded": "partially_refunded",
}


def int_of(value: Any, what: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_INT:
        raise InvalidRecord(f"{what} is not an integer ≥ {minimum}")
    return int(value)


def dict_of(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidRecord(f"{what} is not an object")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidRecord(f"{what} is not a list")
    return value


def money_of(value: Any, what: str) -> tuple[Decimal, str]:
    raw = dict_of(value, what)
    amount = raw.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int) or abs(amount) > MAX_INT:
        raise InvalidRecord(f"{what}.amount is not an integer")
    divisor = int_of(raw.get("divisor"), f"{what}.divisor", minimum=1)
    currency = raw.get("currency_code")
    if not isinstance(currency, str) or not currency:
        raise InvalidRecord(f"{what}.currency_code is missing")
    try:
        return Decimal(amount) / Decimal(divisor), currency
    except InvalidOperation:
        raise InvalidRecord(f"{what} is not a number") from None


def _time(value: Any, what: str) -> datetime:
    ts = int_of(value, what)
    if ts > MAX_TS:
        raise InvalidRecord(f"{what} is out of range")
    return datetime.fromtimestamp(ts, UTC)


def sku_of(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidRecord("sku is not a string")
    return value


def raw_text(raw: Any) -> str:
    """The payload as JSON text with customer personal data removed."""
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in PII_KEYS}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value
    return json.dumps(strip(raw), default=str, ensure_ascii=False)


def value_ids(property_values: Any) -> list[int]:
    ids: list[int] = []
    for pv in _list(property_values or [], "property_values"):
        for vid in _list(dict_of(pv, "property value").get("value_ids") or [], "value_ids"):
            ids.append(int_of(vid, "value_id"))
    return sorted(ids)


def product_key(listing_id: int, sku: str | None, property_values: Any) -> str:
    """The binding key: listing id + SKU, or + property value ids when there is no SKU."""
    if sku is not None:
        return f"{listing_id}:{sku}"
    return f"{listing_id}:pv=" + ",".join(str(v) for v in value_ids(property_values))


def listing_id_of(external_id: str) -> int:
    head = external_id.partition(":")[0]
    if not head.isdigit():
        raise InvalidRecord("external_id does not start with a listing id",
                            external_id=external_id)
    return int(head)


def live_offering(product: Any) -> dict[str, Any]:
    offerings = [o for o in _list(dict_of(product, "product").get("offerings"), "offerings")
                 if not (isinstance(o, dict) and o.get("is_deleted") is True)]
    if len(offerings) != 1:
        raise InvalidRecord("product does not have exactly one offering")
    return dict_of(offerings[0], "offering")


def shown_quantity(offering: Mapping[str, Any], listing_state: str) -> int:
    """What buyers can buy: 0 when the offering is disabled or the listing is off sale
    (sold out, inactive, draft, expired): Etsy keeps a phantom quantity ≥ 1 there."""
    quantity = int_of(offering.get("quantity"), "offering.quantity")
    enabled = offering.get("is_enabled")
    if not isinstance(enabled, bool):
        raise InvalidRecord("offering.is_enabled is not a boolean")
    return quantity if enabled and listing_state == "active" else 0


def live_products(inventory: Any) -> list[Any]:
    products = _list(dict_of(inventory, "inventory").get("products"), "inventory.products")
    return [p for p in products if not (isinstance(p, dict) and p.get("is_deleted") is True)]


def map_listing(raw: Any) -> tuple[list[Listing], list[Rejected]]:
    """One ShopListing (with its inventory) -> one Listing per product."""
    try:
        listing = dict_of(raw, "listing")
        listing_id = int_of(listing.get("listing_id"), "listing_id", minimum=1)
        state, title = listing.get("state"), listing.get("title", "")
        if not isinstance(state, str) or not isinstance(title, str):
            raise InvalidRecord("listing state or title is not a string")
        products = live_products(listing.get("inventory"))
    except InvalidRecord as exc:
        return [], [Rejected(reason=exc.reason, raw=raw_text(raw), external_id=None)]
    found: list[Listing] = []
    rejected: list[Rejected] = []
    for product in products:
        try:
            found.append(_map_product(listing_id, state, title, product))
        except InvalidRecord as exc:
            rejected.append(Rejected(reason=exc.reason, raw=raw_text(product),
                                     external_id=str(listing_id)))
    return found, rejected


def _map_product(listing_id: int, state: str, title: str, product: Any) -> Listing:
    sku = sku_of(dict_of(product, "product").get("sku"))
    key = product_key(listing_id, sku, product.get("property_values"))
    quantity = shown_quantity(live_offering(product), state)
    return Listing(external_id=key, sku=sku, title=title, quantity=quantity, state=state,
                   extra={"listing_id": str(listing_id), "state": state})


def map_receipt(raw: Any) -> Order | Rejected:
    """One ShopReceipt -> an Order, or a Rejected record (personal data stripped)."""
    receipt_id = raw.get("receipt_id") if isinstance(raw, dict) else None
    external_id = str(receipt_id) if isinstance(receipt_id, int) else None
    try:
        return _map_receipt(dict_of(raw, "receipt"))
    except InvalidRecord as exc:
        return Rejected(reason=exc.reason, raw=raw_text(raw), external_id=external_id)


def _map_receipt(raw: dict[str, Any]) -> Order:
    receipt_id = int_of(raw.get("receipt_id"), "receipt_id", minimum=1)
    raw_status = raw.get("status")
    status = STATUSES.get(raw_status) if isinstance(raw_status, str) else None
    if status is None:
        raise InvalidRecord("receipt status is unknown")
    total, currency = money_of(raw.get("grandtotal"), "grandtotal")
    created = _time(raw.get("created_timestamp", raw.get("create_timestamp")), "created")
    updated = _time(raw.get("updated_timestamp", raw.get("update_timestamp")), "updated")
    transactions = _list(raw.get("transactions"), "transactions")
    if not transactions:
        raise InvalidRecord("receipt has no transactions")
    lines = tuple(_map_line(tx) for tx in transactions)
    if status == "refunded":
        # Etsy's refunds are amounts, not units: only a full refund says which units.
        lines = tuple(replace(line, refunded_quantity=line.quantity) for line in lines)
    restocks = tuple(
        # Etsy's help says a cancellation does not put the units back for sale ("Canceling
        # doesn't put the item(s) back for sale in your shop"); the API documents nothing.
        # So the engine pushes them (not applied), and takes a rise of exactly this many
        # on the listing, before our push lands, for Etsy's own restock (may apply).
        Restock(key=f"cancel:{line.external_id}", line_external_id=line.external_id,
                quantity=line.quantity, channel_applied=False, channel_may_apply=True)
        for line in lines) if status == "cancelled" else ()
    return Order(external_id=str(receipt_id), status=status, currency=currency, total=total,
                 created_at=created, updated_at=max(created, updated), lines=lines,
                 restocks=restocks, paid_at=_paid_at(raw, transactions))


def _paid_at(raw: dict[str, Any], transactions: list[Any]) -> datetime | None:
    """When the receipt was paid: its transactions' `paid_timestamp` (the first), if
    `is_paid`; an unreadable one is no reason to reject the sale."""
    if raw.get("is_paid") is not True:
        return None
    stamps = [tx.get("paid_timestamp") for tx in transactions if isinstance(tx, dict)]
    valid = [s for s in stamps if isinstance(s, int) and not isinstance(s, bool) and
             0 < s <= MAX_INT]
    return datetime.fromtimestamp(min(valid), UTC) if valid else None


def _map_line(raw: Any) -> OrderLine:
    tx = dict_of(raw, "transaction")
    transaction_id = int_of(tx.get("transaction_id"), "transaction_id", minimum=1)
    quantity = int_of(tx.get("quantity"), "transaction quantity", minimum=1)
    price, _ = money_of(tx.get("price"), "transaction price")
    sku = sku_of(tx.get("sku"))
    listing_id = tx.get("listing_id")
    key = None
    if listing_id is not None:
        key = product_key(int_of(listing_id, "listing_id", minimum=1), sku, tx.get("product_data"))
    return OrderLine(external_id=str(transaction_id), sku=sku, listing_external_id=key,
                     quantity=quantity, unit_price=price)


def updated_ts(raw: Any) -> int | None:
    """A receipt's last-modified time, for advancing the cursor (None if unreadable)."""
    if not isinstance(raw, dict):
        return None
    value = raw.get("updated_timestamp", raw.get("update_timestamp"))
    return value if isinstance(value, int) and not isinstance(value, bool) else None
