"""Read a 10,000-variant catalog from the Shopify sandbox (in-process) and print the cost.

Run: .venv/bin/python bench/shopify_catalog.py [--variants N]

Time is virtual: the connector's throttle waits advance the clock the sandbox's leaky
bucket refills on, so the figure "throttle wait" is what a real shop would make us wait.
"""

from __future__ import annotations

import argparse
import math
import time
from datetime import UTC, datetime, timedelta

from oneshop_connectors.shopify import connector, queries
from oneshop_connectors.shopify.sandbox import ShopifySandbox

from oneshop.protocols import ConnectorContext
from oneshop.testing import MemoryTokenStore


class VirtualClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 5, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variants", type=int, default=10_000)
    args = parser.parse_args()
    clock = VirtualClock()
    sandbox = ShopifySandbox(seed=0, clock=clock)
    sandbox.add_variants(args.variants)
    settings = connector.settings_model.model_validate(sandbox.connector_settings("http://sb"))
    ctx = ConnectorContext(account="bench", clock=clock, sleep=clock.sleep,
                           token_store=MemoryTokenStore(), transport=sandbox.transport())
    shop = connector.build(settings, ctx)
    started = time.perf_counter()
    listings = sum(len(page.listings) for page in shop.fetch_listings())
    wall_s = time.perf_counter() - started
    budget = shop.budget()
    total_cost = shop.gql.total_cost  # type: ignore[attr-defined]
    minimum = math.ceil(args.variants / queries.MAX_PAGE)
    page = queries.page_size(queries.VARIANT_NODE_COST, queries.MAX_PAGE)
    print(f"variants read:        {listings}")
    print(f"requests made:        {sandbox.requests} (1 locations + "
          f"{sandbox.requests - 1} variant pages of {page})")
    print(f"total query cost:     {total_cost} points (actual, as Shopify bills them)")
    print(f"minimum requests:     {minimum} (ceil({args.variants}/{queries.MAX_PAGE}))")
    print(f"ratio to minimum:     {sandbox.requests / minimum:.3f}")
    print(f"throttle wait:        {budget.throttle_wait_s:.1f} s virtual "
          f"(bucket {sandbox.bucket.maximum:g}, restore {sandbox.bucket.restore_rate:g}/s)")
    print(f"wall time:            {wall_s:.2f} s")
    shop.close()


if __name__ == "__main__":
    main()
