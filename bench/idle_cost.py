"""Idle cost: the CPU of one idle cycle of all three channels (an orders poll that finds
nothing new, then the push of whatever is out of step, which is nothing), at each
catalog size given, side by side (issue 19.4: at 100,000 SKUs within 2x of 1,000).

    .venv/bin/python bench/idle_cost.py [--skus 1000 100000] [--cycles 5]

The ledger is filled directly as a finished takeover leaves it (every listing bound,
adopted and in step), not by the initial reconcile, which takes many minutes at 100,000
SKUs and is measured by bench/scale.py. The sandboxes run in this process, as in
scale.py, so their share of each request is in the figure too.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import update

from oneshop import logs
from oneshop.ledger import catalog, stock, takeover
from oneshop.ledger import models as m
from oneshop.ledger.db import transaction
from oneshop.service import Runner
from oneshop.testing import VirtualClock
from oneshop.testing.shop import KINDS, SandboxShop
from oneshop.values import Listing

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def extra(kind: str, listing: str) -> dict[str, str]:
    """What each connector's catalog read records with a listing (for a push, if any)."""
    if kind == "etsy":
        return {"listing_id": listing.split(":")[0], "state": "active"}
    if kind == "shopify":
        return {"inventory_item_id": listing}
    return {"product_id": listing, "units_sold": "0"}


def taken_over(app: object, ids: dict[str, dict[str, str]], counts: dict[str, int]) -> None:
    """Bindings, counts and takeover marks as `listings` + `adopt` would leave them."""
    sessions = app.sessions  # type: ignore[attr-defined]
    with transaction(sessions) as s:
        for kind in KINDS:
            seen = catalog.upsert_listings(s, kind, [
                Listing(external_id=ids[sku][kind], sku=sku, title=sku, quantity=qty,
                        state="active", extra=extra(kind, ids[sku][kind]))
                for sku, qty in counts.items()], T0)
            catalog.auto_link(s, kind, T0)
            catalog.believe_reads(s, seen, T0)
            takeover.mark_taken_over(s, kind, None, T0)
        sku_ids = stock.sku_ids(s, list(counts))
        stock.insert_movements(s, [(sku_ids[sku], "count", qty, f"count:bench:{sku}", None,
                                    None, "bench") for sku, qty in counts.items()])
        s.execute(update(m.Sku).values(adopted_at=T0))


def idle_cpu(skus: int, cycles: int) -> tuple[float, dict[str, float]]:
    """CPU seconds per idle cycle of all three channels; requests per channel a cycle."""
    clock = VirtualClock(T0)
    with tempfile.TemporaryDirectory() as tmp:
        shop = SandboxShop(state_dir=Path(tmp), clock=clock.now)
        counts = {f"S{i:06d}": 1 + i % 5 for i in range(skus)}
        ids = {sku: shop.seed(sku, qty) for sku, qty in counts.items()}
        shop.prepare_ledger()
        app = shop.build_app(clock=clock.now, sleep=clock.sleep)
        try:
            taken_over(app, ids, counts)
            runner = Runner(app)
            for _ in range(2):  # the first polls set cursors and warm the caches
                for kind in KINDS:
                    clock.advance(60)
                    assert runner.poll(kind), kind
            before = {k: s.requests for k, s in shop.sandboxes.items()}
            cpu0 = time.process_time()
            for _ in range(cycles):
                for kind in KINDS:
                    clock.advance(60)
                    assert runner.poll(kind), kind
            cpu = (time.process_time() - cpu0) / cycles
            requests = {k: (shop.sandboxes[k].requests - before[k]) / cycles for k in KINDS}
        finally:
            app.close()
            shop.close()
    return cpu, requests


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skus", type=int, nargs="+", default=[1_000, 100_000])
    ap.add_argument("--cycles", type=int, default=5)
    args = ap.parse_args()
    logs.configure(level="warning")
    figures = {n: idle_cpu(n, args.cycles) for n in args.skus}
    for n, (cpu, requests) in figures.items():
        print(f"{n:>9,} SKUs x 3 channels: idle cycle CPU {cpu * 1000:7.1f} ms; requests "
              + ", ".join(f"{k} {v:g}" for k, v in requests.items()))
    smallest, largest = min(figures), max(figures)
    ratio = figures[largest][0] / figures[smallest][0]
    ok = ratio <= 2
    print(f"{largest:,} vs {smallest:,} SKUs: {ratio:.2f}x  target <= 2x: "
          f"{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
