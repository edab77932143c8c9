"""The status page's cost: how long `GET /` and `GET /sku/SKU` take on a shop of N SKUs on
three channels (SQLite ledger, sandboxes in this process, one sale on every tenth SKU),
over loopback with one keep-alive client, as a browser tab reloading it would.

    .venv/bin/python bench/status_page.py [--skus 200] [--requests 20]
"""

from __future__ import annotations

import argparse
import logging
import socket
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import structlog

from oneshop.configfile import StatusPageConfig
from oneshop.service import Runner
from oneshop.status_page import server
from oneshop.testing import VirtualClock
from oneshop.testing.shop import SandboxShop


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skus", type=int, default=200)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    clock = VirtualClock()
    shop = SandboxShop(state_dir=Path(tempfile.mkdtemp()) / "state", clock=clock.now)
    shop.prepare_ledger()
    app = shop.build_app(clock=clock.now, sleep=clock.sleep)
    runner = Runner(app)
    names = [f"SKU-{i:05d}" for i in range(args.skus)]
    ids = {sku: shop.seed(sku, 5) for sku in names}
    for kind in shop.kinds:
        clock.advance(30)
        assert runner.reconcile(kind, link=True), kind
    for sku in names[::10]:
        shop.sandboxes["etsy"].sell(ids[sku]["etsy"], 1)
    for kind in shop.kinds:
        clock.advance(30)
        assert runner.poll(kind), kind
    running = server.start(StatusPageConfig(listen=f"127.0.0.1:{free_port()}"), lambda: app)
    assert running is not None
    try:
        with httpx.Client(base_url=running.url) as client:
            for path in ("/", f"/sku/{names[0]}"):
                client.get(path)  # warm: imports, the first connection
                took = []
                for _ in range(args.requests):
                    started = time.perf_counter()
                    answer = client.get(path)
                    took.append(time.perf_counter() - started)
                    assert answer.status_code == 200
                print(f"{args.skus} SKUs x {len(shop.kinds)} channels, GET {path}: median "
                      f"{statistics.median(took) * 1000:.1f} ms, max {max(took) * 1000:.1f} ms, "
                      f"{len(answer.content)} bytes")
    finally:
        running.close()
        app.close()
        shop.close()


if __name__ == "__main__":
    main()
