"""`oneshop run`: the Daemon owns the schedule (oneshop.schedule), the current jobs
(a `Runner`, replaced whole by a reload), the ledger watch, signals, and the exit when
the ledger stays unavailable.

Signals only set flags or stop the scheduler; the reload a SIGHUP asks for runs in the
next housekeeping turn, on a worker thread, so a slow reload never blocks a signal."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

import structlog

from oneshop import operate, webhook_server
from oneshop.app import App
from oneshop.ledgerwatch import UNAVAILABLE, LedgerWatch
from oneshop.notify import Notifier, watchdog_interval_s
from oneshop.schedule import Schedule
from oneshop.service import Runner, resume_account

log = structlog.get_logger("oneshop.service")
RELOAD_WAIT_S = 10.0  # the old jobs get this long to finish before a reload replaces them
STOP_WAIT_S = 9.0  # and this long at a stop (systemd's TimeoutStopSec is longer)


class Daemon:
    """The running service: one App and its Runner at a time, a schedule, a watch."""

    def __init__(self, app_factory: Callable[[], App], *,
                 notifier: Notifier | None = None) -> None:
        self.app_factory = app_factory
        self.notifier = notifier or Notifier.from_env()
        first = app_factory()
        self.watch = LedgerWatch(first.config.database_url, first.config.state_dir,
                                 fail_exit_s=first.config.file.service.ledger_fail_exit_s)
        self.runner = Runner(first, self.watch)
        self.schedule = Schedule()
        self.exit_code = 0
        self.reload_asked = False  # set by SIGHUP, acted on by housekeeping
        self._stopped = threading.Event()

    def run(self) -> int:
        """Run every account's jobs until SIGTERM/SIGINT; SIGHUP reloads the config.

        Returns 1 when the ledger failed for `ledger_fail_exit_s` (systemd restarts it)."""
        self._install_signals()
        threading.Thread(target=self._exit_when_ledger_dead, name="ledger-exit",
                         daemon=True).start()
        self.schedule.every(min(5.0, watchdog_interval_s()), self._housekeeping)
        self.schedule.plan(self.runner)
        hooks = webhook_server.start(self.runner.app.config, self.schedule.bring_forward)
        stop_extras = operate.start(lambda: self.runner.app)
        log.info("service.started", accounts=sorted(self.runner.app.accounts.connectors))
        self.notifier.send("READY=1")
        self.schedule.run()
        if hooks is not None:
            hooks.close()
        # Jobs waiting for their account count too: none may start once the clients close.
        self.runner.close(STOP_WAIT_S)
        self.runner.app.close()
        stop_extras()
        self.watch.close()
        log.info("service.stopped", **({"exit_code": self.exit_code} if self.exit_code else {}))
        return self.exit_code

    def stop(self) -> None:
        self._stopped.set()
        self.notifier.send("STOPPING=1")
        self.runner.stop_starting()
        self.schedule.shutdown()

    # -- housekeeping --------------------------------------------------------------------

    def _housekeeping(self) -> None:
        self.notifier.send("WATCHDOG=1")
        if self.reload_asked:
            self.reload_asked = False
            self._reload()
            return
        try:
            self.runner.check_stale()
        except UNAVAILABLE as exc:
            self.watch.failed(exc)

    def _reload(self) -> None:
        """A new App from the config, its accounts un-paused; the old one's jobs finish."""
        try:
            new = Runner(self.app_factory(), self.watch)
        except Exception as exc:
            log.error("config.reload_failed", error=str(exc))
            return
        for name in new.app.accounts.connectors:
            resume_account(new.app, name)
        old = self.runner
        old.close(RELOAD_WAIT_S)
        self.runner = new
        self.schedule.plan(new)
        old.app.close()
        log.info("config.reloaded", accounts=sorted(new.app.accounts.connectors))

    def _exit_when_ledger_dead(self) -> None:
        """Its own thread, not a scheduled job: jobs stuck on a locked ledger can take
        every worker of the scheduler's pool."""
        while not self._stopped.wait(1.0):
            if self.watch.should_exit():
                log.critical("service.exiting", why="the ledger stayed unavailable",
                             after_s=self.watch.fail_exit_s)
                self.exit_code = 1
                self.stop()
                return

    # -- signals -------------------------------------------------------------------------

    def _install_signals(self) -> None:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)

    def _on_stop(self, signum: int, _frame: Any) -> None:
        log.info("service.stopping", signal=signal.Signals(signum).name)
        self.stop()

    def _on_hup(self, _signum: int, _frame: Any) -> None:
        self.reload_asked = True


def serve(app_factory: Callable[[], App], *, notifier: Notifier | None = None) -> int:
    """`oneshop run`: the Daemon on apps built by `app_factory` (called again at reloads)."""
    return Daemon(app_factory, notifier=notifier).run()
