"""The sandbox's shop: listings with inventories, receipts, and the rules Etsy enforces.

Plain mutable records guarded by one lock (held by the caller, see `EtsyState.lock`).
Ids come from one counter and secrets from a seeded RNG, so a seed replays exactly.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MAX_QUANTITY = 999
NO_STOCK = "One offering must have quantity greater than 0"
# Etsy's custom-variation property ids ("Primary color" is 200; 513/514 are custom ones).
CUSTOM_PROPERTY_ID = 513


class InventoryRefused(ValueError):
    """A write Etsy would answer with 400 and this message."""


@dataclass
class Offering:
    offering_id: int
    quantity: int
    is_enabled: bool
    price_cents: int
    readiness_state_id: int | None


@dataclass
class Product:
    product_id: int
    sku: str
    property_values: list[dict[str, Any]]
    offering: Offering

    def value_ids(self) -> list[int]:
        return sorted(v for pv in self.property_values for v in pv.get("value_ids", []))


@dataclass
class ListingRecord:
    listing_id: int
    title: str
    state: str
    products: list[Product]
    created_ts: int
    updated_ts: int
    readiness_state_id: int
    quantity_on_property: list[int] = field(default_factory=list)
    sku_on_property: list[int] = field(default_factory=list)
    price_on_property: list[int] = field(default_factory=list)

    def quantity(self) -> int:
        return sum(p.offering.quantity for p in self.products if p.offering.is_enabled)


@dataclass
class Transaction:
    transaction_id: int
    listing_id: int
    product_id: int
    sku: str
    quantity: int | None
    price_cents: int
    product_data: list[dict[str, Any]]


@dataclass
class Receipt:
    receipt_id: int
    created_ts: int
    updated_ts: int
    status: str
    transactions: list[Transaction]
    buyer_name: str
    buyer_email: str
    refunds: list[dict[str, Any]] = field(default_factory=list)

    @property
    def was_canceled(self) -> bool:
        return self.status == "canceled"


class EtsyState:
    """One Etsy shop as the sandbox holds it; every method expects `lock` to be held."""

    def __init__(self, *, seed: int, clock: Callable[[], datetime]) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.rng = random.Random(seed)
        self._ids = itertools.count(1_000_000 + seed * 1_000_000)
        self.shop_id = 40_000_000 + seed
        self.user_id = 70_000_000 + seed
        self.listings: dict[int, ListingRecord] = {}
        self.receipts: dict[int, Receipt] = {}
        self.fees: list[tuple[int, str]] = []  # (listing_id, why): renewals Etsy would bill
        # Undocumented: whether a cancellation puts the units back on the listing. Etsy's
        # help says it does not ("Canceling doesn't put the item(s) back for sale in your
        # shop", help article 4553), the API says nothing; False is that reading and the
        # default (docs/connectors/etsy.md), True the other one. Tests run both.
        self.restock_on_cancel = False
        # Processing profiles (readiness state definitions, OpenAPI: ShopProcessingProfile):
        # id -> "ready_to_ship" | "made_to_order". Undocumented: whether a sale takes a
        # unit off a made-to-order offering's quantity. True is the conservative reading
        # (the count moves like any other, so oneshop pushes `advertise` back) and the
        # default; False keeps the quantity (docs/connectors/etsy.md). Tests run both.
        self.processing_profiles: dict[int, str] = {
            self.readiness_state_id: "ready_to_ship",
            self.readiness_state_id + 1: "made_to_order"}
        self.made_to_order_sales_decrement = True

        # The shop's vacation mode: set by the seller on Etsy.com (the API cannot set
        # it), read by getShop as `is_vacation`.
        self.is_vacation = False

    def made_to_order(self, offering: Offering) -> bool:
        return self.processing_profiles.get(offering.readiness_state_id or 0) == "made_to_order"

    def next_id(self) -> int:
        return next(self._ids)

    def now_ts(self) -> int:
        return int(self.clock().timestamp())

    def add_listing(self, title: str, variants: list[tuple[str, str | None, int]],
                    *, price_cents: int = 2500) -> ListingRecord:
        """A listing with one product per (sku, variation value, quantity)."""
        now = self.now_ts()
        products = [self._product(sku, value, qty, price_cents) for sku, value, qty in variants]
        with_values = any(p.property_values for p in products)
        listing = ListingRecord(
            listing_id=self.next_id(), title=title, state="active", products=products,
            created_ts=now, updated_ts=now, readiness_state_id=self.readiness_state_id,
            quantity_on_property=[CUSTOM_PROPERTY_ID] if with_values else [],
            sku_on_property=[CUSTOM_PROPERTY_ID] if with_values else [],
        )
        if listing.quantity() <= 0:
            listing.state = "sold_out"
        self.listings[listing.listing_id] = listing
        return listing

    @property
    def readiness_state_id(self) -> int:
        return 9_000 + self.shop_id % 1_000

    def _product(self, sku: str, value: str | None, qty: int, price_cents: int) -> Product:
        values = [] if value is None else [{
            "property_id": CUSTOM_PROPERTY_ID, "property_name": "Size", "scale_id": None,
            "scale_name": None, "value_ids": [self.next_id()], "values": [value]}]
        offering = Offering(self.next_id(), min(qty, MAX_QUANTITY), qty > 0, price_cents,
                            self.readiness_state_id)
        return Product(self.next_id(), sku, values, offering)

    def find_product(self, external_id: str) -> tuple[ListingRecord, Product]:
        """Resolve a connector external_id ("listing:sku" or "listing:pv=ids")."""
        listing_part, _, key = external_id.partition(":")
        listing = self.listings.get(int(listing_part)) if listing_part.isdigit() else None
        if listing is None:
            raise KeyError(external_id)
        for product in listing.products:
            pv_key = "pv=" + ",".join(str(v) for v in product.value_ids())
            if (product.sku and product.sku == key) or (not product.sku and key == pv_key):
                return listing, product
        raise KeyError(external_id)

    def sell(self, external_id: str, quantity: int) -> Receipt:
        listing, product = self.find_product(external_id)
        offering = product.offering
        if listing.state != "active" or not offering.is_enabled or offering.quantity < quantity:
            raise ValueError(f"{external_id} is sold out on Etsy")
        if self.made_to_order_sales_decrement or not self.made_to_order(offering):
            offering.quantity -= quantity
        if listing.quantity() == 0:
            # Etsy marks a listing whose last unit sold as sold_out (not inactive).
            listing.state = "sold_out"
        now = self.now_ts()
        listing.updated_ts = now
        values = [dict(pv) for pv in product.property_values]
        tx = Transaction(self.next_id(), listing.listing_id, product.product_id, product.sku,
                         quantity, offering.price_cents, values)
        return self._store_receipt([tx], now)

    def _store_receipt(self, transactions: list[Transaction], now: int) -> Receipt:
        n = self.rng.randrange(10_000)
        receipt = Receipt(self.next_id(), now, now, "paid", transactions,
                          buyer_name=f"Buyer {n}", buyer_email=f"buyer{n}@example.com")
        self.receipts[receipt.receipt_id] = receipt
        return receipt

    def add_malformed_receipt(self) -> Receipt:
        tx = Transaction(self.next_id(), 1, 1, "BROKEN", None, 100, [])
        return self._store_receipt([tx], self.now_ts())

    def cancel(self, receipt_id: int) -> None:
        receipt = self.receipts[receipt_id]
        # Etsy does not move last_modified on a cancellation (etsy/open-api#604).
        receipt.status = "canceled"
        if self.restock_on_cancel:
            for tx in receipt.transactions:
                self._restock(tx)

    def _restock(self, tx: Transaction) -> None:
        """The restock_on_cancel reading: the units go back to the product sold, found by
        SKU or variation (our writes regenerate product ids). A listing that is off sale
        stays off sale ("You can renew a sold out item" is the seller's move)."""
        listing = self.listings.get(tx.listing_id)
        values = sorted(v for pv in tx.product_data for v in pv.get("value_ids", []))
        for product in listing.products if listing is not None else []:
            if (product.sku and product.sku == tx.sku) or (
                    not product.sku and product.value_ids() == values):
                offering = product.offering
                if offering.quantity == 0:
                    offering.is_enabled = True  # it was off for lack of stock
                offering.quantity = min(offering.quantity + (tx.quantity or 0), MAX_QUANTITY)
                listing.updated_ts = self.now_ts()  # type: ignore[union-attr]
                return

    def refund(self, receipt_id: int, amount_cents: int) -> None:
        receipt = self.receipts[receipt_id]
        total = sum((t.quantity or 0) * t.price_cents for t in receipt.transactions)
        receipt.status = "fully refunded" if amount_cents >= total else "partially refunded"
        receipt.refunds.append({"amount_cents": amount_cents, "created_timestamp": self.now_ts()})

    def replace_inventory(self, listing: ListingRecord, body: Any) -> None:
        """updateListingInventory: the body replaces every product; ids are regenerated."""
        products_in = body.get("products") if isinstance(body, dict) else None
        if not isinstance(products_in, list) or not products_in:
            raise InventoryRefused("Expected products to be a non-empty array")
        products = [self._parse_product(p) for p in products_in]
        if not any(p.offering.quantity > 0 and p.offering.is_enabled for p in products):
            raise InventoryRefused(NO_STOCK)
        skus = [p.sku for p in products if p.sku]
        if len(skus) != len(set(skus)):
            raise InventoryRefused("SKUs must be unique within a listing")
        listing.products = products
        for key in ("quantity_on_property", "sku_on_property", "price_on_property"):
            if isinstance(body.get(key), list):
                setattr(listing, key, [int(v) for v in body[key]])
        listing.updated_ts = self.now_ts()

    def _parse_product(self, raw: Any) -> Product:
        if not isinstance(raw, dict):
            raise InventoryRefused("Each product must be an object")
        offerings = raw.get("offerings")
        if not isinstance(offerings, list) or len(offerings) != 1:
            raise InventoryRefused("Each product must have exactly one offering")
        values = raw.get("property_values", [])
        if not isinstance(values, list):
            raise InventoryRefused("Property values can't be empty")
        parsed_values = [self._parse_value(v) for v in values]
        sku = raw.get("sku") or ""
        return Product(self.next_id(), str(sku), parsed_values, self._parse_offering(offerings[0]))

    @staticmethod
    def _parse_value(raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict) or not raw.get("value_ids") or "values" not in raw:
            raise InventoryRefused("Property values can't be empty")
        if any(c in "()" for v in raw["values"] for c in str(v)):
            raise InventoryRefused("Parenthesis characters are not allowed in values")
        return {"property_id": int(raw["property_id"]),
                "property_name": raw.get("property_name"), "scale_id": raw.get("scale_id"),
                "scale_name": None, "value_ids": [int(v) for v in raw["value_ids"]],
                "values": [str(v) for v in raw["values"]]}

    def _parse_offering(self, raw: Any) -> Offering:
        if not isinstance(raw, dict):
            raise InventoryRefused("Each offering must be an object")
        for key in ("price", "quantity", "is_enabled", "readiness_state_id"):
            if key not in raw:
                raise InventoryRefused(f"Offering is missing required field {key}")
        quantity, price = raw["quantity"], raw["price"]
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise InventoryRefused("Quantity must be a non-negative integer")
        if quantity > MAX_QUANTITY:
            raise InventoryRefused(f"Quantity must be less than or equal to {MAX_QUANTITY}")
        if isinstance(price, bool) or not isinstance(price, int | float) or price <= 0:
            raise InventoryRefused("Price must be greater than 0")
        return Offering(self.next_id(), quantity, bool(raw["is_enabled"]),
                        round(float(price) * 100), raw["readiness_state_id"])

    def renew_by_hand(self, listing: ListingRecord, product: Product, quantity: int) -> None:
        """The seller renews a sold_out listing on Etsy.com, typing the quantity of one
        product: it goes back on sale at once, and the renewal is billed."""
        if listing.state != "sold_out" or quantity < 1:
            raise InventoryRefused("only a sold_out listing renews, with a quantity of 1 or more")
        product.offering.quantity = min(quantity, MAX_QUANTITY)
        product.offering.is_enabled = True
        listing.state = "active"
        listing.updated_ts = self.now_ts()
        self.fees.append((listing.listing_id, "renewal"))

    def set_state(self, listing: ListingRecord, state: str) -> None:
        """updateListing(state): active/inactive; activating a sold_out listing renews it."""
        if state not in ("active", "inactive"):
            raise InventoryRefused("state must be one of active, inactive")
        if state == "active" and listing.state == "sold_out":
            # "Setting a sold_out listing to active will update the quantity to 1 and renew
            # the listing" [schema]: a renewal is billed.
            first = listing.products[0].offering
            first.quantity, first.is_enabled = max(first.quantity, 1), True
            self.fees.append((listing.listing_id, "renewal"))
        elif state == "active" and listing.quantity() <= 0:
            raise InventoryRefused(NO_STOCK)
        listing.state = state
        listing.updated_ts = self.now_ts()
