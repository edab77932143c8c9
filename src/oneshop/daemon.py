"""`oneshop run`: the scheduler around the Runner (oneshop.service), signals, reloads,
and the exit when the ledger stays unavailable."""

from __future__ import annotations

import random
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from oneshop import operate
from oneshop.app import App
from oneshop.ledgerwatch import UNAVAILABLE, LedgerWatch
from oneshop.notify import Notifier, watchdog_interval_s
from oneshop.service import SCAN_RETRY_S, Runner, resume_account

log = structlog.get_logger("oneshop.service")


def _start_webhooks(app: App, scheduler: Any) -> Any:
    """Serve the webhooks receiver when configured; a delivery brings a pull forward."""
    from oneshop.webhooks import Receiver, endpoints_from
    from oneshop.wsgi_server import serve as serve_wsgi

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
        except UNAVAILABLE as exc:
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
        holder["runner"].stop_starting()
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
