"""One seed: build the world, play a random scenario against the real engine on a virtual
clock (with crashes), stop the faults, run until quiet, then check the invariants."""

from __future__ import annotations

import io
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from oneshop import logs
from oneshop.ledger import models as m
from oneshop.testing import VirtualClock
from sim.actions import Actions
from sim.bundles import BundleActions
from sim.check import check
from sim.listings import IGNORE, ListingsPlay
from sim.model import Truth, stock_models_in
from sim.world import Crash, World, etsy_restocks

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POLL_S = 60.0
RECONCILE_S = 300.0
QUIET_ROUNDS_MAX = 10
# Etsy never moves a receipt's last_modified on cancellation; the connector rescans
# recent receipts every 900 s, so a quiet round must span more than that.
QUIET_ROUND_S = 1000.0


@dataclass(slots=True, kw_only=True)
class Result:
    seed: int
    violations: list[str]
    trace: list[str]
    steps: int = 0
    sales: int = 0
    crashes: int = 0
    seconds: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.violations

    def report(self) -> str:
        lines = [f"seed {self.seed}: {len(self.violations)} violation(s)"]
        lines += [f"  ! {v}" for v in self.violations]
        lines.append(f"  trace (re-run: python -m sim --seed {self.seed}):")
        lines += [f"    {t}" for t in self.trace]
        return "\n".join(lines)


