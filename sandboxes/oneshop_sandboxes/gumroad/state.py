"""The sandbox's world: products, variants, sales and subscriptions, as Gumroad keeps them.

Inventory follows Gumroad's code: a product or variant counts the units of its sales
toward `max_purchase_count` (a lifetime cap, None = unlimited); refunds and chargebacks
leave that count as it is (`sales_count_for_inventory` in link.rb and base_variant.rb,
scope `counts_towards_inventory` in purchase.rb). Product JSON's `sales_count` is another
number: successful purchases, refunded and charged-back ones left out, whatever their
quantity (`successful_sales_count`, app/modules/product/stats.rb).
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from oneshop_connectors.gumroad.endpoints import MAX_PURCHASE_COUNT_LIMIT


@dataclass(slots=True)
class Variant:
    id: str
    name: str
    max_purchase_count: int | None
    price_difference_cents: int = 0
    sold: int = 0

    def as_json(self) -> dict[str, Any]:
        # variants_controller renders BaseVariant#as_json: no sold count is exposed.
        return {
            "id": self.id,
            "max_purchase_count": self.max_purchase_count,
            "name": self.name,
            "description": "",
            "price_difference_cents": self.price_difference_cents,
        }


@dataclass(slots=True)
class VariantCategory:
    id: str
    title: str
    variants: dict[str, Variant] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title}


@dataclass(slots=True)
class Product:
    id: str
    name: str
    custom_permalink: str | None
    short_permalink: str
    price_cents: int
    max_purchase_count: int | None
    published: bool = True
    deleted: bool = False
    sold: int = 0
    # Gumroad's `successful_sales_count`: purchases neither refunded nor charged back.
    successful_sales: int = 0
    categories: dict[str, VariantCategory] = field(default_factory=dict)

    def as_json(self, *, sales_count: int) -> dict[str, Any]:
        """As /v2/products renders it for a token with view_sales."""
        return {
            "id": self.id,
            "name": self.name,
            "custom_permalink": self.custom_permalink,
            "short_url": f"https://seller.gumroad.com/l/{self.short_permalink}",
            "published": self.published,
            "deleted": self.deleted,
            "max_purchase_count": self.max_purchase_count,
            "price": self.price_cents,
            "currency": "usd",
            "formatted_price": f"${self.price_cents / 100:g}",
            # Purchases, not units; refunded and charged-back ones left out (link.rb).
            "sales_count": sales_count,
            "is_tiered_membership": False,
            "variants": [
                {
                    "title": c.title,
                    "options": [
                        {"name": v.name, "price_difference": v.price_difference_cents}
                        for v in c.variants.values()
                    ],
                }
                for c in self.categories.values()
            ],
        }


@dataclass(slots=True)
class Sale:
    id: str
    seq: int
    created_at: datetime
    product_id: str
    variants: dict[str, str]
    quantity: int
    price_cents: int
    email: str
    full_name: str
    refunded_cents: int = 0
    chargedback: bool = False
    cancelled: bool = False
    # A stored payload the connector cannot map (the malformed-order fault).
    override: dict[str, Any] | None = None

    @property
    def refunded(self) -> bool:
        return self.refunded_cents >= self.price_cents

    @property
    def partially_refunded(self) -> bool:
        return 0 < self.refunded_cents < self.price_cents


@dataclass(slots=True)
class Subscription:
    id: str
    resource_name: str
    post_url: str


def clamp_cap(value: int) -> int:
    return max(0, min(MAX_PURCHASE_COUNT_LIMIT, value))


class Ids:
    """Deterministic Gumroad-looking ids (urlsafe base64 of 16 seeded random bytes)."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self.seq = 0

    def external(self) -> str:
        return base64.urlsafe_b64encode(self._rng.randbytes(16)).decode()

    def short(self) -> str:
        return "".join(self._rng.choice("abcdefghijkmnpqrstuvwxyz") for _ in range(5))

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


@dataclass(slots=True)
class World:
    """Everything the sandbox holds; callers hold the sandbox lock while touching it."""

    token: str
    revoked: bool = False
    products: dict[str, Product] = field(default_factory=dict)
    sales: dict[str, Sale] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)

    def find_variant(self, external_id: str) -> tuple[Product, Variant | None]:
        """The product (and variant) behind a listing external_id; KeyError if unknown."""
        parts = external_id.split("/")
        product = self.products[parts[0]]
        if len(parts) == 1:
            return product, None
        if len(parts) != 3:
            raise KeyError(external_id)
        return product, product.categories[parts[1]].variants[parts[2]]

    def successful_sales(self, product_id: str) -> int:
        product = self.products.get(product_id)
        return product.successful_sales if product else 0

    def variant_by_names(self, product: Product, chosen: dict[str, str]) -> list[Variant]:
        found = []
        for category in product.categories.values():
            for variant in category.variants.values():
                if chosen.get(category.title) == variant.name:
                    found.append(variant)
        return found
