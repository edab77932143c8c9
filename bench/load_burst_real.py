"""A burst against the real `oneshop run` process, in real time: the three sandboxes on
loopback with their rate limits enforced (Etsy 10/s and 10,000/day, Shopify's cost
bucket of 2,000 points restoring 100/s, Gumroad paced by the connector), sales arriving
at a steady rate, every account polled every 60 s by the service's own scheduler.

`bench/load_burst.py` plays the same burst in-process on a virtual clock, fast, but runs
the three channels' polls one after another; the service runs them side by side (one
scheduler thread each), so only a real process in real time shows whether it keeps up.
Nothing is scaled: a 10,000-sales hour takes an hour (`--minutes 10` keeps the rate and
stops after 10 minutes).

Prints sales handled, the lag from a sale to its booking in the ledger (peak, p99, mean;
target under two poll intervals), the service's peak RSS, requests per channel against
its budget, and the simulation's invariants once the service is quiet.

    PYTHONPATH=. python bench/load_burst_real.py [--sales-per-hour 10000] [--minutes 60]
        [--skus 300]
"""

from __future__ import annotations

import argparse
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from oneshop.ledger import models as m
from oneshop.testing import VirtualClock
from sim.check import check
from sim.model import Sale, Truth
from sim.real import spawn_service, tear_down
from sim.scenario import START, take_over
from sim.world import World

