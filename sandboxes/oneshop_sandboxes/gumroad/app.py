"""The sandbox's HTTP face: Gumroad API v2 routes, auth, paging and error shapes.

Answers follow Gumroad's base controller: `{"success": true, ...}`, and refusals as
`{"success": false, "message": ...}` — usually with HTTP 200, as Gumroad does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from oneshop_connectors.gumroad import endpoints
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from oneshop_sandboxes.gumroad.payloads import sale_json
from oneshop_sandboxes.gumroad.state import Product, Sale, Subscription, clamp_cap

if TYPE_CHECKING:
    from oneshop_sandboxes.gumroad import GumroadSandbox

Answer = tuple[dict[str, Any], int]
PRODUCTS_PER_PAGE = 10
RESOURCE_NAMES = (
    "sale", "refund", "dispute", "dispute_won", "cancellation",
    "subscription_updated", "subscription_ended", "subscription_restarted",
)

URLS = Map([
    Rule("/v2/products", endpoint="products", methods=["GET"]),
    Rule("/v2/products/<pid>", endpoint="product", methods=["GET", "PUT"]),
    Rule("/v2/products/<pid>/variant_categories", endpoint="categories", methods=["GET"]),
    Rule("/v2/products/<pid>/variant_categories/<vc>", endpoint="category", methods=["GET"]),
    Rule("/v2/products/<pid>/variant_categories/<vc>/variants", endpoint="variants",
         methods=["GET"]),
    Rule("/v2/products/<pid>/variant_categories/<vc>/variants/<vid>", endpoint="variant",
         methods=["GET", "PUT"]),
    Rule("/v2/sales", endpoint="sales", methods=["GET"]),
    Rule("/v2/sales/<sid>", endpoint="sale", methods=["GET"]),
    Rule("/v2/sales/<sid>/refund", endpoint="refund", methods=["PUT"]),
    Rule("/v2/resource_subscriptions", endpoint="subscriptions", methods=["GET", "PUT"]),
    Rule("/v2/resource_subscriptions/<rid>", endpoint="unsubscribe", methods=["DELETE"]),
])


def refuse(message: str, status: int = 200) -> Answer:
    return {"success": False, "message": message}, status


def params(req: Request) -> dict[str, str]:
    """Query, form and JSON parameters merged, as Rails' `params` does."""
    merged: dict[str, str] = dict(req.args.items())
    merged.update(req.form.items())
    body = req.get_json(silent=True)
    if isinstance(body, dict):
        merged.update({k: "" if v is None else str(v) for k, v in body.items()})
    return merged


def token_of(req: Request, given: dict[str, str]) -> str | None:
    header = req.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip()
    return given.get("access_token")


