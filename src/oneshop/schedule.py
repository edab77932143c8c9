"""When `oneshop run` runs each job: every account's orders, discovery and reconcile at
their intervals (with jitter, so accounts drift apart), the service's housekeeping, and
sooner retries of a discovery or reconcile that did not run."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.blocking import BlockingScheduler

from oneshop import planning
from oneshop.coordinator import JobKind
from oneshop.service import Runner

HOUSEKEEPING = "housekeeping"
RETRY_PAUSED = "retry-paused"
SCAN_RETRY_S = 2.0  # first retry of a discovery/reconcile that did not run
REPLAN_S = planning.REPLAN_S
REPLAN_FIRST_S = 10.0  # the first re-plan, once the first poll has seen the budget
REPLAN_MOVE = 0.05  # an interval that moved less than this share is left running


def job_id(account: str, kind: JobKind) -> str:
    return f"{account}:{kind.value}"


class Schedule:
    """The scheduler's jobs, named by account and JobKind; jobs run in its thread pool."""

    def __init__(self) -> None:
        self.scheduler = BlockingScheduler(timezone=UTC, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
        self._misses: dict[str, int] = {}  # scans that did not run, in a row

    def every(self, seconds: float, fn: Callable[[], None]) -> None:
        """The service's own job (housekeeping), from now on; kept across reloads."""
        self.scheduler.add_job(fn, "interval", seconds=seconds, id=HOUSEKEEPING,
                               next_run_time=datetime.now(UTC))

    def plan(self, runner: Runner) -> None:
        """Replace every account job with `runner`'s (at start and after a reload)."""
        self._misses.clear()
        for job in self.scheduler.get_jobs():
            if job.id != HOUSEKEEPING:
                job.remove()
        now = datetime.now(UTC)
        self.scheduler.add_job(runner.retry_paused, "date", run_date=now, id=RETRY_PAUSED)
        for name, account in runner.app.config.accounts.items():
            if name not in runner.app.accounts.connectors:
                continue
            cfg = account.config
            planned = runner.replan(name)  # None: no daily budget, the configured cadence
            poll_s = planned.poll_s if planned else cfg.poll_seconds
            self._scan_every(runner, name, JobKind.DISCOVER, cfg.discover_seconds, now)
            self.scheduler.add_job(
                runner.poll, "interval", args=[name], seconds=poll_s,
                id=job_id(name, JobKind.ORDERS), next_run_time=now + timedelta(seconds=1),
                jitter=max(0.2, poll_s / 20))
            self._scan_every(runner, name, JobKind.RECONCILE,
                             planned.cycle_s if planned else cfg.reconcile_seconds, None)
            if planning.reader(runner.app, name) is not None:  # planned, or to be
                self.scheduler.add_job(
                    self._replan, "interval", args=[runner, name], seconds=REPLAN_S,
                    id=f"{name}:plan", next_run_time=now + timedelta(seconds=REPLAN_FIRST_S))

    def _scan_every(self, runner: Runner, name: str, kind: JobKind, seconds: float,
                    first: datetime | None) -> None:
        # next_run_time=None would pause the job: leave it out to run after one interval.
        when = {} if first is None else {"next_run_time": first}
        self.scheduler.add_job(self._scan, "interval", args=[runner, name, kind],
                               seconds=seconds, id=job_id(name, kind),
                               jitter=max(1, seconds // 20), **when)

    def _scan(self, runner: Runner, name: str, kind: JobKind) -> None:
        """Discovery and reconcile run hours apart, so one that did not run (the account
        was busy with another job or instance, or the channel failed) is tried again soon,
        backing off up to its own interval, instead of waiting for its next turn."""
        key = job_id(name, kind)
        if runner.scan(name, kind) or runner.closed:
            self._misses.pop(key, None)
            return
        cfg = runner.app.config.accounts[name].config
        interval = cfg.discover_seconds if kind is JobKind.DISCOVER else cfg.reconcile_seconds
        tries = self._misses[key] = self._misses.get(key, 0) + 1
        delay = min(interval, SCAN_RETRY_S * 2 ** min(tries - 1, 16)) * random.uniform(1, 1.5)
        self.scheduler.add_job(self._scan, "date", args=[runner, name, kind],
                               id=f"{key}:retry", replace_existing=True,
                               run_date=datetime.now(UTC) + timedelta(seconds=delay))

    def _replan(self, runner: Runner, name: str) -> None:
        """Follow the budget: a plan whose poll or slice interval moved gets it now."""
        if runner.closed:
            return
        after = runner.replan(name)
        if after is None:
            return
        for kind, new in ((JobKind.ORDERS, after.poll_s), (JobKind.RECONCILE, after.cycle_s)):
            job = self.scheduler.get_job(job_id(name, kind))
            interval = getattr(getattr(job, "trigger", None), "interval", None)
            if job is None or not isinstance(interval, timedelta):
                continue
            old = interval.total_seconds()
            if abs(new - old) > old * REPLAN_MOVE:
                jitter = max(0.2, new / 20) if kind is JobKind.ORDERS else max(1, new // 20)
                job.reschedule("interval", seconds=new, jitter=jitter)

    def bring_forward(self, account: str, kind: JobKind = JobKind.ORDERS) -> None:
        """Run the account's job now instead of at its turn (a webhook delivery)."""
        job = self.scheduler.get_job(job_id(account, kind))
        if job is not None:
            job.modify(next_run_time=datetime.now(UTC))

    def run(self) -> None:
        """Run jobs until `shutdown` (blocks)."""
        self.scheduler.start()

    def shutdown(self) -> None:
        self.scheduler.shutdown(wait=False)