class Sim:
    def __init__(self, seed: int, workdir: Path) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        random.seed(seed)  # the connectors' retry jitter draws from it
        self.clock = VirtualClock(START)
        self.trace_lines: list[str] = []
        self.truth = Truth(reserve=self.rng.choice([0, 0, 0, 1]),
                           cap=self.rng.choice([None, None, None, 2]))
        options: dict[str, Any] = {"poll_seconds": POLL_S, "reserve": self.truth.reserve,
                                   "ignore": IGNORE}
        if self.truth.cap is not None:
            options["cap"] = self.truth.cap
        self.world = World(seed, workdir=workdir, clock=self.clock, trace=self.trace,
                           account_options=options)
        self.world.shop.settings_overrides = {"shopify": {"page_size": 3}}
        self.act = Actions(self.world, self.truth, self.rng, self.trace)
        self.kits = BundleActions(self.act, seed)
        self.listings = ListingsPlay(seed, self.world, self.truth, self.trace)
        self.crashes = 0
        self.log = io.StringIO()

    def trace(self, line: str) -> None:
        elapsed = int((self.clock.now() - START).total_seconds())
        self.trace_lines.append(f"t+{elapsed}s {line}")

    # -- running the service ---------------------------------------------------------------

    def call(self, what: str, fn: Callable[[], Any]) -> Any:
        """Run one service job; a crash drops the App and a new one starts on the ledger."""
        try:
            return fn()
        except Crash:
            self.crashes += 1
            self.world.crash()
            self.trace(f"process restarted after a crash during {what}")
            return None

    def poll(self, kind: str) -> Any:
        calm = self.act.calm(kind)
        ok = self.call(f"poll {kind}", lambda: self._runner().poll(kind))
        if ok and calm and self.act.calm(kind):
            # Its own pull ended by pushing everything out of step, with nothing failing.
            self.act.disturbed.discard(kind)
        return ok

    def reconcile(self, kind: str, link: bool = False) -> Any:
        return self.call(f"reconcile {kind}",
                         lambda: self._runner().reconcile(kind, link=link))

    def _runner(self) -> Any:
        assert self.world.runner is not None
        return self.world.runner

    # -- the scenario ------------------------------------------------------------------------

    def run(self) -> Result:
        started = time.perf_counter()
        self.act.seed_catalog()
        self.kits.seed()
        self.listings.seed()
        if etsy_restocks(self.seed):
            self.trace("etsy puts cancelled units back (restock_on_cancel)")
        self.act.collect_secrets()
        take_over(self.world.start())
        for kind in sorted(self.world.sandboxes):
            self.reconcile(kind, link=True)
        steps = self.rng.randint(15, 40)
        next_poll = {k: self.clock.now().timestamp() + self.rng.uniform(0, POLL_S)
                     for k in sorted(self.world.sandboxes)}
        next_reconcile = self.clock.now().timestamp() + RECONCILE_S
        for step in range(steps):
            self.act.step = step
            self.clock.advance(self.rng.choice([1, 5, 10, 20, 40]))
            self._event()
            self.kits.maybe_sell()
            self.listings.event(step, self.call)
            now = self.clock.now().timestamp()
            for kind, due in sorted(next_poll.items()):
                if now >= due:
                    self.poll(kind)
                    next_poll[kind] = now + POLL_S
            if now >= next_reconcile:
                for kind in sorted(self.world.sandboxes):
                    self.reconcile(kind)
                next_reconcile = now + RECONCILE_S
            self.act.collect_secrets()
        self.listings.link(self.call)
        self.quiesce()
        self.act.collect_secrets()
        violations = list(self.truth.violations)
        assert self.world.app is not None
        violations += check(self.world, self.truth, self.log.getvalue())
        with self.world.app.sessions() as s:
            violations += self.listings.check(s)
        return Result(seed=self.seed, violations=violations, trace=self.trace_lines,
                      steps=steps, sales=len(self.truth.sales), crashes=self.crashes,
                      seconds=time.perf_counter() - started)

    def _event(self) -> None:
        a = self.act
        if stock_models_in(self.seed) and self.rng.random() < 0.12:
            a.sell_unlimited()
            return
        roll = self.rng.random()
        if roll < 0.35:
            sale = a.sell()
            if sale is not None and self.rng.random() < 0.3:
                self._webhook(sale.kind)
        elif roll < 0.45:
            a.race_last_unit()
        elif roll < 0.53:
            a.cancel()
        elif roll < 0.60:
            a.hand_edit()
        elif roll < 0.71:
            a.fault()
        elif roll < 0.75:
            a.race_write()
        elif roll < 0.82:
            a.arm_crash()
        elif roll < 0.85:
            a.revoke()
        elif roll < 0.88:
            a.expire_etsy_tokens()
        elif roll < 0.91:
            a.malformed()
        elif roll < 0.96 and a.revoked:
            a.reauthorise(self.rng.choice(sorted(a.revoked)))
        elif a.revoked or self._paused():
            for kind in sorted(a.revoked | self._paused()):
                a.reauthorise(kind)

    def _webhook(self, kind: str) -> None:
        """A webhook only brings the channel's pull forward: delivered once, twice, never."""
        times = self.rng.choice([0, 1, 2])
        self.trace(f"webhook for {kind} delivered {times}x")
        for _ in range(times):
            self.poll(kind)

    def _paused(self) -> set[str]:
        assert self.world.app is not None
        with self.world.app.sessions() as s:
            return set(s.scalars(select(m.AccountState.account)
                                 .where(m.AccountState.paused.is_(True))))

    def quiesce(self) -> None:
        """Faults stop, credentials are fixed, and the service runs until nothing moves."""
        self.act.clear_faults()
        self.trace("faults stop; run until quiet")
        for kind in sorted(self.act.revoked | self._paused()):
            self.act.reauthorise(kind)
        calm = 0
        for _ in range(QUIET_ROUNDS_MAX):
            self.clock.advance(QUIET_ROUND_S)
            before = self._activity()
            for kind in sorted(self.world.sandboxes):
                self.reconcile(kind)  # a pull, its pushes, then a catalog scan
            for kind in sorted(self.world.sandboxes):
                self.poll(kind)
            # A hand edit is folded in on its second sighting: two calm rounds in a row.
            calm = calm + 1 if self._activity() == before and not self._paused() else 0
            if calm == 2:
                return
            for kind in sorted(self._paused()):
                self.act.reauthorise(kind)
        self.truth.violations.append(f"not quiet after {QUIET_ROUNDS_MAX} rounds "
                                     f"(movements, pushes: {self._activity()})")

    def _activity(self) -> tuple[int, int]:
        assert self.world.app is not None
        with self.world.app.sessions() as s:
            return (int(s.scalar(select(func.count()).select_from(m.Movement)) or 0),
                    int(s.scalar(select(func.count()).select_from(m.Push)) or 0))


def run_seed(seed: int, *, workdir: Path | None = None) -> Result:
    """Play one seed in a scratch directory; deterministic for a given seed."""
    own = workdir is None
    workdir = workdir or Path(tempfile.mkdtemp(prefix=f"oneshop-sim-{seed}-"))
    sim = Sim(seed, workdir)
    logs.configure(level="info", fmt="json", stream=sim.log,
                   secrets=_config_secrets(sim.world))
    try:
        return sim.run()
    finally:
        sim.world.close()
        if own:
            shutil.rmtree(workdir, ignore_errors=True)


def _config_secrets(world: World) -> list[str]:
    """What `oneshop run` hands the redactor: the secrets in the config."""
    from oneshop.protocols import secret_values

    config = world.shop.config()
    return [v for account in config.accounts.values()
            for v in secret_values(account.settings).values()]


def take_over(runner: Any) -> None:
    """The seller's `oneshop adopt --min --yes`: the counts the channels show now, and a
    first push that may zero what the reserve leaves at 0 (the seller chose it)."""
    from oneshop.adopt import adopt_with
    from oneshop.guard import release
    from oneshop.ledger.db import transaction

    adopt_with(runner.app, source=None, force=False)
    with transaction(runner.app.sessions) as s:
        for name in runner.app.accounts.connectors:
            release(s, name)
