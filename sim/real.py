"""`--real-process`: the same world and checker around the real `oneshop run`, which is
SIGKILLed at random points and restarted. Slower (wall-clock time), so CI runs a few.

Timing in a real process is not reproducible to the request; a seed fixes the scenario
(catalog, sales, faults, kill points by step), not the interleaving.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from oneshop.ledger import models as m
from oneshop.testing import VirtualClock
from sim.actions import Actions
from sim.check import check
from sim.model import Truth
from sim.scenario import START, Result, take_over
from sim.world import World

POLL_S = 1.0
QUIET_S = 6.0  # no movement and no push for this long: quiet
QUIET_MAX_S = 90.0
FAST: dict[str, dict[str, Any]] = {"gumroad": {"requests_per_second": 50.0},
        "etsy": {"cancellation_rescan_every_s": 1.0},
        "shopify": {"page_size": 3}}


class RealSim:
    def __init__(self, seed: int, workdir: Path) -> None:
        self.seed, self.dir = seed, workdir
        self.rng = random.Random(seed)
        self.started = time.monotonic()
        self.trace_lines: list[str] = []
        self.truth = Truth(reserve=0, cap=None)
        options: dict[str, Any] = {"reconcile_seconds": 2, "discover_seconds": 30}
        self.world = World(seed, workdir=workdir, clock=VirtualClock(START), trace=self.trace,
                           account_options=options, serve_http=True)
        self.world.shop.settings_overrides = FAST
        self.act = Actions(self.world, self.truth, self.rng, self.trace)
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0
        self.log_path = workdir / "service.log"

    def trace(self, line: str) -> None:
        self.trace_lines.append(f"t+{time.monotonic() - self.started:.1f}s {line}")

    def spawn(self) -> None:
        self.proc = spawn_service(self.world, self.log_path, poll_seconds=POLL_S)
        self.trace("service started")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=15)
        self.kills += 1
        self.act.disturbed.update(self.world.sandboxes)
        self.trace("service SIGKILLed")

    def run(self) -> Result:
        self.act.seed_catalog()
        self.act.collect_secrets()
        take_over(self.world.start())  # an App in this process, to take over and read
        self.spawn()
        self._wait_bound()
        for step in range(self.rng.randint(12, 20)):
            self.act.step = step
            time.sleep(self.rng.choice([0.1, 0.3, 0.8, 1.5]))
            self._event()
            self.act.collect_secrets()
        self.act.clear_faults()
        self.trace("faults stop; run until quiet")
        for kind in sorted(self.act.revoked | self._paused()):
            self.act.reauthorise(kind)
        if self.proc is None or self.proc.poll() is not None:
            self.spawn()
        quiet = self._wait_quiet()
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.act.collect_secrets()
        violations = list(self.truth.violations)
        if not quiet:
            violations.append(f"not quiet after {QUIET_MAX_S:g} s")
        violations += check(self.world, self.truth, self.log_path.read_text(errors="replace"))
        return Result(seed=self.seed, violations=violations, trace=self.trace_lines,
                      sales=len(self.truth.sales), crashes=self.kills,
                      seconds=time.monotonic() - self.started)

    def _event(self) -> None:
        roll = self.rng.random()
        a = self.act
        if roll < 0.35:
            a.sell()
        elif roll < 0.45:
            a.race_last_unit()
        elif roll < 0.55:
            a.cancel()
        elif roll < 0.62:
            a.hand_edit()
        elif roll < 0.72:
            self._sandbox_fault()
        elif roll < 0.85:
            self.kill()
            time.sleep(self.rng.choice([0.0, 0.5]))
            self.spawn()
        elif roll < 0.90:
            a.malformed()
        elif roll < 0.95:
            a.revoke()
        else:
            for kind in sorted(a.revoked | self._paused()):
                a.reauthorise(kind)

    def _sandbox_fault(self) -> None:
        kind = self.rng.choice(sorted(self.world.sandboxes))
        status = self.rng.choice([500, 503, 429])
        n = self.rng.randint(1, 3)
        self.world.sandboxes[kind].fail_next(n, status=status, retry_after_s=1.0)
        self.act.disturbed.add(kind)
        self.trace(f"fault {kind} {status} x{n}")

    def _paused(self) -> set[str]:
        assert self.world.app is not None
        with self.world.app.sessions() as s:
            return set(s.scalars(select(m.AccountState.account)
                                 .where(m.AccountState.paused.is_(True))))

    def _activity(self) -> tuple[int, int]:
        assert self.world.app is not None
        with self.world.app.sessions() as s:
            return (int(s.scalar(select(func.count()).select_from(m.Movement)) or 0),
                    int(s.scalar(select(func.count()).select_from(m.Push)) or 0))

    def _wait_bound(self) -> None:
        want = sum(len(v) for v in self.truth.listings.values())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.world.app is not None
            with self.world.app.sessions() as s:
                if int(s.scalar(select(func.count()).select_from(m.Binding)
                                .where(m.Binding.sku_id.is_not(None))) or 0) >= want:
                    return
            time.sleep(0.2)

    def _wait_quiet(self) -> bool:
        deadline = time.monotonic() + QUIET_MAX_S
        last, since = self._activity(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            for kind in sorted(self._paused()):
                self.act.reauthorise(kind)
            now = self._activity()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= QUIET_S:
                return True
        return False


def spawn_service(world: World, log_path: Path, *, poll_seconds: float
                  ) -> subprocess.Popen[bytes]:
    """Start `oneshop run` on the world's sandboxes and ledger, output appended to a log."""
    config = world.dir / "oneshop.toml"
    env = {**os.environ, **world.shop.write_config(config, poll_seconds=poll_seconds)}
    out = open(log_path, "ab")  # noqa: SIM115 - owned by the process
    return subprocess.Popen([sys.executable, "-m", "oneshop.cli", "--config", str(config),
                             "run"], stdout=out, stderr=out, env=env)


def tear_down(proc: subprocess.Popen[bytes] | None, world: World) -> None:
    """Kill the service if it still runs, close the world and remove its directory."""
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait(timeout=15)
    world.close()
    shutil.rmtree(world.dir, ignore_errors=True)


def run_real(seed: int) -> Result:
    sim = RealSim(seed, Path(tempfile.mkdtemp(prefix=f"oneshop-sim-real-{seed}-")))
    try:
        return sim.run()
    finally:
        tear_down(sim.proc, sim.world)
