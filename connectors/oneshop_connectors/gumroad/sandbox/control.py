"""The sandbox's Gumroad-specific controls (/_sandbox/gumroad/...) and webhook deliveries.

Deliveries are Ping-format form posts, unsigned, sent from a background thread with a
5 s timeout like Gumroad's worker; failures are swallowed (Gumroad retries a little,
then gives up).
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from werkzeug.wrappers import Request, Response

from oneshop.testing import sandboxkit
from oneshop_connectors.gumroad.sandbox.payloads import ping_form
from oneshop_connectors.gumroad.sandbox.state import Sale

if TYPE_CHECKING:
    from oneshop_connectors.gumroad.sandbox import GumroadSandbox

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
    shared = sandboxkit.control_app(sandbox)

    def handle(req: Request) -> dict[str, Any]:
        body = req.get_json(silent=True) or {}
        action = req.path.removeprefix("/_sandbox/gumroad/")
        if action == "products":
            cap = body.get("max_purchase_count")
            return {"product_id": sandbox.add_product(
                body["name"], permalink=body.get("permalink"),
                max_purchase_count=None if cap is None else int(cap))}
        if action == "variants":
            cap = body.get("max_purchase_count")
            return {"external_id": sandbox.add_variant(
                body["product_id"], body["category"], body["name"],
                max_purchase_count=None if cap is None else int(cap))}
        if action == "sell_options":
            return {"order_id": sandbox.sell_options(
                body["product_id"], dict(body.get("variants", {})),
                int(body.get("quantity", 1)))}
        if action == "refund":
            cents = body.get("amount_cents")
            sandbox.refund(body["sale_id"], None if cents is None else int(cents))
            return {}
        if action == "chargeback":
            sandbox.chargeback(body["sale_id"])
            return {}
        if action == "webhooks":
            sandbox.deliver_webhooks_to(body["url"],
                                        resources=body.get("resources", ["sale", "refund"]))
            return {}
        if action == "sold":
            return {"sold": sandbox.sold(req.args["external_id"])}
        raise LookupError(action)

    def app(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("PATH_INFO", "").startswith("/_sandbox/gumroad/"):
            return shared(environ, start)
        req = Request(environ)
        try:
            payload, status = handle(req), 200
        except (LookupError, TypeError) as exc:
            payload, status = {"error": f"not found: {exc}"}, 404
        except ValueError as exc:
            payload, status = {"error": str(exc)}, 409
        resp = Response(json.dumps(payload), status=status, mimetype="application/json")
        result: Iterable[bytes] = resp(environ, start)
        return result

    return app
