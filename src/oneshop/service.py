"""Jobs around the engine: per-account guards and failure transitions (`oneshop.daemon`
schedules them for `run`; `sync --once` runs them in turn).

One coordinator owns retry and logging policy (as Home Assistant's update coordinator
does): a job that starts failing is logged once, its recovery once, and every run ends
with one summary line.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import traceback
from collections.abc import Callable
from functools import partial
from typing import Any

import structlog
from sqlalchemy import select

from oneshop import alerts, conditions
from oneshop.app import App
from oneshop.errors import AuthError, RetryableError
from oneshop.ledger import models as m
from oneshop.ledger import store
from oneshop.ledger.db import transaction
from oneshop.ledgerwatch import UNAVAILABLE, LedgerWatch

log = structlog.get_logger("oneshop.service")
POLL_LOCK_WAIT_S = 30.0  # a poll waits this long for its account before skipping a turn
SCAN_RETRY_S = 2.0  # first retry of a discovery/reconcile that did not run


class Runner:
    """Runs account jobs with the guard every job needs; shared by `run` and `sync`."""

    def __init__(self, app: App, watch: LedgerWatch | None = None) -> None:
        self.app = app
        self.watch = watch or LedgerWatch(app.config.database_url, None,
                                          fail_exit_s=float("inf"))
        self.failing: set[tuple[str, str]] = set()
        self.running = 0
        self.closed = False
        self._cond = threading.Condition()
        self.started_at = app.clock()
        service = app.config.file.service
        alerts.configure(service.alert_reminder_s,
                         {name: alerts.credential_advice(app.config, name)
                          for name in app.config.accounts})

    # -- the guard -----------------------------------------------------------------------

    def guarded(self, account: str, job: str, fn: Callable[[], Any],
                wait_s: float = 0.0, *, even_paused: bool = False) -> bool:
        """Run one job for one account; True when it ran and succeeded.

        wait_s: how long to wait for the account while another job holds it. A job
        waiting for its account counts as running, so a stop waits for it; once the
        runner is closed (stopping, reloaded) no job starts any more."""
        with self._cond:
            if self.closed:
                return False
            self.running += 1
        try:
            with self.app.accounts.hold(account, wait_s=wait_s) as owned:
                if not owned:
                    log.debug("job.skipped", account=account, job=job, why="busy elsewhere")
                    return False
                if self.closed or (not even_paused and self._paused(account)):
                    return False
                return self._run(account, job, fn)
        except UNAVAILABLE as exc:  # the ledger failed, not the channel
            self.watch.failed(exc)
            return False
        finally:
            with self._cond:
                self.running -= 1
                self._cond.notify_all()

    def _run(self, account: str, job: str, fn: Callable[[], Any]) -> bool:
        started = time.monotonic()
        try:
            result = fn()
        except UNAVAILABLE:
            raise
        except AuthError as exc:
            self._record(account, job, ok=False, error=str(exc), pause=True)
            return False
        except RetryableError as exc:
            self._failed(account, job, str(exc))
            return False
        except Exception as exc:  # a bug: log it once, the next tick resumes
            if self.closed:
                return False  # stopping: a channel's client closed under the job
            self._failed(account, job, f"{type(exc).__name__}: {exc}",
                         tb=traceback.format_exc())
            return False
        finally:
            self._note_budget(account)
        self._succeeded(account, job, result, int((time.monotonic() - started) * 1000))
        return True

    def _paused(self, account: str) -> bool:
        with self.app.sessions() as s:
            state = s.get(m.AccountState, account)
            return bool(state and state.paused)

    def _failed(self, account: str, job: str, error: str, tb: str | None = None) -> None:
        self._record(account, job, ok=False, error=error)
        if (account, job) not in self.failing:
            self.failing.add((account, job))
            log.warning("job.failing", account=account, job=job, error=error,
                        **({"traceback": tb} if tb else {}))

    def _succeeded(self, account: str, job: str, result: Any, ms: int) -> None:
        self._record(account, job, ok=True)
        if (account, job) in self.failing:
            self.failing.discard((account, job))
            log.info("job.recovered", account=account, job=job)
        fields = (dataclasses.asdict(result) if dataclasses.is_dataclass(result)
                  and not isinstance(result, type) else result if isinstance(result, dict)
                  else {"result": result})
        log.info("sync.done", account=account, job=job, ms=ms, **fields)

    def _record(self, account: str, job: str, *, ok: bool, error: str = "",
                pause: bool = False) -> None:
        now = self.app.clock()
        with transaction(self.app.sessions) as s:
            state = store.account_state(s, account)
            state.last_attempt_at = now
            if ok:
                if job == "orders":
                    state.last_success_at = now
                    alerts.resolve(s, "channel_stale", now=now, account=account)
                state.consecutive_failures = 0
                state.last_error = ""
                if not state.paused:  # a push in this very job may have just paused it
                    alerts.resolve(s, "auth_failed", now=now, account=account)
            else:
                state.consecutive_failures += 1
                state.last_error = error[:2000]
                state.paused = state.paused or pause
            if pause:
                alerts.raise_alert(s, "auth_failed", "critical", "credentials refused; the "
                                   "account is paused until they work again", now=now,
                                   account=account, fields={"job": job, "error": error,
                                                            "action": alerts.advice(account)})
        self.watch.succeeded()

    def _note_budget(self, account: str) -> None:
        conditions.note_budget(self.app, account)

    def _budget_allows(self, account: str) -> bool:
        try:
            return conditions.budget_allows(self.app, account)
        except UNAVAILABLE as exc:
            self.watch.failed(exc)
            return False

    def check_stale(self) -> None:
        # Not a sign of a working ledger: a transaction that changed nothing commits even
        # on a full disk. `_record`, which always writes, is.
        conditions.check_stale(self.app, self.started_at)

    # -- jobs ----------------------------------------------------------------------------

    def poll(self, account: str) -> bool:
        if not self._budget_allows(account):
            return False
        # Other accounts' pulls push into this one, holding it for seconds at a time;
        # under a stream of sales a poll that gave up at once would rarely run at all.
        wait_s = min(POLL_LOCK_WAIT_S, self.app.config.accounts[account].config.poll_seconds)
        return self.guarded(account, "orders", lambda: self.app.engine.pull_orders(account),
                            wait_s=wait_s)

    def reconcile(self, account: str, *, link: bool = False) -> bool:
        def job() -> Any:
            self.app.engine.pull_orders(account)
            return {"listings": self.app.engine.scan_catalog(account, link=link)}

        return self.guarded(account, "discover" if link else "reconcile", job)

    def retry_paused(self) -> None:
        """On start, try each paused account once: working credentials resume it; refused
        ones keep it paused, and `status`/`health` say why (its last error)."""
        for name in self.app.accounts.connectors:
            if self.closed:
                return
            if self._paused(name):
                log.info("account.retrying", account=name, why="paused before this start")
                if self.guarded(name, "orders", partial(self.app.engine.pull_orders, name),
                                wait_s=POLL_LOCK_WAIT_S, even_paused=True):
                    resume_account(self.app, name)
                    log.info("account.resumed", account=name)

    def sync_once(self, progress: Callable[[str], None] | None = None) -> bool:
        """Discover (first time), pull and push every account once; True if all went well."""
        ok = True
        for name in self.app.accounts.connectors:
            if progress:
                progress(name)
            with self.app.sessions() as s:
                scanned = s.scalar(select(m.Binding.id).where(m.Binding.account == name)
                                   .limit(1)) is not None
            if not scanned:
                ok = self.reconcile(name, link=True) and ok
            ok = self.poll(name) and ok
        return ok

    def wait_idle(self, timeout_s: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.running == 0, timeout=timeout_s)

    def stop_starting(self) -> None:
        """No job starts from now on, and running pulls stop after their current page."""
        with self._cond:
            self.closed = True
        self.app.engine.stopping.set()
        self.app.accounts.stopping.set()

    def close(self, timeout_s: float) -> bool:
        """Stop starting jobs; wait for those running or waiting for an account."""
        self.stop_starting()
        return self.wait_idle(timeout_s)


def resume_account(app: App, account: str) -> None:
    """Un-pause (after `oneshop auth` or a reload)."""
    resume_account_in(app.sessions, account)


def resume_account_in(sessions: Any, account: str) -> None:
    """Un-pause; the episode of refused credentials ends with the next successful job."""
    with transaction(sessions) as s:
        state = store.account_state(s, account)
        state.paused = False
        state.consecutive_failures = 0
