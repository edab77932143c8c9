"""Shared HTTP plumbing for connectors: one client per account, errors translated once."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from oneshop.errors import AuthError, RateLimited, RetryableError
from oneshop.protocols import ConnectorContext

DEFAULT_TIMEOUT_S = 30.0


def new_client(
    ctx: ConnectorContext,
    base_url: str,
    *,
    headers: Mapping[str, str] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> httpx.Client:
    """An httpx client for one account; the sandbox transport when the context has one."""
    return httpx.Client(
        base_url=base_url,
        headers=dict(headers or {}),
        timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)),
        transport=ctx.transport,
        follow_redirects=False,
    )


def retry_after_s(response: httpx.Response) -> float | None:
    """Retry-After in seconds (the date form is rare on APIs and read as None)."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def raise_for_transport(exc: httpx.HTTPError) -> RetryableError:
    """Timeouts, refused and dropped connections are transient."""
    return RetryableError(f"{type(exc).__name__} talking to the marketplace")


def check_status(response: httpx.Response, *, what: str) -> None:
    """Translate an HTTP status into the core's error kinds (2xx/4xx-other pass through)."""
    status = response.status_code
    if status == 429:
        raise RateLimited(f"{what}: HTTP 429", retry_after_s=retry_after_s(response))
    if status in (401, 403):
        raise AuthError(f"{what}: HTTP {status}")
    if status >= 500:
        raise RetryableError(f"{what}: HTTP {status}")


def send(client: httpx.Client, request: httpx.Request, *, what: str) -> httpx.Response:
    """Send one request; transport failures become RetryableError, statuses are checked."""
    try:
        response = client.send(request)
    except httpx.HTTPError as exc:
        raise raise_for_transport(exc) from None
    check_status(response, what=what)
    return response
