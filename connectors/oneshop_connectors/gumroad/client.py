"""Gumroad HTTP I/O: auth header, polite pacing, retries and error translation.

    httpx error / status            becomes
    ─────────────────────────────   ─────────────────────────────────────────
    timeout, dropped connection     RetryableError (retried, then raised)
    429                             RateLimited(retry_after_s) (retried)
    5xx                             RetryableError (retried)
    401 / 403                       AuthError (never retried)
    success:false, token message    AuthError
    success:false, other message    Refused (an InvalidRecord: this call was refused)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from oneshop import http
from oneshop.errors import AuthError, InvalidRecord, RetryableError
from oneshop.protocols import ConnectorContext
from oneshop.retry import call_with_retry
from oneshop.values import Budget

# Words Gumroad/Doorkeeper put in the message of a refused token.
AUTH_WORDS = ("access token", "access_token", "unauthorized", "not authorized",
              "permission", "scope", "revoked")


class Refused(InvalidRecord):
    """Gumroad answered success:false to this call (its message says why)."""


class GumroadClient:
    """One account's HTTP client; every call is paced, retried and translated."""

    def __init__(self, ctx: ConnectorContext, *, base_url: str, token: str,
                 requests_per_second: float) -> None:
        self._ctx = ctx
        self._http = http.new_client(ctx, base_url, headers={
            "Authorization": f"Bearer {token}", "Accept": "application/json",
            "User-Agent": "oneshop-gumroad"})
        self._interval_s = 1.0 / requests_per_second if requests_per_second > 0 else 0.0
        self._last_at: datetime | None = None
        self.requests = 0
        self.throttle_wait_s = 0.0

    def get(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        return self._call("GET", path, params=params)

    def put(self, path: str, form: Mapping[str, str]) -> dict[str, Any]:
        return self._call("PUT", path, form=form)

    def budget(self) -> Budget:
        # Gumroad publishes no budget; report what we spent and waited.
        return Budget(requests=self.requests, throttle_wait_s=self.throttle_wait_s)

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
              form: Mapping[str, str] | None = None) -> dict[str, Any]:
        what = f"gumroad {method} {path.split('/')[2] if path.count('/') > 1 else path}"
        request = self._http.build_request(method, path, params=dict(params or {}),
                                           data=dict(form) if form is not None else None)

        def once() -> dict[str, Any]:
            self._pace()
            self.requests += 1
            return answer_of(http.send(self._http, request, what=what), what=what)

        return call_with_retry(once, sleep=self._ctx.sleep, on_wait=self._waited)

    def _waited(self, wait_s: float, exc: RetryableError) -> None:
        self.throttle_wait_s += wait_s

    def _pace(self) -> None:
        """At most `requests_per_second`: Gumroad documents no limit, so we stay polite."""
        now = self._ctx.clock()
        if self._last_at is not None and self._interval_s:
            wait_s = self._interval_s - (now - self._last_at).total_seconds()
            if wait_s > 0:
                self._ctx.sleep(wait_s)
                self.throttle_wait_s += wait_s
                now = self._ctx.clock()
        self._last_at = now


def answer_of(response: httpx.Response, *, what: str) -> dict[str, Any]:
    """The JSON body of a checked response, with success:false translated."""
    try:
        body = response.json()
    except ValueError:
        raise RetryableError(f"{what}: HTTP {response.status_code}, not JSON") from None
    if not isinstance(body, dict):
        raise RetryableError(f"{what}: answer is not an object")
    if body.get("success") is True:
        return body
    message = str(body.get("message") or f"HTTP {response.status_code}")[:300]
    if any(word in message.lower() for word in AUTH_WORDS):
        raise AuthError(f"{what}: {message}")
    raise Refused(f"{what}: {message}", raw=None)
