"""Access tokens: a static admin token, or the client-credentials grant re-minted early."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

import httpx

from oneshop.errors import AuthError, RetryableError
from oneshop.http import send
from oneshop.protocols import ConnectorContext
from oneshop.retry import call_with_retry
from oneshop.values import TokenPair

# Mint a new token this long before the old one expires, so no request carries a token
# that dies in flight (Shopify's tokens last ~24 h; the exact value comes in expires_in).
REMINT_MARGIN = timedelta(minutes=5)
TOKEN_PATH = "/admin/oauth/access_token"


class TokenSource(Protocol):
    def token(self) -> str: ...

    def renew(self) -> bool:
        """Drop the current token after a 401; True when a fresh one can be minted."""
        ...


class StaticToken:
    """A legacy custom-app `shpat_` token: it never expires, so a 401 is final."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "StaticToken(***)"

    def token(self) -> str:
        return self._token

    def renew(self) -> bool:
        return False


class ClientCredentials:
    """Tokens minted with `grant_type=client_credentials`, kept in the token store."""

    def __init__(self, http: httpx.Client, ctx: ConnectorContext, *, client_id: str,
                 client_secret: str) -> None:
        self._http = http
        self._ctx = ctx
        self._client_id = client_id
        self._client_secret = client_secret
        self._renewed = False
        self.minted = 0

    def __repr__(self) -> str:
        return "ClientCredentials(***)"

    def token(self) -> str:
        with self._ctx.token_store.lock():
            current = self._ctx.token_store.load()
            if current is not None and self._ctx.clock() < current.expires_at - REMINT_MARGIN:
                return current.access_token
            minted = call_with_retry(self._mint, sleep=self._ctx.sleep)
            self._ctx.token_store.save(minted)
            return minted.access_token

    def renew(self) -> bool:
        """Forget the stored token once (it may have been rotated away); then give up."""
        if self._renewed:
            return False
        self._renewed = True
        with self._ctx.token_store.lock():
            current = self._ctx.token_store.load()
            if current is not None:
                self._ctx.token_store.save(TokenPair(access_token=current.access_token,
                                                     refresh_token="",
                                                     expires_at=self._ctx.clock()))
        return True

    def _mint(self) -> TokenPair:
        request = self._http.build_request("POST", TOKEN_PATH, data={
            "grant_type": "client_credentials", "client_id": self._client_id,
            "client_secret": self._client_secret})
        response = send(self._http, request, what="shopify token grant")
        if response.status_code != 200:
            raise AuthError(f"shopify token grant refused: HTTP {response.status_code}")
        try:
            body = response.json()
            token, lifetime_s = body["access_token"], int(body.get("expires_in") or 86399)
        except (ValueError, KeyError, TypeError):
            raise RetryableError("shopify token grant: unreadable answer") from None
        if not isinstance(token, str) or not token:
            raise RetryableError("shopify token grant: no token in the answer")
        self.minted += 1
        self._renewed = False
        return TokenPair(access_token=token, refresh_token="",
                         expires_at=self._ctx.clock() + timedelta(seconds=lifetime_s))
