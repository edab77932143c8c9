"""Plumbing every sandbox shares: fault injection, request counting, loopback serving.

A sandbox is a WSGI application. Tests mount it in-process through `FaultTransport`
(an httpx transport); `oneshop sandbox`, the demo and the end-to-end tests serve it on a
loopback port with `serve()`. Faults behave the same either way.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str  # "status" | "drop" | "slow"
    status: int = 500
    retry_after_s: float = 0.0
    delay_s: float = 0.0


class Faults:
    """A thread-safe queue of faults applied to the next API requests, plus latency."""

    def __init__(self) -> None:
        self._queue: collections.deque[Fault] = collections.deque()
        self._lock = threading.Lock()
        self.latency_s = 0.0
        self.requests = 0

    def fail_next(self, count: int, *, status: int = 500, retry_after_s: float = 0.0) -> None:
        with self._lock:
            self._queue.extend(Fault("status", status, retry_after_s) for _ in range(count))

    def drop_next(self, count: int) -> None:
        with self._lock:
            self._queue.extend(Fault("drop") for _ in range(count))

    def slow_next(self, count: int, delay_s: float) -> None:
        with self._lock:
            self._queue.extend(Fault("slow", delay_s=delay_s) for _ in range(count))

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def take(self) -> Fault | None:
        with self._lock:
            self.requests += 1
            return self._queue.popleft() if self._queue else None


class DroppedConnection(Exception):
    """Raised inside the app to make the transport drop the connection."""


def with_faults(app: WSGIApp, faults: Faults, *, is_api: Callable[[str], bool]) -> WSGIApp:
    """Wrap a sandbox app: latency and queued faults apply to API paths only."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not is_api(environ.get("PATH_INFO", "")):
            return app(environ, start_response)
        if faults.latency_s:
            time.sleep(faults.latency_s)
        fault = faults.take()
        if fault is None:
            return app(environ, start_response)
        if fault.kind == "slow":
            time.sleep(fault.delay_s)
            return app(environ, start_response)
        if fault.kind == "drop":
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                import socket

                sock.shutdown(socket.SHUT_RDWR)
            raise DroppedConnection()
        headers = [("Content-Type", "application/json")]
        if fault.status == 429:
            headers.append(("Retry-After", f"{fault.retry_after_s:g}"))
        start_response(f"{fault.status} Injected", headers)
        return [b'{"errors":"injected fault"}']

    return wrapped


class FaultTransport(httpx.BaseTransport):
    """In-process transport over a WSGI app; a dropped connection raises like the network."""

    def __init__(self, app: WSGIApp) -> None:
        self._inner = httpx.WSGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return self._inner.handle_request(request)
        except DroppedConnection:
            raise httpx.RemoteProtocolError("server disconnected", request=request) from None


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
    """Serve `app` on loopback in a daemon thread (port 0 picks a free one)."""
    server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name=f"sandbox:{server.port}")
    thread.daemon = True
    thread.start()
    return Served(url=f"http://{host}:{server.port}", server=server, thread=thread)


def control_app(sandbox: Any) -> WSGIApp:
    """JSON endpoints under /_sandbox/ that drive any Sandbox (see protocols.Sandbox).

    POST /_sandbox/listings {sku, quantity, title?} -> {external_id}
    POST /_sandbox/sell {external_id, quantity?} -> {order_id}   (409 when sold out)
    POST /_sandbox/cancel {order_id, restock?}
    POST /_sandbox/hand_edit {external_id, quantity}
    GET  /_sandbox/quantity?external_id=… -> {quantity}
    POST /_sandbox/revoke
    POST /_sandbox/faults {count, status?, retry_after_s?}
    GET  /_sandbox/stats -> {requests, writes}
    """
    import json

    from werkzeug.wrappers import Request, Response

    def handle(req: Request) -> Any:
        body = req.get_json(silent=True) or {}
        action = req.path.removeprefix("/_sandbox/")
        if action == "listings":
            return {"external_id": sandbox.seed_listing(
                body["sku"], int(body["quantity"]), title=body.get("title", ""))}
        if action == "sell":
            return {"order_id": sandbox.sell(body["external_id"], int(body.get("quantity", 1)))}
        if action == "cancel":
            sandbox.cancel(body["order_id"], restock=bool(body.get("restock", True)))
            return {}
        if action == "hand_edit":
            sandbox.hand_edit(body["external_id"], int(body["quantity"]))
            return {}
        if action == "quantity":
            return {"quantity": sandbox.quantity(req.args["external_id"])}
        if action == "revoke":
            sandbox.revoke_credentials()
            return {}
        if action == "faults":
            sandbox.fail_next(int(body["count"]), status=int(body.get("status", 500)),
                              retry_after_s=float(body.get("retry_after_s", 0)))
            return {}
        if action == "stats":
            return {"requests": sandbox.requests, "writes": sandbox.writes}
        raise LookupError(action)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        req = Request(environ)
        try:
            payload, status = handle(req), 200
        except LookupError as exc:
            payload, status = {"error": f"not found: {exc}"}, 404
        except ValueError as exc:
            payload, status = {"error": str(exc)}, 409
        resp = Response(json.dumps(payload), status=status, mimetype="application/json")
        result: Iterable[bytes] = resp(environ, start_response)
        return result

    return app


def mount(api: WSGIApp, control: WSGIApp) -> WSGIApp:
    """One app: /_sandbox/* goes to the control surface, everything else to the API."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = control if environ.get("PATH_INFO", "").startswith("/_sandbox/") else api
        return target(environ, start_response)

    return app
