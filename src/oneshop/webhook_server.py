"""Serves the webhooks receiver (oneshop.webhooks) for `oneshop run`, when `[webhooks]`
is configured: a threaded WSGI server in a daemon thread, without an access log (an
unsigned channel's secret is part of the URL)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from oneshop.config import Config
from oneshop.webhooks import Receiver, endpoints_from

log = structlog.get_logger("oneshop.service")


class _NoAccessLog(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass(slots=True)
class WebhookServer:
    url: str
    server: BaseWSGIServer
    thread: threading.Thread

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start(config: Config, trigger: Callable[[str], None]) -> WebhookServer | None:
    """Serve the receiver on `[webhooks] listen` (None when not configured); a verified
    delivery calls `trigger(account)`."""
    hooks = config.file.webhooks
    if hooks is None:
        return None
    host, _, port = hooks.listen.rpartition(":")
    host = host or "127.0.0.1"
    receiver = Receiver(endpoints_from(config), trigger, max_body_bytes=hooks.max_body_bytes)
    server = make_server(host, int(port), receiver, threaded=True,
                         request_handler=_NoAccessLog)
    thread = threading.Thread(target=server.serve_forever, name="webhooks", daemon=True)
    thread.start()
    served = WebhookServer(url=f"http://{host}:{server.port}", server=server, thread=thread)
    log.info("webhooks.listening", url=served.url)
    return served
