"""One GraphQL call to the Admin API: auth, cost-based throttling, errors translated once.

    HTTP 429 / errors[].extensions.code THROTTLED  -> RateLimited (wait from throttleStatus)
    HTTP 401 / 403, ACCESS_DENIED                  -> AuthError (a minted token is renewed once)
    HTTP 5xx, timeouts, dropped connections        -> RetryableError
    errors[].extensions.code MAX_COST_EXCEEDED     -> CostExceeded (the caller pages smaller)
    any other GraphQL error                        -> ShopifyQueryError (a bug in our query)

Every call goes through `call_with_retry` with the context's sleep; before a query the
bucket cannot afford (judged from the last `throttleStatus`), the client waits first.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from oneshop.errors import AuthError, RateLimited, RetryableError
from oneshop.http import check_status, raise_for_transport, retry_after_s
from oneshop.protocols import ConnectorContext
from oneshop.retry import call_with_retry
from oneshop_connectors.shopify.auth import TokenSource


class ShopifyQueryError(Exception):
    """Shopify refused a document we sent: a bug on our side, never retried."""


class CostExceeded(ShopifyQueryError):
    """MAX_COST_EXCEEDED: the requested cost is over the single-query cap (smaller pages
    would pass; see paging.py)."""

    def __init__(self, message: str, *, requested: int | None) -> None:
        super().__init__(message)
        self.requested = requested


@dataclass(slots=True)
class Throttle:
    """The bucket as Shopify last described it."""

    available: float
    maximum: float
    restore_rate: float
    seen_at: datetime

    def projected(self, now: datetime) -> float:
        elapsed = max(0.0, (now - self.seen_at).total_seconds())
        return min(self.maximum, self.available + elapsed * self.restore_rate)


class GraphQLClient:
    def __init__(self, http: httpx.Client, ctx: ConnectorContext, auth: TokenSource, *,
                 api_version: str) -> None:
        self._http = http
        self._ctx = ctx
        self._auth = auth
        self._path = f"/admin/api/{api_version}/graphql.json"
        self._requested: dict[str, int] = {}
        self.throttle: Throttle | None = None
        self.requests = 0
        self.total_cost = 0
        self.throttle_wait_s = 0.0

    def __repr__(self) -> str:
        return f"GraphQLClient(path={self._path!r})"

    def execute(self, document: str, variables: dict[str, Any], *, name: str,
                ) -> dict[str, Any]:
        """The `data` of one operation, retried per the core's policy."""
        return call_with_retry(lambda: self._attempt(document, variables, name),
                               sleep=self._ctx.sleep, on_wait=self._count_wait)

    def _count_wait(self, wait_s: float, exc: RetryableError) -> None:
        if isinstance(exc, RateLimited):
            self.throttle_wait_s += wait_s

    def _wait_for_budget(self, name: str) -> None:
        """Sleep until the bucket holds what this operation requested last time."""
        need = self._requested.get(name)
        if need is None or self.throttle is None or self.throttle.restore_rate <= 0:
            return
        short = min(need, self.throttle.maximum) - self.throttle.projected(self._ctx.clock())
        if short > 0:
            # Whole tenths, rounded up: an exact quotient (2.51 s at 100/s) refills to
            # 250.99999… points in floating point, one short of the query's price.
            wait_s = math.ceil(short / self.throttle.restore_rate * 10) / 10
            self.throttle_wait_s += wait_s
            self._ctx.sleep(wait_s)

    def _attempt(self, document: str, variables: dict[str, Any], name: str) -> dict[str, Any]:
        self._wait_for_budget(name)
        response = self._post(document, variables, name)
        if response.status_code == 401 and self._auth.renew():
            response = self._post(document, variables, name)
        body = self._body(response)
        cost = body.get("extensions", {}).get("cost") if isinstance(body, dict) else None
        self._note_cost(name, cost)
        if response.status_code == 429:
            raise RateLimited("shopify: HTTP 429", retry_after_s=self._throttle_wait(
                cost, retry_after_s(response)))
        check_status(response, what="shopify graphql")
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors:
            raise self._translate(errors, cost)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise RetryableError("shopify graphql: answer without data")
        return data

    def _post(self, document: str, variables: dict[str, Any], name: str) -> httpx.Response:
        request = self._http.build_request(
            "POST", self._path, headers={"X-Shopify-Access-Token": self._auth.token()},
            json={"query": document, "variables": variables, "operationName": name})
        self.requests += 1
        try:
            return self._http.send(request)
        except httpx.HTTPError as exc:
            raise raise_for_transport(exc) from None

    @staticmethod
    def _body(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            return None

    def _note_cost(self, name: str, cost: Any) -> None:
        if not isinstance(cost, dict):
            return
        requested, actual = cost.get("requestedQueryCost"), cost.get("actualQueryCost")
        if isinstance(requested, int):
            self._requested[name] = requested
        if isinstance(actual, int):
            self.total_cost += actual
        status = cost.get("throttleStatus")
        if isinstance(status, dict):
            with contextlib.suppress(KeyError, TypeError, ValueError):
                self.throttle = Throttle(float(status["currentlyAvailable"]),
                                         float(status["maximumAvailable"]),
                                         float(status["restoreRate"]), self._ctx.clock())

    def _throttle_wait(self, cost: Any, header_s: float | None) -> float | None:
        """How long until the bucket holds the requested cost (Retry-After if larger)."""
        waits = [header_s] if header_s is not None else []
        throttle = self.throttle
        if isinstance(cost, dict) and throttle is not None and throttle.restore_rate > 0:
            requested = cost.get("requestedQueryCost")
            if isinstance(requested, int):
                short = min(requested, throttle.maximum) - throttle.available
                waits.append(math.ceil(max(0.0, short) / throttle.restore_rate * 10) / 10)
        return max(waits) if waits else None

    def _translate(self, errors: Any, cost: Any) -> Exception:
        items: list[Any] = errors if isinstance(errors, list) else [{"message": str(errors)}]
        codes = {str((e.get("extensions") or {}).get("code")) for e in items
                 if isinstance(e, dict)}
        if "THROTTLED" in codes:
            return RateLimited("shopify: throttled", retry_after_s=self._throttle_wait(
                cost, None))
        if "ACCESS_DENIED" in codes:
            return AuthError("shopify: access denied (missing scope?)")
        if codes & {"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE"}:
            return RetryableError("shopify: internal error")
        first = items[0] if items and isinstance(items[0], dict) else {}
        if "MAX_COST_EXCEEDED" in codes:
            requested = (first.get("extensions") or {}).get("cost")
            return CostExceeded(f"shopify: query cost over the cap: {first.get('message')!s:.200}",
                                requested=requested if isinstance(requested, int) else None)
        return ShopifyQueryError(f"shopify refused the query: {first.get('message')!s:.300}")
