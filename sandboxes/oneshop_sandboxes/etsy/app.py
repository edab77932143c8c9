"""The sandbox's WSGI app: Etsy's v3 URLs, auth, limits and error shapes over `EtsyState`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from oneshop_sandboxes.etsy.gate import GateRefused, RateLimiter, TokenBook, check_api_key
from oneshop_sandboxes.etsy.render import inventory_json, listing_json, receipt_json
from oneshop_sandboxes.etsy.state import (
    EtsyState,
    InventoryRefused,
    ListingRecord,
    Receipt,
)

V3 = "/v3/application"
# endpoint name -> (OAuth scope it needs, whether it mutates)
SCOPES: dict[str, tuple[str, bool]] = {
    "shop": ("", False),  # getShop: the API key alone (no OAuth scope in the spec)
    "listings_by_shop": ("listings_r", False),
    "listings_batch": ("listings_r", False),
    "listing": ("listings_r", False),
    "inventory_get": ("listings_r", False),
    "inventory_put": ("listings_w", True),
    "listing_patch": ("listings_w", True),
    "receipts": ("transactions_r", False),
    "receipt": ("transactions_r", False),
}
URLS = Map([
    Rule("/oauth/connect", endpoint="connect", methods=["GET"]),
    Rule("/v3/public/oauth/token", endpoint="token", methods=["POST"]),
    Rule(f"{V3}/shops/<int:shop_id>", endpoint="shop", methods=["GET"]),
    Rule(f"{V3}/shops/<int:shop_id>/listings", endpoint="listings_by_shop", methods=["GET"]),
    Rule(f"{V3}/listings/batch", endpoint="listings_batch", methods=["GET"]),
    Rule(f"{V3}/listings/<int:listing_id>", endpoint="listing", methods=["GET"]),
    Rule(f"{V3}/listings/<int:listing_id>/inventory", endpoint="inventory_get", methods=["GET"]),
    Rule(f"{V3}/listings/<int:listing_id>/inventory", endpoint="inventory_put", methods=["PUT"]),
    Rule(f"{V3}/shops/<int:shop_id>/listings/<int:listing_id>", endpoint="listing_patch",
         methods=["PATCH"]),
    Rule(f"{V3}/shops/<int:shop_id>/receipts", endpoint="receipts", methods=["GET"]),
    Rule(f"{V3}/shops/<int:shop_id>/receipts/<int:receipt_id>", endpoint="receipt",
         methods=["GET"]),
])
Result = tuple[int, Any]


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {},
                    mimetype="application/json")


def _int_arg(req: Request, name: str, default: int | None, lo: int, hi: int) -> int | None:
    raw = req.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise GateRefused(400, f"Expected int {name}") from None
    if not lo <= value <= hi:
        raise GateRefused(400, f"Expected {name} to be between {lo} and {hi}")
    return value


def _list_arg(req: Request, name: str) -> list[str]:
    return [part for raw in req.args.getlist(name) for part in raw.split(",") if part]


class EtsyApi:
    """One WSGI callable; `on_write` counts mutating API requests for the sandbox."""

    def __init__(self, state: EtsyState, tokens: TokenBook, limiter: RateLimiter, *,
                 keystring: str, shared_secret: str, on_write: Callable[[], None]) -> None:
        self.state, self.tokens, self.limiter = state, tokens, limiter
        self.keystring, self.shared_secret = keystring, shared_secret
        self.on_write = on_write

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        req = Request(environ)
        try:
            endpoint, args = URLS.bind_to_environ(environ).match()
            response = self.dispatch(req, str(endpoint), dict(args))
        except GateRefused as exc:
            body = {"error": exc.error}
            if exc.description:
                body["error_description"] = exc.description
            headers = {"retry-after": str(exc.retry_after_s)} if exc.retry_after_s else {}
            response = _json(exc.status, body, headers)
        except HTTPException as exc:
            response = _json(exc.code or 500, {"error": exc.description or exc.name})
        result: Iterable[bytes] = response(environ, start_response)
        return result

    def dispatch(self, req: Request, endpoint: str, args: dict[str, Any]) -> Response:
        with self.state.lock:
            if endpoint == "connect":
                return self.connect(req)
            if endpoint == "token":
                return _json(200, self.token(req))
            check_api_key(req.headers.get("x-api-key"), self.keystring, self.shared_secret)
            rate_headers = self.limiter.admit(self.state.clock().timestamp())
            scope, mutates = SCOPES[endpoint]
            if scope:
                self.tokens.check(req.headers.get("authorization"), self.state.now_ts(),
                                  scope)
            if "shop_id" in args and args.pop("shop_id") != self.state.shop_id:
                if endpoint == "shop":
                    raise GateRefused(404, "Could not find a Shop with that shop_id")
                raise GateRefused(403, "You do not have permission to access this shop")
            if mutates:
                self.on_write()
            status, body = getattr(self, endpoint)(req, **args)
            return _json(status, body, rate_headers)

    def connect(self, req: Request) -> Response:
        """The authorize page, approved at once: redirect with code and state."""
        a = req.args
        if a.get("response_type") != "code" or a.get("client_id") != self.keystring:
            raise GateRefused(400, "invalid_request", "response_type or client_id is wrong")
        if a.get("code_challenge_method") != "S256" or not a.get("code_challenge"):
            raise GateRefused(400, "invalid_request", "PKCE with S256 is required")
        if not a.get("redirect_uri") or not a.get("state"):
            raise GateRefused(400, "invalid_request", "redirect_uri and state are required")
        scopes = frozenset(a.get("scope", "").split())
        code = self.tokens.authorize(self.state.now_ts(), a["code_challenge"],
                                     a["redirect_uri"], scopes)
        target = f"{a['redirect_uri']}?{urlencode({'code': code, 'state': a['state']})}"
        return Response("", status=302, headers={"Location": target})

    def token(self, req: Request) -> dict[str, Any]:
        form, now = req.form, self.state.now_ts()
        if form.get("client_id") != self.keystring:
            raise GateRefused(400, "invalid_client", "client_id is not a known keystring")
        if form.get("grant_type") == "authorization_code":
            access, refresh, ttl = self.tokens.exchange(
                now, form.get("code", ""), form.get("code_verifier", ""),
                form.get("redirect_uri", ""))
        elif form.get("grant_type") == "refresh_token":
            access, refresh, ttl = self.tokens.rotate(now, form.get("refresh_token", ""))
        else:
            raise GateRefused(400, "unsupported_grant_type")
        return {"access_token": access, "token_type": "Bearer", "expires_in": ttl,
                "refresh_token": refresh}

    def _listing(self, listing_id: int) -> ListingRecord:
        listing = self.state.listings.get(listing_id)
        if listing is None:
            raise GateRefused(404, f"Could not find a Listing with listing_id = {listing_id}")
        return listing

    def shop(self, req: Request) -> Result:
        s = self.state
        return 200, {"shop_id": s.shop_id, "user_id": s.user_id,
                     "shop_name": f"SandboxShop{s.shop_id}", "currency_code": "EUR",
                     "is_vacation": s.is_vacation,
                     "vacation_message": "Back soon" if s.is_vacation else None,
                     "listing_active_count": sum(li.state == "active"
                                                 for li in s.listings.values())}

    def listings_by_shop(self, req: Request) -> Result:
        wanted = req.args.get("state", "active")
        limit = _int_arg(req, "limit", 25, 1, 100) or 25
        offset = _int_arg(req, "offset", 0, 0, 10**9) or 0
        inventory = "Inventory" in _list_arg(req, "includes")
        found = [li for li in self.state.listings.values() if li.state == wanted]
        page = found[offset:offset + limit]
        return 200, {"count": len(found), "results": [
            listing_json(self.state, li, with_inventory=inventory) for li in page]}

    def listings_batch(self, req: Request) -> Result:
        try:
            ids = [int(v) for v in _list_arg(req, "listing_ids")]
        except ValueError:
            raise GateRefused(400, "Expected listing_ids to be integers") from None
        if not 1 <= len(ids) <= 100:
            raise GateRefused(400, "listing_ids must hold between 1 and 100 ids")
        inventory = "Inventory" in _list_arg(req, "includes")
        found = [self.state.listings[i] for i in ids if i in self.state.listings]
        # Neither shop-scoped nor a single listing: no listing-level readiness_state_id.
        return 200, {"count": len(found), "results": [
            listing_json(self.state, li, with_inventory=inventory, scoped=False)
            for li in found]}

    def listing(self, req: Request, listing_id: int) -> Result:
        inventory = "Inventory" in _list_arg(req, "includes")
        return 200, listing_json(self.state, self._listing(listing_id), with_inventory=inventory)

    def inventory_get(self, req: Request, listing_id: int) -> Result:
        listing = self._listing(listing_id)
        body = inventory_json(listing)
        if req.args.get("includes") == "Listing":
            body["listing"] = listing_json(self.state, listing)
        return 200, body

    def inventory_put(self, req: Request, listing_id: int) -> Result:
        listing = self._listing(listing_id)
        try:
            self.state.replace_inventory(listing, req.get_json(silent=True))
        except InventoryRefused as exc:
            raise GateRefused(400, str(exc)) from None
        return 200, inventory_json(listing)

    def listing_patch(self, req: Request, listing_id: int) -> Result:
        listing = self._listing(listing_id)
        if "state" in req.form:
            try:
                self.state.set_state(listing, req.form["state"])
            except InventoryRefused as exc:
                raise GateRefused(400, str(exc)) from None
        if "title" in req.form:
            listing.title = req.form["title"]
        return 200, listing_json(self.state, listing)

    def receipts(self, req: Request) -> Result:
        limit = _int_arg(req, "limit", 25, 1, 100) or 25
        offset = _int_arg(req, "offset", 0, 0, 10**9) or 0
        found = [r for r in self.state.receipts.values() if _receipt_matches(req, r)]
        key = {"created": lambda r: (r.created_ts, r.receipt_id),
               "updated": lambda r: (r.updated_ts, r.receipt_id),
               "receipt_id": lambda r: (r.receipt_id, 0)}[req.args.get("sort_on", "created")]
        found.sort(key=key, reverse=req.args.get("sort_order", "desc") in ("desc",
                                                                           "descending", "down"))
        page = found[offset:offset + limit]
        return 200, {"count": len(found),
                     "results": [receipt_json(self.state, r) for r in page]}

    def receipt(self, req: Request, receipt_id: int) -> Result:
        receipt = self.state.receipts.get(receipt_id)
        if receipt is None:
            raise GateRefused(404, f"Could not find a Receipt with receipt_id = {receipt_id}")
        return 200, receipt_json(self.state, receipt)


def _receipt_matches(req: Request, receipt: Receipt) -> bool:
    bounds = {"min_created": (receipt.created_ts, 1), "max_created": (receipt.created_ts, -1),
              "min_last_modified": (receipt.updated_ts, 1),
              "max_last_modified": (receipt.updated_ts, -1)}
    for name, (ts, sign) in bounds.items():
        value = _int_arg(req, name, None, 946_684_800, 10**11)
        if value is not None and (ts - value) * sign < 0:
            return False
    canceled = req.args.get("was_canceled")
    return canceled is None or (canceled == "true") == receipt.was_canceled
