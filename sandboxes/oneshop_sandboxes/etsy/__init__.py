"""The Etsy sandbox: a stateful emulator of Open API v3 plus a control surface.

Python controls are the methods below; over HTTP the shared ones live under /_sandbox/
(see `oneshop.testing.sandboxkit.control_app`) and the Etsy-specific ones under /_sandbox/etsy/.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from oneshop_connectors.etsy.webhooks import sign

from oneshop.testing import sandboxkit
from oneshop.values import TokenPair
from oneshop_sandboxes.etsy.app import EtsyApi
from oneshop_sandboxes.etsy.control import etsy_control_app
from oneshop_sandboxes.etsy.gate import RateLimiter, TokenBook
from oneshop_sandboxes.etsy.state import EtsyState, Receipt

ALL_SCOPES = frozenset({"listings_r", "listings_w", "transactions_r", "shops_r"})


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _is_api(path: str) -> bool:
    return path.startswith("/v3/")


class EtsySandbox:
    """Satisfies `oneshop.protocols.Sandbox`; richer controls for variants and policies."""

    writes: int

    def __init__(self, *, seed: int = 0, latency_s: float = 0.0,
                 clock: Callable[[], datetime] | None = None,
                 restock_on_cancel: bool = False) -> None:
        self.state = EtsyState(seed=seed, clock=clock or _utc_now)
        self.state.restock_on_cancel = restock_on_cancel
        self.keystring = f"sandboxkey{seed:04d}" + "".join(
            self.state.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(14))
        self.shared_secret = "".join(
            self.state.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(10))
        self.tokens = TokenBook(self.state.user_id, self.state.rng)
        self.limiter = RateLimiter()
        self.faults = sandboxkit.Faults()
        self.faults.latency_s = latency_s
        self.writes = 0
        self._hooks: list[tuple[str, str]] = []
        api = EtsyApi(self.state, self.tokens, self.limiter, keystring=self.keystring,
                      shared_secret=self.shared_secret, on_write=self._count_write)
        control = etsy_control_app(self, fallback=sandboxkit.control_app(self))
        self.wsgi_app = sandboxkit.mount(sandboxkit.with_faults(api, self.faults,
                                                                is_api=_is_api), control)

    @property
    def requests(self) -> int:
        """API requests received (faulted ones included), control calls excluded."""
        return self.faults.requests

    @requests.setter
    def requests(self, value: int) -> None:
        self.faults.requests = value

    def _count_write(self) -> None:
        self.writes += 1

    def transport(self) -> httpx.BaseTransport:
        return sandboxkit.FaultTransport(self.wsgi_app)

    def connector_settings(self, base_url: str) -> dict[str, Any]:
        return {"shop_id": self.state.shop_id, "keystring": self.keystring,
                "shared_secret": self.shared_secret, "base_url": base_url,
                "oauth_base_url": base_url}

    def issue_tokens(self) -> TokenPair:
        with self.state.lock:
            access, refresh, ttl = self.tokens.issue(self.state.now_ts(), ALL_SCOPES)
            return TokenPair(access_token=access, refresh_token=refresh,
                             expires_at=self.state.clock() + timedelta(seconds=ttl))

    # -- catalog -----------------------------------------------------------------------
    def seed_listing(self, sku: str, quantity: int, *, title: str = "") -> str:
        with self.state.lock:
            listing = self.state.add_listing(title or f"Listing {sku}", [(sku, None, quantity)])
            return f"{listing.listing_id}:{sku}"

    def seed_variant_listing(self, title: str,
                             variants: list[tuple[str | None, str, int]]) -> list[str]:
        """A listing with one "Size" variation per (sku or None, value, quantity)."""
        with self.state.lock:
            listing = self.state.add_listing(
                title, [(sku or "", value, qty) for sku, value, qty in variants])
            return [f"{listing.listing_id}:{p.sku}" if p.sku else
                    f"{listing.listing_id}:pv=" + ",".join(map(str, p.value_ids()))
                    for p in listing.products]

    def quantity(self, external_id: str) -> int | None:
        with self.state.lock:
            listing, product = self.state.find_product(external_id)
            offering = product.offering
            if listing.state == "sold_out" or not offering.is_enabled:
                return 0
            return offering.quantity

    def listing_state(self, external_id: str) -> str:
        with self.state.lock:
            return self.state.find_product(external_id)[0].state

    def is_enabled(self, external_id: str) -> bool:
        with self.state.lock:
            return self.state.find_product(external_id)[1].offering.is_enabled

    def hand_edit(self, external_id: str, quantity: int) -> None:
        """The seller edits one offering's quantity on Etsy.com."""
        with self.state.lock:
            listing, product = self.state.find_product(external_id)
            product.offering.quantity = quantity
            if listing.quantity() == 0 and listing.state == "active":
                listing.state = "sold_out"  # as when the last unit sells on Etsy.com
            listing.updated_ts = self.state.now_ts()

    @property
    def restock_on_cancel(self) -> bool:
        """Whether a cancellation puts the units back on the listing (undocumented by
        Etsy; False, the default, is what Etsy's help says)."""
        with self.state.lock:
            return self.state.restock_on_cancel

    @restock_on_cancel.setter
    def restock_on_cancel(self, value: bool) -> None:
        with self.state.lock:
            self.state.restock_on_cancel = bool(value)

    def make_to_order(self, external_id: str) -> int:
        """The seller puts the listing on the shop's made-to-order processing profile
        (every offering of it); returns that profile's readiness_state_id."""
        with self.state.lock:
            listing, _ = self.state.find_product(external_id)
            profile = next(i for i, s in self.state.processing_profiles.items()
                           if s == "made_to_order")
            listing.readiness_state_id = profile
            for product in listing.products:
                product.offering.readiness_state_id = profile
            listing.updated_ts = self.state.now_ts()
            return profile

    def readiness(self, external_id: str) -> str | None:
        """The readiness state of this product's offering ("made_to_order", …)."""
        with self.state.lock:
            _, product = self.state.find_product(external_id)
            return self.state.processing_profiles.get(
                product.offering.readiness_state_id or 0)

    @property
    def made_to_order_sales_decrement(self) -> bool:
        """Whether a sale takes a unit off a made-to-order offering (undocumented by
        Etsy; True, the default, is the conservative reading)."""
        with self.state.lock:
            return self.state.made_to_order_sales_decrement

    @made_to_order_sales_decrement.setter
    def made_to_order_sales_decrement(self, value: bool) -> None:
        with self.state.lock:
            self.state.made_to_order_sales_decrement = bool(value)

    def renew(self, external_id: str, quantity: int = 1) -> None:
        """The seller renews a sold_out listing by hand on Etsy.com (a fee), typing
        `quantity` for this product."""
        with self.state.lock:
            listing, product = self.state.find_product(external_id)
            self.state.renew_by_hand(listing, product, quantity)

    def set_listing_state(self, external_id: str, state: str) -> None:
        """The seller (de)activates a listing by hand on Etsy.com."""
        with self.state.lock:
            listing = self.state.find_product(external_id)[0]
            listing.state = state
            listing.updated_ts = self.state.now_ts()

    def set_vacation(self, on: bool) -> None:
        """The seller switches the shop's vacation mode on Etsy.com (getShop `is_vacation`;
        Etsy keeps the listings' states and quantities as they were)."""
        with self.state.lock:
            self.state.is_vacation = bool(on)

    def set_enabled(self, external_id: str, enabled: bool) -> None:
        """The seller switches one variant off (or on) on Etsy.com, keeping its quantity."""
        with self.state.lock:
            listing, product = self.state.find_product(external_id)
            product.offering.is_enabled = enabled
            listing.updated_ts = self.state.now_ts()

    def delete_listing(self, external_id: str) -> None:
        """The seller deletes the listing on Etsy.com: reads of it answer 404 from now on."""
        with self.state.lock:
            del self.state.listings[self.state.find_product(external_id)[0].listing_id]

    @property
    def fees(self) -> list[tuple[int, str]]:
        with self.state.lock:
            return list(self.state.fees)

    # -- orders ------------------------------------------------------------------------
    def sell(self, external_id: str, quantity: int = 1) -> str:
        with self.state.lock:
            receipt = self.state.sell(external_id, quantity)
        self._deliver("order.paid", receipt)
        return str(receipt.receipt_id)

    def cancel(self, order_id: str, *, restock: bool = True) -> None:
        """Cancel a receipt. Receipts carry no restock flag, so `restock` has no effect
        Etsy could show; whether the units go back on the listing is the sandbox's
        `restock_on_cancel` setting."""
        with self.state.lock:
            self.state.cancel(int(order_id))

    def refund(self, order_id: str, amount_cents: int) -> None:
        with self.state.lock:
            self.state.refund(int(order_id), amount_cents)

    def add_malformed_order(self) -> str:
        with self.state.lock:
            return str(self.state.add_malformed_receipt().receipt_id)

    # -- credentials, limits, faults ---------------------------------------------------
    def revoke_credentials(self) -> None:
        with self.state.lock:
            self.tokens.revoke()

    def expire_access_tokens(self) -> None:
        with self.state.lock:
            self.tokens.expire_access()

    def set_rate_limits(self, *, per_second: int | None = None, per_day: int | None = None,
                        misspelt_header: bool | None = None) -> None:
        with self.state.lock:
            if per_second is not None:
                self.limiter.per_second = per_second
            if per_day is not None:
                self.limiter.per_day = per_day
            if misspelt_header is not None:
                self.limiter.misspelt_header = misspelt_header

    def fail_next(self, count: int, *, status: int = 500, retry_after_s: float = 0.0) -> None:
        self.faults.fail_next(count, status=status, retry_after_s=retry_after_s)

    # -- webhooks ----------------------------------------------------------------------
    def deliver_webhooks_to(self, url: str, *, secret: str | None = None) -> str:
        """POST signed order.paid deliveries to `url`; returns the whsec_ signing secret."""
        secret = secret or "whsec_" + base64.b64encode(
            self.state.rng.randbytes(24)).decode()
        with self.state.lock:
            self._hooks.append((url, secret))
        return secret

    def _deliver(self, event_type: str, receipt: Receipt) -> None:
        with self.state.lock:
            hooks = list(self._hooks)
            shop_id, now = self.state.shop_id, self.state.now_ts()
            message_id = f"msg_{self.state.next_id()}"
        body = json.dumps({
            "event_type": event_type, "shop_id": shop_id,
            "resource_url": "https://openapi.etsy.com/v3/application/shops/"
                            f"{shop_id}/receipts/{receipt.receipt_id}"}).encode()
        for url, secret in hooks:
            headers = {"content-type": "application/json", "webhook-id": message_id,
                       "webhook-timestamp": str(now),
                       "webhook-signature": sign(secret, message_id, now, body)}
            # Etsy retries on its own schedule; the poll is the source of truth anyway.
            with contextlib.suppress(httpx.HTTPError):
                httpx.post(url, content=body, headers=headers, timeout=5.0)


def external_ids(sandbox: EtsySandbox) -> list[str]:
    """Every binding key the sandbox holds (for the demo and benchmarks)."""
    with sandbox.state.lock:
        return [f"{listing.listing_id}:{p.sku}" if p.sku else
                f"{listing.listing_id}:pv=" + ",".join(map(str, p.value_ids()))
                for listing in sandbox.state.listings.values() for p in listing.products]
