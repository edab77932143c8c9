"""The jobs around the engine, shared by `run` (the Daemon runs them on its Schedule,
oneshop.daemon and oneshop.schedule) and `sync --once` (which runs them in turn).

A job passes the guard (`JobGuard`: the account is free, not paused, the service not
stopping), then the coordinator (oneshop.coordinator), which alone decides what its
outcome means for the account's state and the log.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import structlog

from oneshop import alerts, conditions
from oneshop.app import App
from oneshop.coordinator import Coordinator, JobKind
from oneshop.ledger import account_state
from oneshop.ledger.db import transaction
from oneshop.ledgerwatch import UNAVAILABLE, LedgerWatch

log = structlog.get_logger("oneshop.service")
POLL_LOCK_WAIT_S = 30.0  # a poll waits this long for its account before skipping a turn


class JobGuard:
    """Lets a job run only while its account is free and the service is not stopping.

    A job waiting for its account counts as running, so a stop waits for it; once the
    guard is closed (stopping, reloaded) no job starts any more."""

    def __init__(self, app: App, watch: LedgerWatch) -> None:
        self.app = app
        self.watch = watch
        self.running = 0
        self.closed = False
        self._cond = threading.Condition()

    def run(self, account: str, kind: JobKind, job: Callable[[], bool], *,
            wait_s: float = 0.0, even_paused: bool = False) -> bool:
        """`job()` once the account is ours; False when it did not run (or failed)."""
        with self._cond:
            if self.closed:
                return False
            self.running += 1
        try:
            with self.app.accounts.hold(account, wait_s=wait_s) as owned:
                if not owned:
                    log.debug("job.skipped", account=account, job=kind.value,
                              why="busy elsewhere")
                    return False
                if self.closed or (not even_paused and
                                   _paused(self.app, account)):
                    return False
                return job()
        except UNAVAILABLE as exc:  # the ledger failed, not the channel
            self.watch.failed(exc)
            return False
        finally:
            with self._cond:
                self.running -= 1
                self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.closed = True

    def wait_idle(self, timeout_s: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.running == 0, timeout=timeout_s)


class Runner:
    """An App's account jobs: each passes the guard, then the coordinator."""

    def __init__(self, app: App, watch: LedgerWatch | None = None) -> None:
        self.app = app
        self.watch = watch or LedgerWatch(app.config.database_url, None,
                                          fail_exit_s=float("inf"))
        self.guard = JobGuard(app, self.watch)
        self.coordinator = Coordinator(app, self.watch)
        self.started_at = app.clock()
        alerts.configure(app.config.file.service.alert_reminder_s,
                         {name: alerts.credential_advice(app.config, name)
                          for name in app.config.accounts})

    @property
    def closed(self) -> bool:
        return self.guard.closed

    def guarded(self, account: str, job: JobKind | str, fn: Callable[[], Any],
                wait_s: float = 0.0, *, even_paused: bool = False) -> bool:
        """Run one job for one account; True when it ran and succeeded.

        wait_s: how long to wait for the account while another job holds it."""
        kind = JobKind(job)
        body = partial(self.coordinator.run, account, kind, fn,
                       stopping=lambda: self.guard.closed)
        return self.guard.run(account, kind, body, wait_s=wait_s, even_paused=even_paused)

    # -- the jobs ------------------------------------------------------------------------

    def poll(self, account: str) -> bool:
        if not self._budget_allows(account):
            return False
        # Other accounts' pulls push into this one, holding it for seconds at a time;
        # under a stream of sales a poll that gave up at once would rarely run at all.
        wait_s = min(POLL_LOCK_WAIT_S, self.app.config.accounts[account].config.poll_seconds)
        return self.guarded(account, JobKind.ORDERS,
                            partial(self.app.engine.pull_orders, account), wait_s=wait_s)

    def reconcile(self, account: str, *, link: bool = False) -> bool:
        def job() -> Any:
            self.app.engine.pull_orders(account)
            return {"listings": self.app.engine.scan_catalog(account, link=link)}

        return self.guarded(account, JobKind.DISCOVER if link else JobKind.RECONCILE, job)

    def scan(self, account: str, kind: JobKind) -> bool:
        """A discovery or a reconcile, by its kind."""
        return self.reconcile(account, link=kind is JobKind.DISCOVER)

    def retry_paused(self) -> None:
        """On start, try each paused account once: working credentials resume it; refused
        ones keep it paused, and `status`/`health` say why (its last error)."""
        for name in self.app.accounts.connectors:
            if self.closed:
                return
            if _paused(self.app, name):
                log.info("account.retrying", account=name, why="paused before this start")
                if self.guarded(name, JobKind.ORDERS,
                                partial(self.app.engine.pull_orders, name),
                                wait_s=POLL_LOCK_WAIT_S, even_paused=True):
                    resume_account(self.app, name)
                    log.info("account.resumed", account=name)

    def sync_once(self, progress: Callable[[str], None] | None = None) -> bool:
        """Discover (first time), pull and push every account once; True if all went well."""
        ok = True
        for name in self.app.accounts.connectors:
            if progress:
                progress(name)
            if not _scanned(self.app, name):
                ok = self.reconcile(name, link=True) and ok
            ok = self.poll(name) and ok
        return ok

    # -- between jobs --------------------------------------------------------------------

    def _budget_allows(self, account: str) -> bool:
        try:
            return conditions.budget_allows(self.app, account)
        except UNAVAILABLE as exc:
            self.watch.failed(exc)
            return False

    def check_stale(self) -> None:
        # Not a sign of a working ledger: a transaction that changed nothing commits even
        # on a full disk. A job's end, which always writes, is.
        conditions.check_stale(self.app, self.started_at)

    # -- stopping ------------------------------------------------------------------------

    def wait_idle(self, timeout_s: float) -> bool:
        return self.guard.wait_idle(timeout_s)

    def stop_starting(self) -> None:
        """No job starts from now on, and running pulls stop after their current page."""
        self.guard.close()
        self.app.engine.stopping.set()
        self.app.accounts.stopping.set()

    def close(self, timeout_s: float) -> bool:
        """Stop starting jobs; wait for those running or waiting for an account."""
        self.stop_starting()
        return self.wait_idle(timeout_s)


def resume_account(app: App, account: str) -> None:
    """Un-pause (after `oneshop auth` or a reload)."""
    with transaction(app.sessions) as s:
        account_state.resume(s, account)


def _paused(app: App, account: str) -> bool:
    with app.sessions() as s:
        return account_state.is_paused(s, account)


def _scanned(app: App, account: str) -> bool:
    with app.sessions() as s:
        return account_state.scanned(s, account)
