"""The OAuth2 authorization-code flow with PKCE (S256), for `oneshop auth etsy`.

    verifier, challenge = new_pkce()
    url = authorize_url(settings, state, challenge)     # the seller opens it and approves
    code = wait_for_redirect(settings.redirect_uri, state, timeout_s=300)  # or a pasted code
    tokens = exchange_code(settings, ctx, code, verifier) # then ctx.token_store.save(tokens)
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import secrets
import threading
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode, urlsplit

from oneshop.errors import AuthError
from oneshop.http import new_client
from oneshop.protocols import ConnectorContext
from oneshop.values import TokenPair
from oneshop_connectors.etsy.endpoints import AUTHORIZE_PATH
from oneshop_connectors.etsy.tokens import request_tokens

if TYPE_CHECKING:
    from oneshop_connectors.etsy import EtsySettings


def new_pkce() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge); the verifier is 43+ URL-safe characters."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize_url(settings: EtsySettings, state: str, challenge: str) -> str:
    query = urlencode({
        "response_type": "code", "client_id": settings.keystring,
        "redirect_uri": settings.redirect_uri, "scope": " ".join(settings.scopes),
        "state": state, "code_challenge": challenge, "code_challenge_method": "S256"})
    return f"{settings.oauth_base_url.rstrip('/')}{AUTHORIZE_PATH}?{query}"


def exchange_code(settings: EtsySettings, ctx: ConnectorContext, code: str, verifier: str
                  ) -> TokenPair:
    """Trade the authorization code (and the verifier it was made for) for a token pair."""
    secret = settings.shared_secret.get_secret_value()
    with new_client(ctx, settings.base_url,
                    headers={"x-api-key": f"{settings.keystring}:{secret}"}) as client:
        return request_tokens(client, ctx, {
            "grant_type": "authorization_code", "client_id": settings.keystring,
            "redirect_uri": settings.redirect_uri, "code": code, "code_verifier": verifier})


def code_from_redirect(url: str, expected_state: str) -> str:
    """The code in a redirect URL (or a pasted one); refuses a state that does not match."""
    query = parse_qs(urlsplit(url).query)
    if query.get("error"):
        raise AuthError(f"Etsy refused the authorization: {query['error'][0]}")
    if query.get("state", [""])[0] != expected_state:
        raise AuthError("the redirect's state does not match: start `oneshop auth` again")
    code = query.get("code", [""])[0]
    if not code:
        raise AuthError("the redirect carries no authorization code")
    return code


def wait_for_redirect(redirect_uri: str, expected_state: str, timeout_s: float) -> str:
    """Listen once on the loopback redirect URI and return the authorization code."""
    target = urlsplit(redirect_uri)
    received: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if urlsplit(self.path).path != (target.path or "/"):
                self.send_error(404)
                return
            received.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write(b"oneshop: authorization received, you can close this tab.\n")

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the request line carries the authorization code."""

    server = http.server.HTTPServer((target.hostname or "127.0.0.1", target.port or 80), Handler)
    server.timeout = 0.2
    try:
        deadline = threading.Event()
        timer = threading.Timer(timeout_s, deadline.set)
        timer.start()
        while not received and not deadline.is_set():
            server.handle_request()
        timer.cancel()
    finally:
        server.server_close()
    if not received:
        raise AuthError(f"no redirect reached {redirect_uri} within {timeout_s:g} s")
    return code_from_redirect(received[0], expected_state)
