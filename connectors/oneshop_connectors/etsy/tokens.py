"""OAuth tokens: the token endpoint, and refresh under the account's lock.

Etsy rotates refresh tokens: the old one dies the moment a new pair is issued, so the new
pair is saved before it is used, and a refresh happens under `token_store.lock()` after
re-loading (another thread or process may have refreshed already).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from oneshop.errors import AuthError, RetryableError
from oneshop.protocols import ConnectorContext
from oneshop.retry import call_with_retry
from oneshop.values import TokenPair
from oneshop_connectors.etsy.endpoints import TOKEN_PATH

# Refresh this long before expiry, so a token never dies between our check and Etsy's.
REFRESH_MARGIN = timedelta(seconds=60)


def no_tokens_error(account: str) -> AuthError:
    return AuthError(f"no Etsy tokens stored: run `oneshop auth etsy --account {account}`")


def parse_token_response(body: Any, now: datetime) -> TokenPair:
    if not isinstance(body, dict):
        raise RetryableError("token endpoint answered without a JSON object")
    access, refresh, ttl = body.get("access_token"), body.get("refresh_token"), body.get(
        "expires_in")
    if not (isinstance(access, str) and access and isinstance(refresh, str) and refresh):
        raise AuthError("token endpoint answered without a token pair")
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 < ttl <= 10**7:
        raise AuthError("token endpoint answered with an invalid expires_in")
    return TokenPair(access_token=access, refresh_token=refresh,
                     expires_at=now + timedelta(seconds=ttl))


def request_tokens(client: httpx.Client, ctx: ConnectorContext, form: dict[str, str]
                   ) -> TokenPair:
    """POST the token endpoint (authorization_code or refresh_token grant)."""

    def once() -> TokenPair:
        request = client.build_request("POST", TOKEN_PATH, data=form)
        response = _send(client, request)
        return parse_token_response(response.json(), ctx.clock())

    return call_with_retry(once, sleep=ctx.sleep)


def _send(client: httpx.Client, request: httpx.Request) -> httpx.Response:
    try:
        response = client.send(request)
    except httpx.HTTPError as exc:
        raise RetryableError(f"{type(exc).__name__} talking to Etsy's token endpoint") from None
    if response.status_code >= 500 or response.status_code == 429:
        raise RetryableError(f"etsy token: HTTP {response.status_code}")
    if response.status_code >= 400:
        error = _error_code(response)
        # invalid_grant: the refresh token is revoked (password change) or already used.
        raise AuthError(f"Etsy refused the token grant ({error}); "
                        "run `oneshop auth etsy` again")
    return response


def _error_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else f"HTTP {response.status_code}"


class TokenKeeper:
    """Hands out a valid access token, refreshing (and persisting) when needed."""

    def __init__(self, client: httpx.Client, ctx: ConnectorContext, keystring: str) -> None:
        self._client, self._ctx, self._keystring = client, ctx, keystring

    def _fresh(self, pair: TokenPair) -> bool:
        return pair.expires_at - self._ctx.clock() > REFRESH_MARGIN

    def access_token(self) -> str:
        pair = self._ctx.token_store.load()
        if pair is None:
            raise no_tokens_error(self._ctx.account)
        if self._fresh(pair):
            return pair.access_token
        return self.refresh(stale=pair.access_token)

    def refresh(self, *, stale: str) -> str:
        """A new access token; `stale` is the one that failed or expired."""
        store = self._ctx.token_store
        with store.lock():
            pair = store.load()
            if pair is None:
                raise no_tokens_error(self._ctx.account)
            if pair.access_token != stale and self._fresh(pair):
                return pair.access_token  # someone refreshed while we waited for the lock
            new = request_tokens(self._client, self._ctx, {
                "grant_type": "refresh_token", "client_id": self._keystring,
                "refresh_token": pair.refresh_token})
            store.save(new)  # the old refresh token is already dead: persist first
            return new.access_token
