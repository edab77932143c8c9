"""The status page's WSGI app and its life in `oneshop run`: served on the shared threaded
server (oneshop.wsgi_server) like the webhook receiver, started and stopped with the
service (oneshop.operate).

Routes: `GET /` the overview, `GET /sku/<SKU>` one SKU's history (the SKU
percent-encoded, so any character a seller used works). Anything else is 404, any
method but GET and HEAD 405. Every page is read in one read-only snapshot of the
ledger (oneshop.ledger.readonly): this server cannot change a row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.wrappers import Request, Response

from oneshop.app import App
from oneshop.configfile import StatusPageConfig
from oneshop.ledger.readonly import read_only_engine, read_only_sessions
from oneshop.ledgerwatch import describe
from oneshop.status_page import access, html, sections
from oneshop.wsgi_server import Served, serve

log = structlog.get_logger("oneshop.service")
REALM = 'Basic realm="oneshop status", charset="UTF-8"'
# No script may run and nothing may load from elsewhere, even if some text slipped
# through unescaped; only the inline <style> is allowed.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "frame-ancestors 'none'; form-action 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(slots=True)
class StatusPage:
    """The WSGI app: reads the ledger through `sessions`, the config (accounts, rules)
    and live API budgets from the service's current App."""

    sessions: sessionmaker[Session]
    current_app: Callable[[], App]
    refresh_s: int
    credential: str | None  # "user:password"; None: no auth (loopback only)
    database_url: str

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self.respond(request)
        for name, value in HEADERS.items():
            response.headers[name] = value
        return response(environ, start_response)

    def respond(self, request: Request) -> Response:
        if self.credential is not None and not access.authorized(
                request.headers.get("Authorization"), self.credential):
            return _page(html.message_page("Sign in", "This status page needs the user "
                                           "and password of [status_page] basic_auth."),
                         401, {"WWW-Authenticate": REALM})
        if request.method not in ("GET", "HEAD"):
            return _page(html.message_page("Not allowed", "This page only reads."), 405,
                         {"Allow": "GET, HEAD"})
        try:
            if request.path == "/":
                return _page(self.overview())
            if request.path.startswith("/sku/") and len(request.path) > len("/sku/"):
                return self.sku(request.path[len("/sku/"):])
        except SQLAlchemyError as exc:
            why = describe(exc, self.database_url)
            log.warning("status_page.ledger_unavailable", error=why)
            return _page(html.message_page("Ledger unavailable", why), 503)
        return _page(html.message_page("Not found", "No such page."), 404)

    def overview(self) -> str:
        app = self.current_app()
        budgets = {name: c.budget() for name, c in app.accounts.connectors.items()}
        with self.sessions() as s:
            data = sections.overview(s, app.config, app.clock(), budgets)
        return html.overview_page(data, refresh_s=self.refresh_s)

    def sku(self, sku: str) -> Response:
        with self.sessions() as s:
            page = sections.sku_page(s, sku)
        if page is None:
            return _page(html.message_page("Unknown SKU", f"No SKU {sku!r} in the ledger."),
                         404)
        return _page(html.sku_history_page(page, refresh_s=self.refresh_s))


def _page(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status=status, headers=headers,
                    content_type="text/html; charset=utf-8")


@dataclass(slots=True)
class Running:
    served: Served
    engine: Engine

    @property
    def url(self) -> str:
        return self.served.url

    def close(self) -> None:
        self.served.close()
        self.engine.dispose()


def start(config: StatusPageConfig | None, current_app: Callable[[], App]) -> Running | None:
    """Serve the page on `[status_page] listen` (None when not configured)."""
    if config is None:
        return None
    app = current_app()
    engine = read_only_engine(app.config.database_url)
    page = StatusPage(sessions=read_only_sessions(engine), current_app=current_app,
                      refresh_s=config.refresh_s, credential=app.config.status_page_auth,
                      database_url=app.config.database_url)
    host, _, port = config.listen.rpartition(":")
    try:
        served = serve(page, host=host, port=int(port))
    except BaseException:
        engine.dispose()
        raise
    log.info("status_page.listening", url=served.url,
             auth="basic" if page.credential else "none (loopback)")
    return Running(served=served, engine=engine)
