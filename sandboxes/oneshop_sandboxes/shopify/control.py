"""`ShopifySandbox`: the emulator object, its Python control surface and its wiring.

The same object serves in-process (`transport()`) and on loopback (`wsgi_app`). Richer
controls than the shared `Sandbox` protocol (variants, refunds, plans, webhooks) are plain
methods here and JSON endpoints under `/_sandbox/shopify/` (see `control_http`).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from oneshop.testing import sandboxkit
from oneshop.values import TokenPair
from oneshop_sandboxes.shopify import webhooks
from oneshop_sandboxes.shopify.app import SERVED_VERSION, api_app
from oneshop_sandboxes.shopify.bulk import BulkOperations
from oneshop_sandboxes.shopify.control_http import control_http
from oneshop_sandboxes.shopify.cost import MAX_QUERY_COST, LeakyBucket, ListPricing
from oneshop_sandboxes.shopify.root import Root
from oneshop_sandboxes.shopify.state import (
    SHOP_DOMAIN,
    Order,
    ShopState,
    Variant,
    gid,
    gid_num,
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ShopifySandbox:
    """A stateful Shopify Admin API (GraphQL 2026-04) for one shop."""

    SCOPES = "read_inventory,write_inventory,read_orders,read_products"

    def __init__(self, *, seed: int = 0, latency_s: float = 0.0,
                 clock: Callable[[], datetime] | None = None, bucket_size: float = 2000,
                 restore_rate: float = 100,
                 list_pricing: ListPricing = ListPricing.PER_ITEM) -> None:
        self.clock = clock or _utc_now
        self.state = ShopState(seed=seed, clock=self.clock)
        self.rng = random.Random(seed)
        self.faults = sandboxkit.Faults()
        self.faults.latency_s = latency_s
        self.bucket = LeakyBucket(maximum=bucket_size, restore_rate=restore_rate,
                                  clock=self.clock)
        self.throttle_http_status = 200
        # How plain list fields with `first` are priced: Shopify does not say; the
        # conservative reading (N x one item) by default, so the suite runs with it.
        self.list_pricing = list_pricing
        # The single-query cap (1,000). Lowering it stands in for a Shopify that prices
        # our documents dearer than we read its rules.
        self.max_query_cost = MAX_QUERY_COST
        self.static_token = f"shpat_{self.rng.getrandbits(128):032x}"
        self.client_id = f"{self.rng.getrandbits(64):016x}"
        self.client_secret = f"shpss_{self.rng.getrandbits(128):032x}"
        self.token_lifetime_s = 86399
        self.minted: dict[str, datetime] = {}
        self.tokens_minted = 0
        self.revoked = False
        self.writes = 0  # mutating API requests received
        self._drop_responses = 0
        self._subscribers: list[tuple[str, str, httpx.BaseTransport | None]] = []
        self._pending: list[webhooks.Delivery] = []
        self._lock = threading.Lock()
        # Bulk query operations (bulk.py); its settings and faults are plain attributes.
        self.bulk = BulkOperations(self.clock)
        self.root = Root(self.state, on_level_change=self._level_changed, bulk=self.bulk)
        api = sandboxkit.with_faults(api_app(self), self.faults,
                                     is_api=lambda path: path.startswith("/admin/"))
        self.wsgi_app = sandboxkit.mount(api, control_http(self, sandboxkit.control_app(self)))

    # --- plumbing -------------------------------------------------------------------
    @property
    def requests(self) -> int:
        """API requests received (faulted ones included), not control calls."""
        return self.faults.requests

    @requests.setter
    def requests(self, value: int) -> None:
        self.faults.requests = value

    def transport(self) -> httpx.BaseTransport:
        return sandboxkit.FaultTransport(self.wsgi_app)

    def connector_settings(self, base_url: str) -> dict[str, Any]:
        return {"shop": SHOP_DOMAIN, "base_url": base_url, "access_token": self.static_token}

    def client_credentials_settings(self, base_url: str) -> dict[str, Any]:
        return {"shop": SHOP_DOMAIN, "base_url": base_url, "client_id": self.client_id,
                "client_secret": self.client_secret}

    def issue_tokens(self) -> TokenPair | None:
        return None  # static admin tokens; client-credentials tokens are minted over HTTP

    def token_valid(self, token: str) -> bool:
        with self._lock:
            if self.revoked or not token:
                return False
            if token == self.static_token:
                return True
            expires = self.minted.get(token)
            return expires is not None and self.clock() < expires

    def mint(self, token: str) -> None:
        with self._lock:
            self.minted[token] = self.clock() + timedelta(seconds=self.token_lifetime_s)
            self.tokens_minted += 1

    def count_write(self) -> None:
        with self._lock:
            self.writes += 1

    def after_response(self) -> None:
        """Drop the connection after the shop processed the request (tests idempotency)."""
        with self._lock:
            if self._drop_responses <= 0:
                return
            self._drop_responses -= 1
        raise sandboxkit.DroppedConnection()

    # --- the shared Sandbox protocol ------------------------------------------------
    def seed_listing(self, sku: str, quantity: int, *, title: str = "") -> str:
        return self.add_variant(sku, quantity, title=title)

    def add_variant(self, sku: str | None, quantity: int | None, *, title: str = "",
                    tracked: bool = True, price: str = "10.00") -> str:
        """A product with one variant; returns its inventory item GID (the external_id)."""
        with self.state.lock:
            variant = self.state.add_variant(sku, quantity, title=title, tracked=tracked,
                                             price=Decimal(price))
            return gid("InventoryItem", variant.item_num)

    def add_variants(self, count: int, *, sku_prefix: str = "SKU-", quantity: int = 5) -> None:
        """Many variants at once (benchmarks)."""
        with self.state.lock:
            for i in range(count):
                self.state.add_variant(f"{sku_prefix}{i:06d}", quantity)

    def _variant(self, external_id: str) -> Variant:
        num = gid_num(external_id, "InventoryItem")
        if num is None or num not in self.state.items:
            raise LookupError(external_id)
        return self.state.variant_by_item(num)

    def _order(self, order_id: str) -> Order:
        num = gid_num(order_id, "Order")
        if num is None or num not in self.state.orders:
            raise LookupError(order_id)
        return self.state.orders[num]

    def sell(self, external_id: str, quantity: int = 1) -> str:
        return self.sell_many([(external_id, quantity)])

    def sell_many(self, lines: list[tuple[str, int]]) -> str:
        """One order with several lines; refused (ValueError) when a line is sold out."""
        with self.state.lock:
            variants = [(self._variant(ext), qty) for ext, qty in lines]
            order = self.state.create_order(variants)
            self._queue_order(order)
            for variant, _ in variants:
                self._level_changed(variant.item_num, self.state.default_location)
            order_id = gid("Order", order.num)
        self.flush_webhooks()
        return order_id

    def cancel(self, order_id: str, *, restock: bool = True) -> None:
        with self.state.lock:
            order = self._order(order_id)
            self.state.cancel(order, restock=restock)
            self._levels_of(order)
        self.flush_webhooks()

    def refund(self, order_id: str, line_index: int = 0, quantity: int = 1, *,
               restock: bool = True) -> str:
        """A refund of one line; with restock its type is RETURN (stock comes back)."""
        with self.state.lock:
            order = self._order(order_id)
            line = order.lines[line_index]
            refund = self.state.refund(order, [(line, quantity)],
                                       restock_type="RETURN" if restock else "NO_RESTOCK")
            self._levels_of(order)
            refund_id = gid("Refund", refund.num)
        self.flush_webhooks()
        return refund_id

    def line_ids(self, order_id: str) -> list[str]:
        with self.state.lock:
            return [gid("LineItem", li.num) for li in self._order(order_id).lines]

    def quantity(self, external_id: str) -> int | None:
        return self.quantities(external_id).get("available")

    def quantities(self, external_id: str) -> dict[str, int]:
        with self.state.lock:
            variant = self._variant(external_id)
            return dict(variant.levels.get(self.state.default_location) or {})

    def hand_edit(self, external_id: str, quantity: int) -> None:
        with self.state.lock:
            variant = self._variant(external_id)
            level = variant.levels.get(self.state.default_location)
            if level is None:
                raise ValueError("not stocked at the location")
            self.state.adjust(variant.item_num, self.state.default_location, "available",
                              quantity - level["available"])
            self._level_changed(variant.item_num, self.state.default_location)
        self.flush_webhooks()

    def revoke_credentials(self) -> None:
        with self._lock:
            self.revoked = True

    def fail_next(self, count: int, *, status: int = 500, retry_after_s: float = 0.0) -> None:
        self.faults.fail_next(count, status=status, retry_after_s=retry_after_s)

    def drop_next(self, count: int) -> None:
        """Drop the next connections before the shop sees the request."""
        self.faults.drop_next(count)

    def drop_next_responses(self, count: int) -> None:
        """Process the next requests, then drop the connection before answering."""
        with self._lock:
            self._drop_responses += count

    def slow_next(self, count: int, delay_s: float) -> None:
        self.faults.slow_next(count, delay_s)

    def set_plan(self, *, bucket_size: float, restore_rate: float) -> None:
        self.bucket = LeakyBucket(maximum=bucket_size, restore_rate=restore_rate,
                                  clock=self.clock)

    def fail_next_bulk(self, error_code: str = "INTERNAL_SERVER_ERROR") -> None:
        """The next bulk operation ends FAILED with this errorCode (partial data kept)."""
        with self.state.lock:
            self.bulk.add_fault("failed", error_code)

    def cancel_next_bulk(self) -> None:
        """The next bulk operation is canceled half-way through its run."""
        with self.state.lock:
            self.bulk.add_fault("canceled")

    def expire_next_bulk_url(self) -> None:
        """The next bulk operation's URL expires right after it is first shown."""
        with self.state.lock:
            self.bulk.add_fault("url_expired")

    def exhaust_budget(self) -> None:
        """Empty the bucket: the next costly query is THROTTLED."""
        self.bucket.drain()

    def add_malformed_order(self) -> str:
        """An order whose total is not a decimal amount: the connector must reject it."""
        with self.state.lock:
            variant = self.state.add_variant(None, None, title="Custom item", tracked=False)
            order = self.state.create_order([(variant, 1)])
            order.total = "twelve dollars"
            return gid("Order", order.num)

    # --- webhooks -------------------------------------------------------------------
    def deliver_webhooks_to(self, url: str, secret: str | None = None, *,
                            transport: httpx.BaseTransport | None = None) -> None:
        """POST orders/create and inventory_levels/update deliveries to `url` from now on."""
        with self._lock:
            self._subscribers.append((url, secret or self.client_secret, transport))

    def _queue_order(self, order: Order) -> None:
        if self._subscribers:
            self._pending.append(webhooks.order_created(order))

    def _levels_of(self, order: Order) -> None:
        for line in order.lines:
            variant = self.state.variants.get(line.variant_num or -1)
            if variant is not None:
                self._level_changed(variant.item_num, self.state.default_location)

    def _level_changed(self, item_num: int, location_num: int) -> None:
        level = self.state.level(item_num, location_num)
        if self._subscribers and level is not None:
            self._pending.append(webhooks.level_updated(item_num, location_num,
                                                        level["available"], self.state.now()))

    def flush_webhooks(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
            subscribers = list(self._subscribers)
            ids = [f"{self.rng.getrandbits(128):032x}" for _ in pending]
        for delivery, event_id in zip(pending, ids, strict=True):
            for url, secret, transport in subscribers:
                webhooks.send(url, secret, delivery, api_version=SERVED_VERSION,
                              event_id=event_id, transport=transport)
