"""`/_sandbox/shopify/*`: the Shopify-specific controls over HTTP (demo and e2e tests).

POST /_sandbox/shopify/variants {sku, quantity?, title?, tracked?, price?} -> {external_id}
POST /_sandbox/shopify/orders {lines: [[external_id, quantity], ...]} -> {order_id}
POST /_sandbox/shopify/refunds {order_id, line_index?, quantity?, restock?} -> {refund_id}
POST /_sandbox/shopify/plan {bucket_size, restore_rate, throttle_http_status?}
POST /_sandbox/shopify/exhaust_budget
POST /_sandbox/shopify/faults {kind: drop|drop_response|slow, count, delay_s?}
POST /_sandbox/shopify/bulk_faults {kind: failed|canceled|url_expired, error_code?}
POST /_sandbox/shopify/webhooks {url, secret?}
GET  /_sandbox/shopify/credentials -> {access_token, client_id, client_secret}
Everything else under /_sandbox/ is the shared control surface (sandboxkit.control_app).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from oneshop_sandboxes.shopify.control import ShopifySandbox

PREFIX = "/_sandbox/shopify/"


def handle(sandbox: ShopifySandbox, action: str, body: dict[str, Any]) -> dict[str, Any]:
    if action == "variants":
        qty = body.get("quantity")
        return {"external_id": sandbox.add_variant(
            body.get("sku"), None if qty is None else int(qty), title=body.get("title", ""),
            tracked=bool(body.get("tracked", True)), price=str(body.get("price", "10.00")))}
    if action == "orders":
        return {"order_id": sandbox.sell_many([(str(e), int(q)) for e, q in body["lines"]])}
    if action == "refunds":
        return {"refund_id": sandbox.refund(body["order_id"], int(body.get("line_index", 0)),
                                            int(body.get("quantity", 1)),
                                            restock=bool(body.get("restock", True)))}
    if action == "plan":
        sandbox.set_plan(bucket_size=float(body["bucket_size"]),
                         restore_rate=float(body["restore_rate"]))
        sandbox.throttle_http_status = int(body.get("throttle_http_status", 200))
        return {}
    if action == "exhaust_budget":
        sandbox.exhaust_budget()
        return {}
    if action == "faults":
        count, kind = int(body["count"]), body["kind"]
        {"drop": lambda: sandbox.drop_next(count),
         "drop_response": lambda: sandbox.drop_next_responses(count),
         "slow": lambda: sandbox.slow_next(count, float(body.get("delay_s", 1.0)))}[kind]()
        return {}
    if action == "bulk_faults":
        {"failed": lambda: sandbox.fail_next_bulk(
            str(body.get("error_code", "INTERNAL_SERVER_ERROR"))),
         "canceled": sandbox.cancel_next_bulk,
         "url_expired": sandbox.expire_next_bulk_url}[body["kind"]]()
        return {}
    if action == "webhooks":
        sandbox.deliver_webhooks_to(body["url"], body.get("secret"))
        return {}
    if action == "credentials":
        return {"access_token": sandbox.static_token, "client_id": sandbox.client_id,
                "client_secret": sandbox.client_secret}
    raise LookupError(action)


def control_http(sandbox: ShopifySandbox, fallback: Callable[..., Iterable[bytes]],
                 ) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("PATH_INFO", "").startswith(PREFIX):
            return fallback(environ, start_response)
        request = Request(environ)
        body = request.get_json(silent=True) or {}
        try:
            payload, status = handle(sandbox, request.path.removeprefix(PREFIX), body), 200
        except (LookupError, KeyError) as exc:
            payload, status = {"error": f"not found: {exc}"}, 404
        except ValueError as exc:
            payload, status = {"error": str(exc)}, 409
        response = Response(json.dumps(payload), status=status, mimetype="application/json")
        result: Iterable[bytes] = response(environ, start_response)
        return result
    return app
