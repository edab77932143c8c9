"""Jobs around the engine: per-account guards, failure transitions, scheduling, signals.

One coordinator owns retry and logging policy (as Home Assistant's update coordinator
does): a job that starts failing is logged once, its recovery once, and every run ends
with one summary line.
"""

from __future__ import annotations

import dataclasses
import random
import signal
import threading
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from oneshop import alerts, conditions, operate
from oneshop.app import App
from oneshop.errors import AuthError, RetryableError
from oneshop.ledger import models as m
from oneshop.ledger import store
from oneshop.ledger.db import transaction
from oneshop.ledgerwatch import LedgerWatch
from oneshop.notify import Notifier, watchdog_interval_s

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
        except SQLAlchemyError as exc:  # the ledger failed, not the channel
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
        except SQLAlchemyError:
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
        except SQLAlchemyError as exc:
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

    def close(self, timeout_s: float) -> bool:
        """No job starts from now on; wait for those running or waiting for an account."""
        with self._cond:
            self.closed = True
        self.app.engine.stopping.set()
        return self.wait_idle(timeout_s)


def _start_webhooks(app: App, scheduler: Any) -> Any:
    """Serve the webhooks receiver when configured; a delivery brings a pull forward."""
    from oneshop.sandboxkit import serve as serve_wsgi
    from oneshop.webhooks import Receiver, endpoints_from

    hooks = app.config.file.webhooks
    if hooks is None:
        return None

    def trigger(account: str) -> None:
        job = scheduler.get_job(f"{account}:orders")
        if job is not None:
            job.modify(next_run_time=datetime.now(UTC))

    host, _, port = hooks.listen.rpartition(":")
    receiver = Receiver(endpoints_from(app.config), trigger,
                        max_body_bytes=hooks.max_body_bytes)
    served = serve_wsgi(receiver, host=host or "127.0.0.1", port=int(port))
    log.info("webhooks.listening", url=served.url)
    return served


def resume_account(app: App, account: str) -> None:
    """Un-pause (after `oneshop auth` or a reload)."""
    resume_account_in(app.sessions, account)


def resume_account_in(sessions: Any, account: str) -> None:
    """Un-pause; the episode of refused credentials ends with the next successful job."""
    with transaction(sessions) as s:
        state = store.account_state(s, account)
        state.paused = False
        state.consecutive_failures = 0


