"""A threaded WSGI server in a daemon thread: the webhook receiver's, and the sandboxes'.

Kept apart from the sandbox kit so the service can receive webhooks on an install
without the sandboxes (`pip install oneshop`, no `[sandbox]` extra).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass(slots=True)
class Served:
    url: str
    server: BaseWSGIServer
    thread: threading.Thread

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class QuietHandler(WSGIRequestHandler):
    """No access log: request lines would carry tokens in query strings."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def serve(app: WSGIApp, *, host: str = "127.0.0.1", port: int = 0) -> Served:
    """Serve `app` in a daemon thread (port 0 picks a free one)."""
    server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name=f"wsgi:{server.port}")
    thread.daemon = True
    thread.start()
    return Served(url=f"http://{host}:{server.port}", server=server, thread=thread)
