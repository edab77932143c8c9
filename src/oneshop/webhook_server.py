"""Serves the webhooks receiver (oneshop.webhooks) for `oneshop run`, when `[webhooks]`
is configured, on the shared threaded server (oneshop.wsgi_server: no access log, as an
unsigned channel's secret is part of the URL)."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from oneshop.config import Config
from oneshop.webhooks import Receiver, endpoints_from
from oneshop.wsgi_server import Served, serve

log = structlog.get_logger("oneshop.service")


def start(config: Config, trigger: Callable[[str], None]) -> Served | None:
    """Serve the receiver on `[webhooks] listen` (None when not configured); a verified
    delivery calls `trigger(account)`."""
    hooks = config.file.webhooks
    if hooks is None:
        return None
    host, _, port = hooks.listen.rpartition(":")
    receiver = Receiver(endpoints_from(config), trigger, max_body_bytes=hooks.max_body_bytes)
    served = serve(receiver, host=host or "127.0.0.1", port=int(port))
    log.info("webhooks.listening", url=served.url)
    return served