POLL_S = 60.0
GUMROAD_RPS = 10.0  # Gumroad documents no limit; the connector paces itself
QUIET_S = 2.5 * POLL_S  # no movement and no push for this long: quiet
QUIET_MAX_S = 5 * 60.0


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Burst:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args, self.dir = args, workdir
        self.rng = random.Random(args.seed)
        self.truth = Truth(reserve=0, cap=None)
        self.world = World(args.seed, workdir=workdir, clock=VirtualClock(START),
                           trace=lambda _line: None, serve_http=True,
                           account_options={"reconcile_seconds": 3600,
                                            "discover_seconds": 6 * 3600})
        self.world.shop.settings_overrides = {"gumroad": {"requests_per_second": GUMROAD_RPS}}
        self.log_path = workdir / "service.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.sold_at: dict[tuple[str, str], float] = {}
        self.lags: list[float] = []

    def seed_catalog(self) -> None:
        sales = self.args.sales_per_hour * self.args.minutes / 60
        per_sku = int(sales * 2 // self.args.skus) + 1  # most sales find stock
        for i in range(self.args.skus):
            sku = f"SKU-{i:05d}"
            self.truth.listings[sku] = self.world.shop.seed(sku, per_sku)
            self.truth.initial[sku] = per_sku
        self.truth.secrets.update(str(v) for k in self.world.sandboxes
                                  for v in self.world.shop.settings(k).values())

    def count(self, model: Any, *where: Any) -> int:
        assert self.world.app is not None
        with self.world.app.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    def wait_bound(self) -> None:
        want = sum(len(v) for v in self.truth.listings.values())
        deadline = time.monotonic() + 600
        while self.count(m.Binding, m.Binding.sku_id.is_not(None)) < want:
            if time.monotonic() > deadline:
                raise SystemExit("the catalog was not bound within 10 minutes")
            time.sleep(1)

    def collect_bookings(self) -> None:
        """Lag of every order booked since the last look: recorded_at minus sale time."""
        assert self.world.app is not None
        with self.world.app.sessions() as s:
            rows = s.execute(select(m.Order.account, m.Order.external_id, m.Order.recorded_at)
                             .where(m.Order.id > self.seen_order_id)
                             .order_by(m.Order.id)).all()
            top = s.scalar(select(func.max(m.Order.id)))
        self.seen_order_id = int(top or self.seen_order_id)
        for account, external_id, recorded_at in rows:
            sold = self.sold_at.pop((str(account), str(external_id)), None)
            if sold is not None:
                self.lags.append(recorded_at.replace(tzinfo=UTC).timestamp() - sold)

    def sell_for(self, seconds: float) -> tuple[int, int]:
        kinds, skus = sorted(self.world.sandboxes), sorted(self.truth.listings)
        gap = 3600 / self.args.sales_per_hour
        start = time.time()
        sold = refused = 0
        next_look = start + 1
        n = 0
        while (due := start + n * gap) < start + seconds:
            time.sleep(max(0.0, due - time.time()))
            n += 1
            kind, sku = self.rng.choice(kinds), self.rng.choice(skus)
            sb: Any = self.world.sandboxes[kind]
            try:
                order = str(sb.sell(self.truth.listings[sku][kind], 1))
            except ValueError:
                refused += 1
                continue
            self.sold_at[kind, order] = time.time()
            self.truth.sales.append(Sale(kind=kind, order_id=order, sku=sku, quantity=1,
                                         step=0, raced=True))
            sold += 1
            if time.time() >= next_look:
                self.collect_bookings()
                next_look = time.time() + 1
        return sold, refused

    def wait_quiet(self) -> bool:
        """Until every sale is booked and nothing moved or was pushed for QUIET_S."""
        last, since = None, time.monotonic()
        deadline = since + QUIET_MAX_S
        while time.monotonic() < deadline:
            self.collect_bookings()
            now = (self.count(m.Movement), self.count(m.Push))
            if now != last:
                last, since = now, time.monotonic()
            elif not self.sold_at and time.monotonic() - since >= QUIET_S:
                return True
            time.sleep(1)
        return False

    def run(self) -> int:
        self.seed_catalog()
        # An App in this process, to take the shop over (`oneshop adopt --min`: the
        # service refuses to run before) and then to read the ledger.
        take_over(self.world.start())
        for sb in self.world.sandboxes.values():
            sb.requests = 0
        self.proc = spawn_service(self.world, self.log_path, poll_seconds=POLL_S)
        self.wait_bound()
        self.seen_order_id = 0
        self.collect_bookings()
        before = {k: sb.requests for k, sb in self.world.sandboxes.items()}
        started = time.monotonic()
        sold, refused = self.sell_for(self.args.minutes * 60)
        selling_s = time.monotonic() - started
        booked_by = time.monotonic() + QUIET_MAX_S
        while self.sold_at and time.monotonic() < booked_by:
            self.collect_bookings()
            time.sleep(1)
        print(f"every sale booked {time.monotonic() - started - selling_s:.0f} s after the "
              f"last one" if not self.sold_at else f"{len(self.sold_at)} sale(s) unbooked",
              flush=True)
        quiet = self.wait_quiet()
        rss_mb = _peak_rss_mb(self.proc.pid)
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        violations = check(self.world, self.truth, self.log_path.read_text(errors="replace"))
        if not quiet:
            violations.insert(0, f"still pushing {QUIET_MAX_S / 60:g} min after the burst")
        requests = {k: sb.requests - before[k] for k, sb in self.world.sandboxes.items()}
        lags = sorted(self.lags)
        p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))] if lags else float("nan")
        print(f"burst: {sold} sales ({refused} refused: sold out) in {selling_s / 60:.1f} min "
              f"= {sold / selling_s:.2f} sales/s ({self.args.sales_per_hour:,}/h)")
        print(f"lag sale -> booked: peak {max(lags, default=0):.0f} s, p99 {p99:.0f} s, mean "
              f"{sum(lags) / max(1, len(lags)):.0f} s (poll every {POLL_S:.0f} s; "
              f"target under {2 * POLL_S:.0f} s)")
        print(f"service peak RSS {rss_mb:.0f} MB; exit code on SIGTERM {code}")
        hours = (time.monotonic() - started) / 3600
        etsy: Any = self.world.sandboxes["etsy"]
        print(f"etsy: {requests['etsy']} requests in {hours:.2f} h (budget "
              f"{etsy.limiter.per_day}/day, {etsy.limiter.per_second}/s enforced by the sandbox)")
        print(f"shopify: {requests['shopify']} requests (cost bucket enforced by the sandbox)")
        print(f"gumroad: {requests['gumroad']} requests (paced at {GUMROAD_RPS:g}/s)")
        print(f"invariants: {len(violations)} violation(s)")
        for v in violations[:20]:
            print(f"  ! {v}")
        ok = not violations and bool(lags) and lags[-1] < 2 * POLL_S and code == 0
        return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sales-per-hour", type=int, default=10_000)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--skus", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    burst = Burst(args, Path(tempfile.mkdtemp(prefix="oneshop-burst-real-")))
    try:
        return burst.run()
    finally:
        tear_down(burst.proc, burst.world)


if __name__ == "__main__":
    sys.exit(main())
