"""Footprint: resident memory of an idle `oneshop run` with three accounts (target
<= 120 MB), read from /proc after the service has settled.

    .venv/bin/python bench/footprint.py [--skus 50] [--settle 8]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from oneshop.testing.shop import SandboxShop


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skus", type=int, default=50)
    ap.add_argument("--settle", type=float, default=8.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        shop = SandboxShop(state_dir=Path(tmp) / "state", serve_http=True,
                           settings_overrides={"gumroad": {"requests_per_second": 50.0}})
        for i in range(args.skus):
            shop.seed(f"F{i:04d}", 3)
        shop.prepare_ledger(take_over=True)
        config = Path(tmp) / "oneshop.toml"
        env = {**os.environ, **shop.write_config(config, poll_seconds=2.0)}
        proc = subprocess.Popen([sys.executable, "-m", "oneshop.cli", "--config", str(config),
                                 "run"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=env)
        try:
            time.sleep(args.settle)
            samples = []
            for _ in range(5):
                samples.append(rss_mb(proc.pid))
                time.sleep(1)
        finally:
            proc.terminate()
            code = proc.wait(timeout=15)
            shop.close()
    peak = max(samples)
    print(f"idle `oneshop run`, 3 accounts, {args.skus} SKUs each, polling every 2 s: "
          f"RSS {min(samples):.1f}-{peak:.1f} MB (target <= 120 MB: "
          f"{'met' if peak <= 120 else 'MISSED'}); exit on SIGTERM {code}")


if __name__ == "__main__":
    main()
