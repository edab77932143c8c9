"""The world a seed runs in: three seeded sandboxes, one ledger file, and the App under
test, reached through transports that can fail, stall or "crash the process".

A crash is a `Crash` (a BaseException, so no `except Exception` in the service can
swallow it) raised out of a connector's HTTP call, before the request reaches the
marketplace or after the marketplace processed it. The App is then dropped and a new one
built on the same ledger file: the ledger is the only state that survives.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from oneshop import app as app_mod
from oneshop.ledger import models as m
from oneshop.service import Runner
from oneshop.testing import Sandbox, VirtualClock, sandbox_for
from oneshop.testing.shop import KINDS, SandboxShop
from oneshop.wsgi_server import serve

_TEMPLATE: dict[str, Path] = {}


class Crash(BaseException):
    """The simulated process died inside a connector call."""


def migrated_template() -> Path:
    """A migrated, empty ledger file, made once per process and copied per seed."""
    if "path" not in _TEMPLATE:
        path = Path(tempfile.mkdtemp(prefix="oneshop-sim-template-")) / "ledger.sqlite3"
        with app_mod.open_ledger(f"sqlite:///{path}", check_schema=False) as ledger:
            ledger.upgrade()
        _TEMPLATE["path"] = path
    return _TEMPLATE["path"]


@dataclass(slots=True)
class Injector:
    """Transport-level faults, armed by the scenario, consumed by requests in order."""

    rng: random.Random
    clock: VirtualClock
    trace: Callable[[str], None]
    # Per kind: a queue of faults ("ok", "timeout", "lost_answer", "slow:<s>").
    queued: dict[str, list[str]] = field(default_factory=dict)
    crash_in: int | None = None  # crash on the n-th next request, any channel
    crash_after_send: bool = False
    requests: dict[str, int] = field(default_factory=dict)
    # Per kind: what a customer does on the channel while our next stock write to it is
    # in flight: just before the channel handles it, or just after ("after").
    during_write: dict[str, tuple[str, Callable[[httpx.Request], None]]] = field(
        default_factory=dict)

    def write_race(self, kind: str, request: httpx.Request, when: str) -> None:
        armed = self.during_write.get(kind)
        if armed is not None and armed[0] == when and is_stock_write(request):
            del self.during_write[kind]
            armed[1](request)

    def before(self, kind: str, request: httpx.Request) -> str | None:
        self.requests[kind] = self.requests.get(kind, 0) + 1
        self.write_race(kind, request, "before")
        if self.crash_in is not None:
            self.crash_in -= 1
            if self.crash_in <= 0:
                self.crash_in = None
                if not self.crash_after_send:
                    self.trace(f"crash before {kind} {request.method} {request.url.path}")
                    raise Crash(kind)
                return "crash"
        queue = self.queued.get(kind)
        if not queue:
            return None
        fault = queue.pop(0)
        if fault == "ok":
            return None
        if fault == "timeout":
            raise httpx.ConnectTimeout("simulated timeout", request=request)
        if fault.startswith("slow:"):
            self.clock.advance(float(fault.removeprefix("slow:")))
            return None
        return fault

    def after(self, kind: str, request: httpx.Request, pending: str | None) -> None:
        self.write_race(kind, request, "after")
        if pending == "crash":
            self.trace(f"crash after {kind} {request.method} {request.url.path} was processed")
            raise Crash(kind)
        if pending == "lost_answer":
            raise httpx.ReadTimeout("simulated lost answer", request=request)


def etsy_restocks(seed: int) -> bool:
    """The Etsy sandbox's `restock_on_cancel` for this seed."""
    return seed % 2 == 1


def is_stock_write(request: httpx.Request) -> bool:
    """Shopify's inventorySetQuantities, Etsy's inventory PUT, Gumroad's product PUT."""
    return request.method == "PUT" or b"inventorySetQuantities" in request.content


class SimTransport(httpx.BaseTransport):
    def __init__(self, kind: str, inner: httpx.BaseTransport, injector: Injector) -> None:
        self.kind, self.inner, self.injector = kind, inner, injector

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        pending = self.injector.before(self.kind, request)
        response = self.inner.handle_request(request)
        response.read()
        self.injector.after(self.kind, request, pending)
        return response


