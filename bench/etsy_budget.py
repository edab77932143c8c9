"""Etsy request budget for one simulated day (virtual clock, in-process sandbox).

A shop with 1,000 listings and 50 sales; orders polled every 60 s (with the cancellation
rescan on its own schedule), an hourly reconcile reading the whole catalog (100 listings
a page, per state, as the engine does), tokens refreshed as they expire. Prints the
requests used per day and their share of Etsy's default 10,000/day budget (target ≤ 2,000).
A second line adds 50 stock pushes, as if each sale had been on another channel.

    .venv/bin/python bench/etsy_budget.py
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from oneshop_connectors.etsy import EtsySettings, connector
from oneshop_connectors.etsy.adapter import EtsyConnector
from oneshop_sandboxes.etsy import EtsySandbox

from oneshop.protocols import ConnectorContext
from oneshop.testing import MemoryTokenStore
from oneshop.values import StockLevel

DAY_S = 86_400
LISTINGS = 1_000
SALES = 50
POLL_S = 60
RECONCILE_S = 3_600
DAILY_BUDGET = 10_000


class VirtualClock:
    def __init__(self, start: datetime) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += timedelta(seconds=max(0.0, seconds))

    def at_least(self, moment: datetime) -> None:
        with self._lock:
            self.now = max(self.now, moment)


def simulate(pushes: bool, seed: int = 7) -> tuple[Counter[str], int, int, float]:
    start = datetime(2026, 3, 2, tzinfo=UTC)
    clock = VirtualClock(start)
    sandbox = EtsySandbox(seed=seed, clock=clock)
    ids = [sandbox.seed_listing(f"SKU-{i:04d}", 20) for i in range(LISTINGS)]
    settings = EtsySettings.model_validate(sandbox.connector_settings("http://sandbox"))
    ctx = ConnectorContext(account="bench", clock=clock, sleep=clock.sleep,
                           token_store=MemoryTokenStore(tokens=sandbox.issue_tokens()),
                           transport=sandbox.transport())
    conn = connector.build(settings, ctx)
    assert isinstance(conn, EtsyConnector)
    rng = random.Random(seed)
    sales = sorted(rng.uniform(0, DAY_S) for _ in range(SALES))
    used: Counter[str] = Counter()

    def count(what: str, before: int) -> None:
        used[what] += sandbox.requests - before

    before = sandbox.requests
    catalog = {li.external_id: li for page in conn.fetch_listings() for li in page.listings}
    count("initial catalog", before)
    cursor: str | None = None
    orders: set[str] = set()
    for tick in range(DAY_S // POLL_S):
        clock.at_least(start + timedelta(seconds=tick * POLL_S))
        while sales and sales[0] <= tick * POLL_S:
            sales.pop(0)
            sold = rng.choice(ids)
            sandbox.sell(sold)
            if pushes:
                before = sandbox.requests
                listing = catalog[sold]
                conn.push_stock([StockLevel(listing=listing, quantity=listing.quantity or 0,
                                            observed=None, push_id=f"bench-{tick}")])
                count("pushes", before)
        if tick * POLL_S % RECONCILE_S == 0 and tick:
            before = sandbox.requests
            for page in conn.fetch_listings():
                catalog.update((li.external_id, li) for li in page.listings)
            count("hourly reconcile", before)
        before = sandbox.requests
        for orders_page in conn.fetch_orders(cursor):
            orders.update(o.external_id for o in orders_page.orders)
            cursor = orders_page.cursor
        count("order polls + rescans", before)
    conn.close()
    return used, sandbox.requests, len(orders), (clock() - start).total_seconds()


def main() -> int:
    for pushes in (False, True):
        began = time.perf_counter()
        used, total, orders, span_s = simulate(pushes)
        label = "with 50 pushes" if pushes else "base day"
        print(f"etsy budget ({label}): {total} requests/day = "
              f"{total / DAILY_BUDGET:.1%} of {DAILY_BUDGET:,}; target ≤ 2,000 "
              f"[{'OK' if total <= 2_000 else 'OVER'}]")
        detail = ", ".join(f"{k} {v}" for k, v in used.items())
        print(f"    {detail}; orders seen {orders}/{SALES}; simulated {span_s / 3600:.1f} h "
              f"in {time.perf_counter() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
