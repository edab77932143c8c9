"""A stateful emulator of Gumroad API v2 with the uniform sandbox control surface.

Usable in-process (`transport()`) and on loopback (`sandboxkit.serve(sandbox.wsgi_app)`).
Listing external ids are the connector's: a product id, or "product/category/variant".
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from oneshop.protocols import Clock
from oneshop.testing import sandboxkit
from oneshop.values import TokenPair
from oneshop_sandboxes.gumroad.app import GumroadApi
from oneshop_sandboxes.gumroad.control import Deliveries, gumroad_control
from oneshop_sandboxes.gumroad.state import (
    Ids,
    Product,
    Sale,
    Variant,
    VariantCategory,
    World,
    clamp_cap,
)


def is_api(path: str) -> bool:
    return path.startswith("/v2/")


class GumroadSandbox:
    """Products, variants, sales, refunds and webhooks, held to Gumroad's rules."""

    def __init__(self, *, seed: int = 0, latency_s: float = 0.0, clock: Clock | None = None):
        self.lock = threading.RLock()
        self.ids = Ids(seed)
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self.world = World(token=f"gum_{self.ids.external()}")
        self.requests = 0
        self.writes = 0
        self.faults = sandboxkit.Faults()
        self.faults.latency_s = latency_s
        self.deliveries = Deliveries(self)
        api = sandboxkit.with_faults(GumroadApi(self), self.faults, is_api=is_api)
        self.wsgi_app = sandboxkit.mount(self._counted(api), gumroad_control(self))

    def _counted(self, app: sandboxkit.WSGIApp) -> sandboxkit.WSGIApp:
        """Count every API request received (faulted ones too); writes are non-GETs."""
        def counted(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
            if is_api(environ.get("PATH_INFO", "")):
                with self.lock:
                    self.requests += 1
                    if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
                        self.writes += 1
            return app(environ, start)
        return counted

    # -- the uniform Sandbox protocol ------------------------------------------------
    def transport(self) -> httpx.BaseTransport:
        return sandboxkit.FaultTransport(self.wsgi_app)

    def connector_settings(self, base_url: str) -> dict[str, Any]:
        # restock_refunds on: a sandbox cancellation is a full refund that puts units back.
        return {"access_token": self.world.token, "base_url": base_url,
                "restock_refunds": True}

    def issue_tokens(self) -> TokenPair | None:
        return None  # Gumroad access tokens are static (they never expire)

    def seed_listing(self, sku: str, quantity: int, *, title: str = "") -> str:
        return self.add_product(title or sku, permalink=sku, max_purchase_count=quantity)

    def sell(self, external_id: str, quantity: int = 1) -> str:
        with self.lock:
            product, variant = self.world.find_variant(external_id)
            chosen = {}
            if variant is not None:
                title = next(c.title for c in product.categories.values()
                             if variant.id in c.variants)
                chosen = {title: variant.name}
            sale = self._record_sale(product, chosen, quantity)
        self.deliveries.emit("sale", sale)
        return sale.id

    def cancel(self, order_id: str, *, restock: bool = True) -> None:
        """A full refund. Gumroad has no per-refund restock flag: the account policy
        (`restock_refunds`) decides on our side, so `restock` changes nothing here."""
        self.refund(order_id)

    def quantity(self, external_id: str) -> int | None:
        with self.lock:
            product, variant = self.world.find_variant(external_id)
            item: Product | Variant = variant or product
            if item.max_purchase_count is None:
                return None
            return max(item.max_purchase_count - item.sold, 0)

    def hand_edit(self, external_id: str, quantity: int) -> None:
        """The seller sets the cap by hand so that `quantity` units show."""
        with self.lock:
            product, variant = self.world.find_variant(external_id)
            item: Product | Variant = variant or product
            item.max_purchase_count = clamp_cap(item.sold + quantity)

    def revoke_credentials(self) -> None:
        with self.lock:
            self.world.revoked = True

    def fail_next(self, count: int, *, status: int = 500, retry_after_s: float = 0.0) -> None:
        self.faults.fail_next(count, status=status, retry_after_s=retry_after_s)

    def add_malformed_order(self) -> str:
        """A sale with no quantity and a created_at that is not a time."""
        with self.lock:
            seq = self.ids.next_seq()
            sale_id = self.ids.external()
            raw = {"id": sale_id, "created_at": "yesterday-ish", "product_id": "gone",
                   "price": "ten dollars", "email": "buyer@example.com", "variants": {}}
            self.world.sales[sale_id] = Sale(
                id=sale_id, seq=seq, created_at=self.clock(), product_id="gone", variants={},
                quantity=0, price_cents=0, email="", full_name="", override=raw)
            return sale_id

    # -- Gumroad-specific controls ---------------------------------------------------
    def add_product(self, name: str, *, permalink: str | None = None,
                    max_purchase_count: int | None = None, price_cents: int = 1000,
                    published: bool = True) -> str:
        with self.lock:
            product = Product(id=self.ids.external(), name=name, custom_permalink=permalink,
                              short_permalink=self.ids.short(), price_cents=price_cents,
                              max_purchase_count=max_purchase_count, published=published)
            self.world.products[product.id] = product
            return product.id

    def add_variant(self, product_id: str, category: str, name: str, *,
                    max_purchase_count: int | None = None, price_difference_cents: int = 0
                    ) -> str:
        """Add an option (creating its category on first use); returns its external_id."""
        with self.lock:
            product = self.world.products[product_id]
            found = [c for c in product.categories.values() if c.title == category]
            if found:
                cat = found[0]
            else:
                cat = VariantCategory(self.ids.external(), category)
                product.categories[cat.id] = cat
            variant = Variant(self.ids.external(), name, max_purchase_count,
                              price_difference_cents)
            cat.variants[variant.id] = variant
            return f"{product_id}/{cat.id}/{variant.id}"

    def sell_options(self, product_id: str, chosen: dict[str, str], quantity: int = 1) -> str:
        """A sale choosing one option per category by name, as a buyer does."""
        with self.lock:
            sale = self._record_sale(self.world.products[product_id], dict(chosen), quantity)
        self.deliveries.emit("sale", sale)
        return sale.id

    def refund(self, sale_id: str, amount_cents: int | None = None) -> None:
        with self.lock:
            self.refund_locked(sale_id, amount_cents)

    def refund_locked(self, sale_id: str, amount_cents: int | None) -> None:
        """Full or partial refund; the units stay counted as sold (Gumroad's rule)."""
        sale = self.world.sales[sale_id]
        if sale.refunded:
            raise ValueError("Purchase is already refunded.")
        left = sale.price_cents - sale.refunded_cents
        amount = left if amount_cents is None else amount_cents
        if amount <= 0 or amount > left:
            raise ValueError("Refund amount cannot be greater than the purchase price.")
        sale.refunded_cents += amount
        if sale.refunded and not sale.chargedback:
            self._no_longer_successful(sale)
        self.deliveries.emit("refund", sale)

    def chargeback(self, sale_id: str) -> None:
        with self.lock:
            sale = self.world.sales[sale_id]
            if not sale.chargedback and not sale.refunded:
                self._no_longer_successful(sale)
            sale.chargedback = True
        self.deliveries.emit("dispute", sale)

    def _no_longer_successful(self, sale: Sale) -> None:
        product = self.world.products.get(sale.product_id)
        if product is not None:
            product.successful_sales -= 1

    def sold(self, external_id: str) -> int:
        with self.lock:
            product, variant = self.world.find_variant(external_id)
            return (variant or product).sold

    def deliver_webhooks_to(self, url: str, *, resources: Sequence[str] = ("sale", "refund"),
                            transport: httpx.BaseTransport | None = None) -> None:
        """POST Ping-format deliveries (form-encoded, unsigned) to `url` on these events."""
        self.deliveries.add_target(url, tuple(resources), transport)

    def _record_sale(self, product: Product, chosen: dict[str, str], quantity: int) -> Sale:
        if quantity < 1:
            raise ValueError("quantity must be at least 1")
        variants = self.world.variant_by_names(product, chosen)
        items: list[Product | Variant] = [product, *variants]
        for item in items:
            cap = item.max_purchase_count
            if cap is not None and item.sold + quantity > cap:
                raise ValueError("sold out")
        for item in items:
            item.sold += quantity
        product.successful_sales += 1
        seq = self.ids.next_seq()
        unit = product.price_cents + sum(v.price_difference_cents for v in variants)
        sale = Sale(id=self.ids.external(), seq=seq, created_at=self.clock(),
                    product_id=product.id, variants=chosen, quantity=quantity,
                    price_cents=unit * quantity, email=f"buyer{seq}@example.com",
                    full_name=f"Buyer Number{seq}")
        self.world.sales[sale.id] = sale
        return sale
