"""Plumbing every sandbox shares: fault injection, request counting, JSON controls.

A sandbox is a WSGI application. Tests mount it in-process through `FaultTransport`
(an httpx transport); `oneshop sandbox`, the demo and the end-to-end tests serve it on a
loopback port with `serve()` (re-exported from `oneshop.wsgi_server`). Faults behave the
same either way.
"""

from __future__ import annotations

import collections
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from werkzeug.wrappers import Request, Response

from oneshop.wsgi_server import Served, WSGIApp, serve

__all__ = ["Control", "DroppedConnection", "Fault", "FaultTransport", "Faults", "Served",
           "WSGIApp", "body", "control_app", "json_controls", "mount", "serve", "with_faults"]
# A control: the request (JSON body via `body(req)`, query via `req.args`) -> JSON answer.
Control = Callable[[Request], Mapping[str, Any]]


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


def body(req: Request) -> dict[str, Any]:
    """The request's JSON object (empty when there is none)."""
    found = req.get_json(silent=True)
    return found if isinstance(found, dict) else {}


def json_controls(prefix: str, controls: Mapping[str, Control], *,
                  fallback: WSGIApp | None = None) -> WSGIApp:
    """JSON endpoints `prefix + name`, one per control; other paths go to `fallback`.

    An unknown name (or a missing key) answers 404, a refused action (ValueError) 409.
    """

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if fallback is not None and not path.startswith(prefix):
            return fallback(environ, start_response)
        req = Request(environ)
        control = controls.get(path.removeprefix(prefix))
        try:
            if control is None:
                raise LookupError(path.removeprefix(prefix))
            payload, status = dict(control(req)), 200
        except (LookupError, TypeError) as exc:
            payload, status = {"error": f"not found: {exc}"}, 404
        except ValueError as exc:
            payload, status = {"error": str(exc)}, 409
        resp = Response(json.dumps(payload), status=status, mimetype="application/json")
        result: Iterable[bytes] = resp(environ, start_response)
        return result

    return app


def _done(action: Callable[[], object]) -> Mapping[str, Any]:
    action()
    return {}


def control_app(sandbox: Any) -> WSGIApp:
    """JSON endpoints under /_sandbox/ that drive any Sandbox (see testing.Sandbox).

    POST /_sandbox/listings {sku, quantity, title?} -> {external_id}
    POST /_sandbox/sell {external_id, quantity?} -> {order_id}   (409 when sold out)
    POST /_sandbox/cancel {order_id, restock?}
    POST /_sandbox/hand_edit {external_id, quantity}
    GET  /_sandbox/quantity?external_id=… -> {quantity}
    POST /_sandbox/revoke
    POST /_sandbox/faults {count, status?, retry_after_s?}
    GET  /_sandbox/stats -> {requests, writes}
    """
    controls: dict[str, Control] = {
        "listings": lambda r: {"external_id": sandbox.seed_listing(
            body(r)["sku"], int(body(r)["quantity"]), title=body(r).get("title", ""))},
        "sell": lambda r: {"order_id": sandbox.sell(
            body(r)["external_id"], int(body(r).get("quantity", 1)))},
        "cancel": lambda r: _done(lambda: sandbox.cancel(
            body(r)["order_id"], restock=bool(body(r).get("restock", True)))),
        "hand_edit": lambda r: _done(lambda: sandbox.hand_edit(
            body(r)["external_id"], int(body(r)["quantity"]))),
        "quantity": lambda r: {"quantity": sandbox.quantity(r.args["external_id"])},
        "revoke": lambda r: _done(sandbox.revoke_credentials),
        "faults": lambda r: _done(lambda: sandbox.fail_next(
            int(body(r)["count"]), status=int(body(r).get("status", 500)),
            retry_after_s=float(body(r).get("retry_after_s", 0)))),
        "stats": lambda r: {"requests": sandbox.requests, "writes": sandbox.writes},
    }
    return json_controls("/_sandbox/", controls)


def mount(api: WSGIApp, control: WSGIApp) -> WSGIApp:
    """One app: /_sandbox/* goes to the control surface, everything else to the API."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = control if environ.get("PATH_INFO", "").startswith("/_sandbox/") else api
        return target(environ, start_response)

    return app