class GumroadApi:
    """The API routes over a sandbox's world; every handler runs under the sandbox lock."""

    def __init__(self, sandbox: GumroadSandbox) -> None:
        self.sandbox = sandbox

    def __call__(self, environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        req = Request(environ)
        try:
            payload, status = self.dispatch(req)
        except NotFound:
            payload, status = refuse("Not found", 404)
        except HTTPException as exc:
            payload, status = refuse(exc.description or "bad request", exc.code or 400)
        resp = Response(json.dumps(payload), status=status, mimetype="application/json")
        result: Iterable[bytes] = resp(environ, start)
        return result

    def dispatch(self, req: Request) -> Answer:
        endpoint, values = URLS.bind_to_environ(req.environ).match()
        given = params(req)
        sb = self.sandbox
        with sb.lock:
            if sb.world.revoked or token_of(req, given) != sb.world.token:
                return refuse(endpoints.INVALID_TOKEN, 401)
            handler: Callable[..., Answer] = getattr(self, f"on_{endpoint}")
            return handler(req.method, given, **values)

    def _product(self, pid: str) -> Product | None:
        product = self.sandbox.world.products.get(pid)
        return None if product is None or product.deleted else product

    def on_products(self, method: str, given: dict[str, str]) -> Answer:
        alive = [p for p in self.sandbox.world.products.values() if not p.deleted]
        start = int(given["page_key"]) if given.get("page_key", "").isdigit() else 0
        page = alive[start:start + PRODUCTS_PER_PAGE]
        answer: dict[str, Any] = {"success": True, "products": [
            p.as_json(sales_count=self.sandbox.world.successful_sales(p.id)) for p in page]}
        if start + PRODUCTS_PER_PAGE < len(alive):
            key = str(start + PRODUCTS_PER_PAGE)
            answer |= {"next_page_key": key, "next_page_url": f"/v2/products?page_key={key}"}
        return answer, 200

    def on_product(self, method: str, given: dict[str, str], pid: str) -> Answer:
        product = self._product(pid)
        if product is None:
            return refuse("The product was not found.", 404)
        if method == "PUT" and "max_purchase_count" in given:
            cap = parse_cap(given["max_purchase_count"])
            if cap is not None and cap < product.sold:
                return refuse(endpoints.PRODUCT_CAP_TOO_LOW)
            product.max_purchase_count = cap
        if method == "PUT" and "name" in given:
            product.name = given["name"]
        sales_count = self.sandbox.world.successful_sales(product.id)
        return {"success": True, "product": product.as_json(sales_count=sales_count)}, 200

    def on_categories(self, method: str, given: dict[str, str], pid: str) -> Answer:
        product = self._product(pid)
        if product is None:
            return refuse("The product was not found.", 404)
        found = [c.as_json() for c in product.categories.values()]
        return {"success": True, "variant_categories": found}, 200

    def on_category(self, method: str, given: dict[str, str], pid: str, vc: str) -> Answer:
        product = self._product(pid)
        if product is None or vc not in product.categories:
            return refuse("The variant_category was not found.", 404)
        return {"success": True, "variant_category": product.categories[vc].as_json()}, 200

    def on_variants(self, method: str, given: dict[str, str], pid: str, vc: str) -> Answer:
        product = self._product(pid)
        if product is None or vc not in product.categories:
            return refuse("The variant_category was not found.", 404)
        found = [v.as_json() for v in product.categories[vc].variants.values()]
        return {"success": True, "variants": found}, 200

    def on_variant(self, method: str, given: dict[str, str], pid: str, vc: str,
                   vid: str) -> Answer:
        product = self._product(pid)
        category = product.categories.get(vc) if product else None
        variant = category.variants.get(vid) if category else None
        if variant is None:
            return refuse("The variant was not found.", 404)
        if method == "PUT" and "max_purchase_count" in given:
            cap = parse_cap(given["max_purchase_count"])
            if cap is not None and cap < variant.sold:
                return refuse(endpoints.VARIANT_CAP_TOO_LOW.format(sold=variant.sold))
            variant.max_purchase_count = cap
        if method == "PUT" and "name" in given:
            variant.name = given["name"]
        return {"success": True, "variant": variant.as_json()}, 200

    def on_sales(self, method: str, given: dict[str, str]) -> Answer:
        try:
            after = day_of(given.get("after"))
            before = day_of(given.get("before"))
        except ValueError:
            return refuse("Invalid date format provided in field 'after' or 'before'. "
                          "Dates must be in the format YYYY-MM-DD.", 400)
        chosen = self.sandbox.world.sales.values()
        rows = sorted(
            (s for s in chosen if keep_sale(s, after, before, given.get("product_id"))),
            key=lambda s: (s.created_at, s.seq), reverse=True,
        )
        return sales_page(rows, given.get("page_key"), self.sandbox.world.products), 200

    def on_sale(self, method: str, given: dict[str, str], sid: str) -> Answer:
        sale = self.sandbox.world.sales.get(sid)
        if sale is None:
            return refuse("The sale was not found.", 404)
        product = self.sandbox.world.products.get(sale.product_id)
        return {"success": True, "sale": sale_json(sale, product)}, 200

    def on_refund(self, method: str, given: dict[str, str], sid: str) -> Answer:
        amount = given.get("amount_cents")
        try:
            self.sandbox.refund_locked(sid, int(amount) if amount else None)
        except (KeyError, ValueError) as exc:
            return refuse(str(exc.args[0]) if exc.args else "The sale was not found.")
        return self.on_sale("GET", given, sid)

    def on_subscriptions(self, method: str, given: dict[str, str]) -> Answer:
        name = given.get("resource_name", "")
        if name not in RESOURCE_NAMES:
            return refuse("Valid resource_name must be provided.")
        world = self.sandbox.world
        if method == "PUT":
            url = given.get("post_url", "")
            if not public_http_url(url):
                return refuse("Invalid post_url provided.")
            sub = Subscription(self.sandbox.ids.external(), name, url)
            world.subscriptions[sub.id] = sub
            return {"success": True, "resource_subscription": subscription_json(sub)}, 200
        found = [subscription_json(s) for s in world.subscriptions.values()
                 if s.resource_name == name]
        return {"success": True, "resource_subscriptions": found}, 200

    def on_unsubscribe(self, method: str, given: dict[str, str], rid: str) -> Answer:
        if self.sandbox.world.subscriptions.pop(rid, None) is None:
            return refuse("The resource_subscription was not found.", 404)
        message = "The resource_subscription was deleted successfully."
        return {"success": True, "message": message}, 200


def subscription_json(sub: Subscription) -> dict[str, Any]:
    return {"id": sub.id, "resource_name": sub.resource_name, "post_url": sub.post_url}


def public_http_url(url: str) -> bool:
    """resource_subscription.rb: http(s), and not localhost / 127.0.0.1 / 0.0.0.0."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme in ("http", "https") and host not in ("", "localhost", "127.0.0.1",
                                                             "0.0.0.0")


def parse_cap(value: str) -> int | None:
    """An empty or "null" cap means unlimited; numbers are clamped like Gumroad does."""
    if value.strip().lower() in ("", "null"):
        return None
    return clamp_cap(int(float(value)))


def day_of(value: str | None) -> date | None:
    """Whole dates only, as /v2/sales accepts them."""
    if not value:
        return None
    return date.fromisoformat(value) if len(value) == 10 else _reject_date()


def _reject_date() -> date:
    raise ValueError("not a date")


def keep_sale(sale: Sale, after: date | None, before: date | None, pid: str | None) -> bool:
    day = sale.created_at.date()
    if after is not None and day < after:
        return False
    if before is not None and day >= before:
        return False
    return pid is None or sale.product_id == pid


def page_key_of(sale: Sale) -> str:
    """Like Gumroad's key: created_at to the microsecond, then the sale's sequence number."""
    return f"{sale.created_at.strftime('%Y%m%d%H%M%S%f')}-{sale.seq}"


def sales_page(rows: list[Sale], page_key: str | None, products: dict[str, Product]
               ) -> dict[str, Any]:
    """Ten sales strictly after `page_key` in newest-first order."""
    if page_key:
        stamp, _, seq = page_key.partition("-")
        try:
            mark = (datetime.strptime(stamp, "%Y%m%d%H%M%S%f"), int(seq))
        except ValueError:
            return {"success": False, "message": "Invalid page_key."}
        rows = [s for s in rows if (s.created_at.replace(tzinfo=None), s.seq) < mark]
    page = rows[:endpoints.SALES_PER_PAGE]
    answer: dict[str, Any] = {
        "success": True,
        "sales": [sale_json(s, products.get(s.product_id)) for s in page],
    }
    if len(rows) > endpoints.SALES_PER_PAGE:
        key = page_key_of(page[-1])
        answer |= {"next_page_key": key, "next_page_url": f"/v2/sales?page_key={key}"}
    return answer
