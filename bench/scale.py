"""Scale: N SKUs (default 100,000) bound across the three sandboxes, in-process with a
virtual clock. Prints the initial reconcile's wall time and the process's peak RSS, the
requests an idle cycle costs per channel (target 1) and engine CPU time per idle cycle.

    .venv/bin/python bench/scale.py [--skus 100000]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from oneshop import logs
from oneshop.service import Runner
from oneshop.testing import VirtualClock
from oneshop.testing.shop import KINDS, SandboxShop


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skus", type=int, default=100_000)
    args = ap.parse_args()
    logs.configure(level="warning")
    clock = VirtualClock()
    with tempfile.TemporaryDirectory() as tmp:
        shop = SandboxShop(state_dir=Path(tmp), clock=clock.now,
                           settings_overrides={"gumroad": {"requests_per_second": 50.0}})
        started = time.perf_counter()
        for i in range(args.skus):
            shop.seed(f"S{i:06d}", 1 + i % 5)
        seeded_s = time.perf_counter() - started
        rss_sandboxes = peak_rss_mb()
        shop.prepare_ledger()
        app = shop.build_app(clock=clock.now, sleep=clock.sleep)
        runner = Runner(app)
        started = time.perf_counter()
        for kind in KINDS:
            t0 = time.perf_counter()
            assert runner.reconcile(kind, link=True), kind
            print(f"  initial reconcile of {kind}: {time.perf_counter() - t0:.1f} s")
        reconcile_s = time.perf_counter() - started
        for kind in KINDS:
            clock.advance(60)
            assert runner.poll(kind)
        before = {k: s.requests for k, s in shop.sandboxes.items()}
        cpu0, wall0 = time.process_time(), time.perf_counter()
        cycles = 3
        for _ in range(cycles):
            for kind in KINDS:
                clock.advance(60)
                assert runner.poll(kind)
        cpu = (time.process_time() - cpu0) / cycles
        wall = (time.perf_counter() - wall0) / cycles
        per_channel = {k: (shop.sandboxes[k].requests - before[k]) / cycles for k in KINDS}
        app.close()
        shop.close()
    print(f"{args.skus:,} SKUs x 3 channels (sandboxes seeded in {seeded_s:.0f} s, "
          f"{rss_sandboxes:.0f} MB with the sandboxes alone)")
    print(f"initial reconcile (discover + link, all three): {reconcile_s:.1f} s wall; "
          f"peak RSS of the process (sandboxes included) {peak_rss_mb():.0f} MB")
    print("idle cycle: requests per channel " + ", ".join(
        f"{k} {v:g}" for k, v in per_channel.items()) + " (target 1 each); "
          f"CPU {cpu:.3f} s, wall {wall:.3f} s per idle cycle of all three channels")


if __name__ == "__main__":
    main()