class PageTracer:
    """Notes which movement ids each page of orders wrote (a `SyncObserver`).

    The oversell check works per page (a cancellation and a sale in one page net out),
    so the checker needs the page boundaries to replay the ledger the same way.
    """

    def __init__(self, sessions: sessionmaker[Session], pages: list[tuple[int, int]]) -> None:
        self.sessions, self.pages = sessions, pages
        self._before: dict[str, int] = {}  # per account: its pages are booked one at a time

    def page_started(self, account: str) -> None:
        self._before[account] = self._last_movement()

    def page_booked(self, account: str) -> None:
        self.pages.append((self._before.pop(account), self._last_movement()))

    def _last_movement(self) -> int:
        with self.sessions() as s:
            return int(s.scalar(select(func.max(m.Movement.id))) or 0)


class World:
    """Sandboxes + ledger + the current App (rebuilt after every crash)."""

    def __init__(self, seed: int, *, workdir: Path, clock: VirtualClock,
                 trace: Callable[[str], None], account_options: dict[str, Any],
                 serve_http: bool = False) -> None:
        """`serve_http`: the sandboxes on loopback, on wall-clock time, for a real process."""
        self.seed = seed
        self.clock = clock
        self.dir = workdir
        self.rng = random.Random(f"world:{seed}")
        self.injector = Injector(rng=self.rng, clock=clock, trace=trace)
        db_path = workdir / "oneshop.sqlite3"
        shutil.copyfile(migrated_template(), db_path)
        self.shop = SandboxShop(state_dir=workdir, clock=None if serve_http else clock.now,
                                database_url=f"sqlite:///{db_path}",
                                account_options=account_options)
        for i, kind in enumerate(KINDS):
            self.shop.sandboxes[kind] = sandbox_for(
                kind, seed=seed * 7 + i + 1, clock=None if serve_http else clock.now)
            if serve_http:
                self.shop.served[kind] = serve(self.shop.sandboxes[kind].wsgi_app)
        # Undocumented: whether Etsy puts a cancelled sale's units back. Odd seeds say it
        # does, even ones that it does not (the sandbox's default), so every range runs
        # both; by parity, not the RNG, so a seed replays as it did before the switch.
        etsy: Any = self.shop.sandboxes["etsy"]
        etsy.restock_on_cancel = etsy_restocks(seed)
        self.store_fresh_tokens("etsy")
        self.pages: list[tuple[int, int]] = []  # (after id, last id) of each orders page
        self.app: app_mod.App | None = None
        self.runner: Runner | None = None
        self.builds = 0

    @property
    def sandboxes(self) -> dict[str, Sandbox]:
        return self.shop.sandboxes

    def store_fresh_tokens(self, kind: str) -> None:
        """What `oneshop auth` does after the seller re-authorises: a new token pair."""
        tokens = self.sandboxes[kind].issue_tokens()
        if tokens is None:
            return
        assert self.shop.database_url is not None
        with app_mod.open_ledger(self.shop.database_url, check_schema=False) as ledger:
            ledger.token_store(kind, self.dir).save(tokens)

    def start(self) -> Runner:
        """Build the App on the ledger (a process start)."""
        transports: dict[str, httpx.BaseTransport] = {
            k: SimTransport(k, s.transport(), self.injector) for k, s in self.sandboxes.items()}
        # No ledger lock: the real-process simulation reads through this App while the
        # `oneshop run` it spawned holds the lock.
        self.app = app_mod.build(self.shop.config(), transports=transports,
                                 clock=self.clock.now, sleep=self.clock.sleep,
                                 check_schema=False, hold_ledger=False)
        self.app.engine.observer = PageTracer(self.app.sessions, self.pages)
        self.runner = Runner(self.app)
        self.builds += 1
        return self.runner

    def crash(self) -> Runner:
        """Drop the App without a goodbye and start a new one on the same ledger."""
        if self.app is not None:
            self.app.db.dispose()
        self.app = None
        return self.start()

    def close(self) -> None:
        if self.app is not None:
            self.app.close()
        self.shop.close()