def serve(app_factory: Callable[[], App], *, notifier: Notifier | None = None) -> int:
    """`oneshop run`: schedule every account's jobs until SIGTERM/SIGINT; SIGHUP reloads.

    Exits 1 when the ledger has failed for `ledger_fail_exit_s` (systemd restarts it)."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    notifier = notifier or Notifier.from_env()
    first = app_factory()
    service = first.config.file.service
    watch = LedgerWatch(first.config.database_url, first.config.state_dir,
                        fail_exit_s=service.ledger_fail_exit_s)
    holder: dict[str, Any] = {"runner": Runner(first, watch), "reload": False, "exit": 0}
    scheduler = BlockingScheduler(timezone=UTC, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
    unsuccessful: dict[str, int] = {}

    def schedule(runner: Runner) -> None:
        unsuccessful.clear()
        for job in scheduler.get_jobs():
            if job.id != "housekeeping":
                job.remove()
        now = datetime.now(UTC)
        scheduler.add_job(runner.retry_paused, "date", run_date=now, id="retry-paused")
        for name, account in runner.app.config.accounts.items():
            if name not in runner.app.accounts.connectors:
                continue
            cfg = account.config
            scheduler.add_job(scan, "interval", args=[runner, name, "discover"],
                              seconds=cfg.discover_seconds, id=f"{name}:discover",
                              next_run_time=now, jitter=max(1, cfg.discover_seconds // 20))
            scheduler.add_job(runner.poll, "interval", args=[name], seconds=cfg.poll_seconds,
                              id=f"{name}:orders", next_run_time=now + timedelta(seconds=1),
                              jitter=max(0.2, cfg.poll_seconds / 20))
            scheduler.add_job(scan, "interval", args=[runner, name, "reconcile"],
                              seconds=cfg.reconcile_seconds, id=f"{name}:reconcile",
                              jitter=max(1, cfg.reconcile_seconds // 20))

    def scan(runner: Runner, name: str, job: str) -> None:
        """Discovery and reconcile run hours apart, so one that did not run (the account
        was busy with another job or instance, or the channel failed) is tried again soon,
        backing off up to its own interval, instead of waiting for its next turn."""
        key = f"{name}:{job}"
        if runner.reconcile(name, link=job == "discover") or runner.closed:
            unsuccessful.pop(key, None)
            return
        cfg = runner.app.config.accounts[name].config
        interval = cfg.discover_seconds if job == "discover" else cfg.reconcile_seconds
        tries = unsuccessful[key] = unsuccessful.get(key, 0) + 1
        delay = min(interval, SCAN_RETRY_S * 2 ** min(tries - 1, 16)) * random.uniform(1, 1.5)
        scheduler.add_job(scan, "date", args=[runner, name, job], id=f"{key}:retry",
                          run_date=datetime.now(UTC) + timedelta(seconds=delay),
                          replace_existing=True)

    stopped = threading.Event()

    def exit_when_ledger_dead() -> None:
        """Its own thread, not a scheduled job: jobs stuck on a locked ledger can take
        every worker of the scheduler's pool."""
        while not stopped.wait(1.0):
            if watch.should_exit():
                log.critical("service.exiting", why="the ledger stayed unavailable",
                             after_s=watch.fail_exit_s)
                holder["exit"] = 1
                stop()
                return

    def housekeeping() -> None:
        notifier.send("WATCHDOG=1")
        runner: Runner = holder["runner"]
        if holder["reload"]:
            holder["reload"] = False
            reload(runner)
            return
        try:
            runner.check_stale()
        except SQLAlchemyError as exc:
            watch.failed(exc)

    def reload(runner: Runner) -> None:
        try:
            new = Runner(app_factory(), watch)
        except Exception as exc:
            log.error("config.reload_failed", error=str(exc))
            return
        for name in new.app.accounts.connectors:
            resume_account(new.app, name)
        runner.close(10)
        holder["runner"] = new
        schedule(new)
        runner.app.close()
        log.info("config.reloaded", accounts=sorted(new.app.accounts.connectors))

    def stop() -> None:
        stopped.set()
        notifier.send("STOPPING=1")
        with holder["runner"]._cond:
            holder["runner"].closed = True
        holder["runner"].app.engine.stopping.set()
        scheduler.shutdown(wait=False)

    def on_stop(signum: int, _frame: Any) -> None:
        log.info("service.stopping", signal=signal.Signals(signum).name)
        stop()

    def on_hup(_signum: int, _frame: Any) -> None:
        holder["reload"] = True

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGHUP, on_hup)
    threading.Thread(target=exit_when_ledger_dead, name="ledger-exit", daemon=True).start()
    scheduler.add_job(housekeeping, "interval", seconds=min(5.0, watchdog_interval_s()),
                      id="housekeeping", next_run_time=datetime.now(UTC))
    schedule(holder["runner"])
    hooks = _start_webhooks(holder["runner"].app, scheduler)
    stop_extras = operate.start(lambda: holder["runner"].app)
    log.info("service.started", accounts=sorted(holder["runner"].app.accounts.connectors))
    notifier.send("READY=1")
    scheduler.start()
    if hooks is not None:
        hooks.close()
    runner = holder["runner"]
    # Jobs waiting for their account count too: none may start once the clients close.
    runner.close(9)
    runner.app.close()
    stop_extras()
    watch.close()
    log.info("service.stopped", **({"exit_code": holder["exit"]} if holder["exit"] else {}))
    return int(holder["exit"])
