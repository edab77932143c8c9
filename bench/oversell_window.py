"""Oversell window: from a sale being visible in one sandbox's API to every other channel
showing the new quantity, with the real `oneshop run` process on loopback.

    .venv/bin/python bench/oversell_window.py [--sales 12] [--poll 2] [--latency-ms 50]

Targets (issue 6): median <= interval + 0.5 s by polling; <= 0.5 s with webhooks.

The Etsy-origin row (issue 19.3): a 1,000-listing shop whose Etsy polls are planned from
the daily budget (`poll_seconds` 60 as the upper bound, `min_poll_seconds` 10); sales on
Etsy only, the median window printed against the interval the plan chose (read from
`oneshop status --json`). `--etsy-only` runs that row alone.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from oneshop.testing.shop import KINDS, SandboxShop, wait_for

FAST = {"gumroad": {"requests_per_second": 50.0}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure(sales: int, poll_s: float, latency_s: float, webhooks: bool) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        shop = SandboxShop(state_dir=Path(tmp) / "state", serve_http=True, latency_s=latency_s,
                           settings_overrides=FAST)
        if webhooks:
            shop.enable_webhooks(f"127.0.0.1:{free_port()}")
        ids = {f"W{i}": shop.seed(f"W{i}", 50) for i in range(sales)}
        shop.prepare_ledger(take_over=True)
        config = Path(tmp) / "oneshop.toml"
        env = {**os.environ, **shop.write_config(config, poll_seconds=poll_s)}
        proc = subprocess.Popen([sys.executable, "-m", "oneshop.cli", "--config", str(config),
                                 "run"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=env)
        windows: list[float] = []
        try:
            first = ids["W0"]
            wait_for(lambda: all(shop.sandboxes[k].quantity(first[k]) == 50 for k in KINDS)
                     and _linked(shop, Path(tmp)), timeout_s=60, what="catalog linked")
            time.sleep(poll_s * 2)
            for i in range(sales):
                seller = KINDS[i % 3]
                listing = ids[f"W{i}"]
                # Sales land at random moments relative to the poll schedule.
                time.sleep(poll_s * ((i * 7919) % 13) / 13)
                shop.sandboxes[seller].sell(listing[seller], 1)
                sold_at = time.monotonic()
                others = [k for k in KINDS if k != seller]
                wait_for(lambda listing=listing, others=others: all(
                    shop.sandboxes[k].quantity(listing[k]) == 49 for k in others),
                         timeout_s=poll_s * 10, step_s=0.01,
                         what=f"sale {i} propagated")
                windows.append(time.monotonic() - sold_at)
        finally:
            proc.terminate()
            proc.wait(timeout=15)
            shop.close()
        return windows


def measure_etsy_planned(sales: int, listings: int, latency_s: float
                         ) -> tuple[list[float], dict[str, Any]]:
    """Etsy-origin windows under the budget-planned interval; and the plan it ran."""
    with tempfile.TemporaryDirectory() as tmp:
        shop = SandboxShop(state_dir=Path(tmp) / "state", serve_http=True, latency_s=latency_s,
                           settings_overrides=FAST)
        ids = {f"E{i:04d}": shop.seed(f"E{i:04d}", 50) for i in range(listings)}
        shop.prepare_ledger(take_over=True)
        config = Path(tmp) / "oneshop.toml"
        env = {**os.environ, **shop.write_config(config, poll_seconds=60.0)}
        proc = subprocess.Popen([sys.executable, "-m", "oneshop.cli", "--config", str(config),
                                 "run"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=env)
        windows: list[float] = []
        try:
            wait_for(lambda: _linked(shop, Path(tmp), listings * len(KINDS)), timeout_s=300,
                     what="catalog linked")
            # The takeover bound everything already: wait for the service's first plan.
            wait_for(lambda: _etsy_plan(config, env) is not None, timeout_s=300,
                     step_s=2.0, what="the Etsy plan in `oneshop status --json`")
            plan = _etsy_plan(config, env) or {}
            poll_s = float(plan["poll_s"])
            time.sleep(poll_s * 2)
            for i in range(sales):
                listing = ids[f"E{(i * 37) % listings:04d}"]
                time.sleep(poll_s * ((i * 7919) % 13) / 13)
                shop.sandboxes["etsy"].sell(listing["etsy"], 1)
                sold_at = time.monotonic()
                left = 50 - sum(1 for j in range(i + 1) if (j * 37) % listings ==
                                (i * 37) % listings)
                wait_for(lambda listing=listing, left=left: all(
                    shop.sandboxes[k].quantity(listing[k]) == left for k in KINDS
                    if k != "etsy"), timeout_s=poll_s * 10, step_s=0.01,
                         what=f"Etsy sale {i} propagated")
                windows.append(time.monotonic() - sold_at)
            plan = _etsy_plan(config, env) or plan  # as re-planned while sales went on
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
            shop.close()
        return windows, plan


def _etsy_plan(config: Path, env: dict[str, str]) -> dict[str, Any] | None:
    done = subprocess.run([sys.executable, "-m", "oneshop.cli", "--config", str(config),
                           "status", "--json"], capture_output=True, text=True, env=env,
                          timeout=120, check=True)
    found = [p for p in json.loads(done.stdout)["plans"] if p["account"] == "etsy"]
    return dict(found[0]) if found else None


def _linked(shop: SandboxShop, tmp: Path, bound: int | None = None) -> bool:
    import sqlite3

    try:
        with sqlite3.connect(tmp / "state" / "oneshop.sqlite3") as conn:
            n = conn.execute("select count(*) from bindings where sku_id is not null").fetchone()
        return bool(n and n[0] >= (bound or len(shop.kinds)))
    except sqlite3.Error:
        return False


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sales", type=int, default=12)
    ap.add_argument("--poll", type=float, default=2.0)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--etsy-listings", type=int, default=1_000)
    ap.add_argument("--etsy-only", action="store_true")
    args = ap.parse_args()
    etsy_row(args.sales, args.etsy_listings, args.latency_ms)
    if args.etsy_only:
        return
    for webhooks in (False, True):
        windows = measure(args.sales, args.poll, args.latency_ms / 1000, webhooks)
        med = statistics.median(windows)
        label = "webhooks" if webhooks else "polling "
        target = 0.5 if webhooks else args.poll + 0.5
        print(f"{label}: poll {args.poll:g} s, latency {args.latency_ms:g} ms, "
              f"{len(windows)} sales: median {med:.2f} s, p90 "
              f"{sorted(windows)[int(len(windows) * 0.9) - 1]:.2f} s, max {max(windows):.2f} s; "
              f"window/interval {med / args.poll:.2f}; target <= {target:g} s: "
              f"{'met' if med <= target else 'MISSED'}")



def etsy_row(sales: int, listings: int, latency_ms: float) -> None:
    windows, plan = measure_etsy_planned(sales, listings, latency_ms / 1000)
    med = statistics.median(windows)
    poll_s = float(plan["poll_s"])
    print(f"etsy-origin, budget-planned ({listings:,} listings): plan "
          f"\"{plan['describe']}\"; {len(windows)} sales: median {med:.2f} s, "
          f"max {max(windows):.2f} s; window/interval {med / poll_s:.2f} "
          f"(poll {poll_s:.1f} s); target <= interval + 0.5 s: "
          f"{'met' if med <= poll_s + 0.5 else 'MISSED'}")


if __name__ == "__main__":
    main()
