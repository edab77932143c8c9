"""Read a 10,000-variant catalog from the Shopify sandbox (in-process), page by page and
with a bulk operation, and print the cost of each side by side.

Run: .venv/bin/python bench/shopify_catalog.py [--variants N] [--only paged|bulk]

Time is virtual: the connector's throttle waits and bulk status checks advance the clock
the sandbox's leaky bucket refills on (and its bulk operation runs on), so "throttle wait"
is what a real shop would make us wait. The sandbox processes a bulk operation at
`objects_per_s` (1,000 variants a second: an assumption, Shopify publishes no rate).
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from oneshop_connectors.shopify import connector, queries
from oneshop_sandboxes.shopify import ShopifySandbox

from oneshop.protocols import ConnectorContext
from oneshop.testing import MemoryTokenStore


class VirtualClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 5, 1, tzinfo=UTC)
        self.slept_s = 0.0

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept_s += seconds
        self.now += timedelta(seconds=seconds)


def read(variants: int, *, bulk: bool) -> list[dict[str, Any]]:
    """Figures of a first read in a process and of the next one (the catalog's size then
    known: a bulk read starts without a page)."""
    clock = VirtualClock()
    sandbox = ShopifySandbox(seed=0, clock=clock)
    sandbox.add_variants(variants)
    settings = connector.settings_model.model_validate({
        **sandbox.connector_settings("http://sb"),
        "bulk_threshold_variants": 2000 if bulk else variants + 1})
    ctx = ConnectorContext(account="bench", clock=clock, sleep=clock.sleep,
                           token_store=MemoryTokenStore(), transport=sandbox.transport())
    shop: Any = connector.build(settings, ctx)
    figures = []
    for _ in range(2):
        before = (sandbox.requests, sandbox.bulk.downloads, shop.gql.total_cost,
                  shop.budget().throttle_wait_s, clock.now, time.perf_counter())
        listings = sum(len(page.listings) for page in shop.fetch_listings())
        figures.append({
            "variants read": listings,
            "requests (API + file)": f"{sandbox.requests - before[0]} + "
                                     f"{sandbox.bulk.downloads - before[1]}",
            "query cost (points)": shop.gql.total_cost - before[2],
            "throttle wait (s)": f"{shop.budget().throttle_wait_s - before[3]:.1f}",
            "elapsed, virtual (s)": f"{(clock.now - before[4]).total_seconds():.1f}",
            "wall time (s)": f"{time.perf_counter() - before[5]:.2f}"})
        clock.sleep(3600)  # an hour later: the bucket is full again
    shop.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variants", type=int, default=10_000)
    parser.add_argument("--only", choices=("paged", "bulk"))
    args = parser.parse_args()
    sides = [s for s in ("paged", "bulk") if args.only in (None, s)]
    columns: dict[str, dict[str, Any]] = {}
    for side in sides:
        first, again = read(args.variants, bulk=side == "bulk")
        columns[side] = first
        columns[f"{side}, again"] = again
    page = queries.page_size(queries.VARIANT_NODE_COST, queries.MAX_PAGE)
    print(f"{args.variants:,} variants; paged: {page} a page; bucket 2,000 points, "
          "restoring 100/s (Shopify's standard plan); 'again': the next read, an hour on")
    print(f"{'':24}" + "".join(f"{name:>14}" for name in columns))
    for key in columns[next(iter(columns))]:
        print(f"{key:24}" + "".join(f"{col[key]!s:>14}" for col in columns.values()))

if __name__ == "__main__":
    main()
