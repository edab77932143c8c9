"""Etsy-specific controls over HTTP, under /_sandbox/etsy/ (the shared ones are in sandboxkit).

POST /_sandbox/etsy/variant_listing {title, variants: [[sku|null, value, quantity], …]}
     -> {external_ids}
POST /_sandbox/etsy/listing_state {external_id, state}   (the seller (de)activates by hand)
POST /_sandbox/etsy/refund {order_id, amount_cents}
POST /_sandbox/etsy/renew {external_id, quantity?}       (the seller renews a sold_out listing)
POST /_sandbox/etsy/settings {restock_on_cancel?}        (undocumented behaviours, see docs)
POST /_sandbox/etsy/expire_tokens
POST /_sandbox/etsy/rate_limits {per_second?, per_day?, misspelt_header?}
POST /_sandbox/etsy/webhooks {url, secret?} -> {secret}
GET  /_sandbox/etsy/listing?external_id=… -> {quantity, state, is_enabled}
GET  /_sandbox/etsy/fees -> {fees: [[listing_id, why], …]}
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from oneshop_sandboxes.etsy import EtsySandbox

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
PREFIX = "/_sandbox/etsy/"


def _handle(sandbox: EtsySandbox, action: str, req: Request) -> Any:
    body = req.get_json(silent=True) or {}
    if action == "variant_listing":
        variants = [(v[0], str(v[1]), int(v[2])) for v in body["variants"]]
        return {"external_ids": sandbox.seed_variant_listing(body["title"], variants)}
    if action == "listing_state":
        sandbox.set_listing_state(body["external_id"], body["state"])
        return {}
    if action == "renew":
        sandbox.renew(body["external_id"], int(body.get("quantity", 1)))
        return {}
    if action == "settings":
        if "restock_on_cancel" in body:
            sandbox.restock_on_cancel = bool(body["restock_on_cancel"])
        return {"restock_on_cancel": sandbox.restock_on_cancel}
    if action == "refund":
        sandbox.refund(body["order_id"], int(body["amount_cents"]))
        return {}
    if action == "expire_tokens":
        sandbox.expire_access_tokens()
        return {}
    if action == "rate_limits":
        sandbox.set_rate_limits(per_second=body.get("per_second"), per_day=body.get("per_day"),
                                misspelt_header=body.get("misspelt_header"))
        return {}
    if action == "webhooks":
        return {"secret": sandbox.deliver_webhooks_to(body["url"], secret=body.get("secret"))}
    if action == "listing":
        external_id = req.args["external_id"]
        return {"quantity": sandbox.quantity(external_id),
                "state": sandbox.listing_state(external_id),
                "is_enabled": sandbox.is_enabled(external_id)}
    if action == "fees":
        return {"fees": sandbox.fees}
    raise LookupError(action)


def etsy_control_app(sandbox: EtsySandbox, *, fallback: WSGIApp) -> WSGIApp:
    """Serve /_sandbox/etsy/*; hand every other control path to `fallback`."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX):
            return fallback(environ, start_response)
        req = Request(environ)
        try:
            payload, status = _handle(sandbox, path.removeprefix(PREFIX), req), 200
        except (LookupError, ValueError) as exc:
            payload, status = {"error": f"{type(exc).__name__}: {exc}"}, 404
        response = Response(json.dumps(payload), status=status, mimetype="application/json")
        result: Iterable[bytes] = response(environ, start_response)
        return result

    return app
