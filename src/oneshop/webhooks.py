"""The optional webhooks receiver: a verified delivery only brings an account's next
orders pull forward. Polling stays the truth, so a lost or forged delivery costs nothing.

    POST /webhooks/{account}            signed channels (Shopify HMAC, Etsy signatures)
    POST /webhooks/{account}/{token}    unsigned channels (Gumroad Ping): secret in the URL
"""

from __future__ import annotations

import collections
import hmac
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from werkzeug.wrappers import Request, Response

from oneshop.protocols import ConnectorFactory, WebhookVerifier

if TYPE_CHECKING:
    from oneshop.config import Config

log = structlog.get_logger("oneshop.webhooks")
SEEN_IDS = 10_000  # delivery ids remembered for de-duplication


@dataclass(frozen=True, slots=True)
class Endpoint:
    factory: ConnectorFactory
    secret: str


class Receiver:
    def __init__(self, endpoints: Mapping[str, Endpoint], trigger: Callable[[str], None], *,
                 max_body_bytes: int = 1_000_000,
                 now_s: Callable[[], float] = time.time) -> None:
        self.endpoints = endpoints
        self.trigger = trigger
        self.max_body_bytes = max_body_bytes
        self.now_s = now_s
        self._seen: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._lock = threading.Lock()
        self.accepted = 0
        self.refused = 0
        self.duplicates = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        status, text = self.handle(Request(environ))
        response: Iterable[bytes] = Response(text + "\n", status=status,
                                             mimetype="text/plain")(environ, start_response)
        return response

    def handle(self, req: Request) -> tuple[int, str]:
        parts = req.path.strip("/").split("/")
        if len(parts) not in (2, 3) or parts[0] != "webhooks":
            return 404, "not found"
        if req.method != "POST":
            return 405, "POST only"
        endpoint = self.endpoints.get(parts[1])
        if endpoint is None:
            return 404, "not found"
        if (req.content_length or 0) > self.max_body_bytes:
            return 413, "too large"
        body = req.stream.read(self.max_body_bytes + 1)
        if len(body) > self.max_body_bytes:
            return 413, "too large"
        delivery = self._verify(endpoint, parts[2] if len(parts) == 3 else None,
                                dict(req.headers), body)
        if delivery is None:
            self.refused += 1
            log.warning("webhook.refused", account=parts[1])
            return 401, "not authentic"
        if self._duplicate(f"{parts[1]}:{delivery}"):
            self.duplicates += 1
            return 200, "duplicate"
        self.accepted += 1
        self.trigger(parts[1])
        log.info("webhook.accepted", account=parts[1])
        return 200, "ok"

    def _verify(self, endpoint: Endpoint, token: str | None, headers: Mapping[str, str],
                body: bytes) -> str | None:
        if isinstance(endpoint.factory, WebhookVerifier):
            if token is not None:
                return None
            return endpoint.factory.verify_webhook(headers, body, endpoint.secret, self.now_s())
        if token is None or not hmac.compare_digest(token.encode(), endpoint.secret.encode()):
            return None
        # Unsigned channels carry no delivery id we could trust; the pull is idempotent.
        return f"unsigned:{hash(body)}:{int(self.now_s())}"

    def _duplicate(self, key: str) -> bool:
        with self._lock:
            if key in self._seen:
                return True
            self._seen[key] = None
            while len(self._seen) > SEEN_IDS:
                self._seen.popitem(last=False)
            return False


def endpoints_from(config: Config) -> dict[str, Endpoint]:
    """Accounts that have a webhook secret configured."""
    return {name: Endpoint(acc.factory, acc.webhook_secret)
            for name, acc in config.accounts.items()
            if acc.webhook_secret and acc.config.enabled}
