"""Etsy HTTP I/O: headers, tokens, pacing to the rate limits, retries, error translation.

    401                      -> one refresh, then the SAME request again; still 401 -> AuthError
    403                      -> AuthError (x-api-key refused, scope missing, shop not ours)
    429 (+ retry-after)      -> RateLimited, retried by call_with_retry
    5xx, timeouts, drops     -> RetryableError, retried
    other 4xx                -> EtsyRefused (the caller decides; push reports it as failed)
"""

from __future__ import annotations

import collections
from datetime import datetime
from typing import Any

import httpx

from oneshop.errors import AuthError, RateLimited, RetryableError
from oneshop.http import check_status, new_client, raise_for_transport
from oneshop.protocols import ConnectorContext
from oneshop.retry import call_with_retry
from oneshop.values import Budget
from oneshop_connectors.etsy.tokens import TokenKeeper

# Etsy's historical default; the x-limit-per-second header overrides it once seen.
DEFAULT_PER_SECOND = 10
# A longer Retry-After (the daily budget is spent) is not slept through inline: the
# RateLimited goes to the core, which pauses the account and keeps the others running.
MAX_INLINE_WAIT_S = 60.0


class _TooLong(Exception):
    """Carries a RateLimited past call_with_retry, which would otherwise sleep it out."""

    def __init__(self, error: RateLimited) -> None:
        super().__init__(str(error))
        self.error = error


class EtsyRefused(Exception):
    """Etsy answered 4xx (other than 401/403/429) with this message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


def _header_int(headers: httpx.Headers, *names: str) -> int | None:
    for name in names:
        value = headers.get(name)
        if value is not None and value.strip().isdigit():
            return int(value)
    return None


def results_of(body: Any) -> list[Any]:
    """The `results` of a list answer; an answer without them is Etsy's hiccup, retried."""
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list):
        raise RetryableError("Etsy answered a list request without `results`")
    return results


def error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else response.reason_phrase


class RateGauge:
    """Etsy's rate headers as last seen, and pacing to the per-second limit."""

    def __init__(self, ctx: ConnectorContext) -> None:
        self._ctx = ctx
        self.per_second: int | None = None
        self.remaining_second: int | None = None
        self.per_day: int | None = None
        self.remaining_today: int | None = None
        self.requests = 0
        self.throttle_wait_s = 0.0
        self._sent: collections.deque[datetime] = collections.deque()
        self._seen_at: datetime | None = None

    def pace(self) -> None:
        """Wait (ctx.sleep) until a request fits in the current one-second window."""
        now = self._ctx.clock()
        while self._sent and (now - self._sent[0]).total_seconds() >= 1:
            self._sent.popleft()
        wait = 0.0
        if len(self._sent) >= (self.per_second or DEFAULT_PER_SECOND):
            wait = 1 - (now - self._sent[0]).total_seconds()
        if self.remaining_second == 0 and self._seen_at is not None:
            wait = max(wait, 1 - (now - self._seen_at).total_seconds())
        if wait > 0:
            self.waited(wait)
            self._ctx.sleep(wait)
            self.remaining_second = None
        self._sent.append(self._ctx.clock())
        self.requests += 1

    def waited(self, seconds: float, _exc: object = None) -> None:
        self.throttle_wait_s += seconds

    def observe(self, response: httpx.Response) -> None:
        headers = response.headers
        self._seen_at = self._ctx.clock()
        self.per_second = _header_int(headers, "x-limit-per-second") or self.per_second
        self.remaining_second = _header_int(
            headers, "x-remaining-this-second", "x-remaining-this-secon")
        self.per_day = _header_int(headers, "x-limit-per-day") or self.per_day
        today = _header_int(headers, "x-remaining-today")
        self.remaining_today = today if today is not None else self.remaining_today

    def share_left(self) -> float | None:
        if self.per_day is None or self.remaining_today is None or self.per_day <= 0:
            return None
        return self.remaining_today / self.per_day

    def budget(self) -> Budget:
        return Budget(remaining=self.remaining_today, limit=self.per_day, daily=True,
                      requests=self.requests, throttle_wait_s=self.throttle_wait_s)


class EtsyHttp:
    """One account's HTTP session against Etsy (or its sandbox through ctx.transport)."""

    def __init__(self, ctx: ConnectorContext, *, base_url: str, keystring: str,
                 shared_secret: str) -> None:
        self._ctx = ctx
        self.client = new_client(ctx, base_url, headers={
            "x-api-key": f"{keystring}:{shared_secret}", "accept": "application/json"})
        self.tokens = TokenKeeper(self.client, ctx, keystring)
        self.gauge = RateGauge(ctx)

    def close(self) -> None:
        self.client.close()

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.call("GET", path, params=params)

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None,
             json_body: Any = None, form: dict[str, str] | None = None) -> Any:
        """One API call with retries; the parsed JSON body."""
        what = f"etsy {method} {path}"
        try:
            return call_with_retry(
                lambda: self._once(method, path, params, json_body, form, what),
                sleep=self._ctx.sleep, on_wait=self.gauge.waited)
        except _TooLong as long_wait:
            raise long_wait.error from None

    def _once(self, method: str, path: str, params: dict[str, Any] | None, json_body: Any,
              form: dict[str, str] | None, what: str) -> Any:
        token = self.tokens.access_token()
        response = self._send(method, path, params, json_body, form, token)
        if response.status_code == 401:
            # Expired or rotated under us: refresh once, then replay the same request.
            token = self.tokens.refresh(stale=token)
            response = self._send(method, path, params, json_body, form, token)
            if response.status_code == 401:
                raise AuthError(f"{what}: HTTP 401 after a token refresh")
        if response.status_code == 403:
            raise AuthError(f"{what}: HTTP 403: {error_message(response)}")
        try:
            check_status(response, what=what)
        except RateLimited as exc:
            if exc.retry_after_s is not None and exc.retry_after_s > MAX_INLINE_WAIT_S:
                raise _TooLong(exc) from None
            raise
        if response.status_code >= 400:
            raise EtsyRefused(response.status_code, error_message(response))
        try:
            return response.json()
        except ValueError:
            raise RetryableError(f"{what}: the answer is not JSON") from None

    def _send(self, method: str, path: str, params: dict[str, Any] | None, json_body: Any,
              form: dict[str, str] | None, token: str) -> httpx.Response:
        self.gauge.pace()
        request = self.client.build_request(
            method, path, params=params, json=json_body, data=form,
            headers={"authorization": f"Bearer {token}"})
        try:
            response = self.client.send(request)
        except httpx.HTTPError as exc:
            raise raise_for_transport(exc) from None
        self.gauge.observe(response)
        return response
