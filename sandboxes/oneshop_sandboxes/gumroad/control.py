"""The sandbox's Gumroad-specific controls (/_sandbox/gumroad/...) and webhook deliveries.

Deliveries are Ping-format form posts, unsigned, sent from a background thread with a
5 s timeout like Gumroad's worker; failures are swallowed (Gumroad retries a little,
then gives up).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from oneshop.testing import sandboxkit
from oneshop_sandboxes.gumroad.payloads import ping_form
from oneshop_sandboxes.gumroad.state import Sale

if TYPE_CHECKING:
    from oneshop_sandboxes.gumroad import GumroadSandbox

DELIVERY_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    resources: tuple[str, ...]
    transport: httpx.BaseTransport | None


class Deliveries:
    """Queues Ping bodies on events and posts them from one worker thread."""

    def __init__(self, sandbox: GumroadSandbox) -> None:
        self._sandbox = sandbox
        self._targets: list[Target] = []
        self._queue: queue.Queue[tuple[Target, list[tuple[str, str]]]] = queue.Queue()
        self._worker: threading.Thread | None = None
        self.sent: list[tuple[str, list[tuple[str, str]]]] = []
        # How posts to API resource subscriptions travel (None: the real network).
        self.subscription_transport: httpx.BaseTransport | None = None
        self.failed = 0

    def add_target(self, url: str, resources: tuple[str, ...],
                   transport: httpx.BaseTransport | None) -> None:
        self._targets.append(Target(url, resources, transport))

    def emit(self, resource: str, sale: Sale) -> None:
        """Queue this event for every target and API subscription that asked for it."""
        with self._sandbox.lock:
            world = self._sandbox.world
            targets = [t for t in self._targets if resource in t.resources]
            targets += [Target(s.post_url, (resource,), self.subscription_transport)
                        for s in world.subscriptions.values() if s.resource_name == resource]
            if not targets:
                return
            body = ping_form(sale, world.products.get(sale.product_id))
        for target in targets:
            self._queue.put((target, body))
        self._start()

    def flush(self, timeout_s: float = 10.0) -> None:
        """Wait until every queued delivery was attempted (tests and the demo)."""
        done = threading.Event()

        def wait() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        done.wait(timeout_s)

    def _start(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._run, name="gumroad-pings", daemon=True)
            self._worker.start()

    def _run(self) -> None:
        while True:
            target, body = self._queue.get()
            try:
                with httpx.Client(transport=target.transport,
                                  timeout=DELIVERY_TIMEOUT_S) as client:
                    client.post(target.url, data=dict(body))
                self.sent.append((target.url, body))
            except httpx.HTTPError:
                self.failed += 1
            finally:
                self._queue.task_done()


def _cap(body: dict[str, Any]) -> int | None:
    cap = body.get("max_purchase_count")
    return None if cap is None else int(cap)


def _done(action: Callable[[], object]) -> dict[str, Any]:
    action()
    return {}


def _controls(sandbox: GumroadSandbox) -> dict[str, sandboxkit.Control]:
    body = sandboxkit.body
    return {
        "products": lambda r: {"product_id": sandbox.add_product(
            body(r)["name"], permalink=body(r).get("permalink"),
            max_purchase_count=_cap(body(r)))},
        "variants": lambda r: {"external_id": sandbox.add_variant(
            body(r)["product_id"], body(r)["category"], body(r)["name"],
            max_purchase_count=_cap(body(r)))},
        "sell_options": lambda r: {"order_id": sandbox.sell_options(
            body(r)["product_id"], dict(body(r).get("variants", {})),
            int(body(r).get("quantity", 1)))},
        "refund": lambda r: _done(lambda: sandbox.refund(
            body(r)["sale_id"], None if body(r).get("amount_cents") is None
            else int(body(r)["amount_cents"]))),
        "chargeback": lambda r: _done(lambda: sandbox.chargeback(body(r)["sale_id"])),
        "webhooks": lambda r: _done(lambda: sandbox.deliver_webhooks_to(
            body(r)["url"], resources=body(r).get("resources", ["sale", "refund"]))),
        "sold": lambda r: {"sold": sandbox.sold(r.args["external_id"])},
    }


def gumroad_control(sandbox: GumroadSandbox) -> sandboxkit.WSGIApp:
    """/_sandbox/gumroad/* for the richer controls, the shared surface for the rest.

    POST /_sandbox/gumroad/products {name, permalink?, max_purchase_count?} -> {product_id}
    POST /_sandbox/gumroad/variants {product_id, category, name, max_purchase_count?}
         -> {external_id}
    POST /_sandbox/gumroad/sell_options {product_id, variants: {Category: Option}, quantity?}
    POST /_sandbox/gumroad/refund {sale_id, amount_cents?}
    POST /_sandbox/gumroad/chargeback {sale_id}
    POST /_sandbox/gumroad/webhooks {url, resources?}
    GET  /_sandbox/gumroad/sold?external_id=… -> {sold}
    """
    return sandboxkit.json_controls("/_sandbox/gumroad/", _controls(sandbox),
                                    fallback=sandboxkit.control_app(sandbox))
