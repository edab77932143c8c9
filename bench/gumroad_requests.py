"""Requests Gumroad costs, counted at the sandbox: one idle poll, one changed SKU pushed.

Run: .venv/bin/python bench/gumroad_requests.py
Targets: an idle poll costs 1 request; pushing one changed SKU costs ≤ 3 (read, write,
read-back), for a product and for a variant.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from oneshop_connectors.gumroad import GumroadSettings, connector
from oneshop_sandboxes.gumroad import GumroadSandbox

from oneshop.protocols import ConnectorContext
from oneshop.testing import MemoryTokenStore
from oneshop.values import StockLevel


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def main() -> None:
    clock = Clock()
    sandbox = GumroadSandbox(seed=1, clock=clock)
    settings = GumroadSettings.model_validate(sandbox.connector_settings("https://api.gumroad.com"))
    ctx = ConnectorContext(account="bench", clock=clock, sleep=clock.sleep,
                           token_store=MemoryTokenStore(), transport=sandbox.transport())
    conn = connector.build(settings, ctx)
    products = [sandbox.seed_listing(f"SKU-{i:03d}", 5) for i in range(40)]
    tee = sandbox.add_product("Tee", permalink="TEE")
    large = sandbox.add_variant(tee, "Size", "L", max_purchase_count=4)
    for i in range(60):  # a busy day: 60 sales, one every 5 minutes
        sandbox.sell(products[i % 40])
        clock.now += timedelta(minutes=5)
    cursor = None
    for page in conn.fetch_orders(None):
        cursor = page.cursor
    listings = {li.external_id: li for p in conn.fetch_listings() for li in p.listings}
    clock.now += timedelta(minutes=10)

    before = sandbox.requests
    for page in conn.fetch_orders(cursor):
        cursor = page.cursor
    idle = sandbox.requests - before

    costs = {}
    for name, external_id in (("product", products[0]), ("variant", large)):
        listing = listings[external_id]
        before = sandbox.requests
        (result,) = conn.push_stock([StockLevel(listing=listing, quantity=2,
                                                observed=listing.quantity, push_id=name)])
        assert result.status == "ok" and result.observed == 2, result
        costs[name] = sandbox.requests - before

    clock.now += timedelta(hours=1)
    before = sandbox.requests
    for page in conn.fetch_orders(cursor):
        cursor = page.cursor
    rescan = sandbox.requests - before

    print(f"gumroad idle poll: {idle} request(s) (target 1; 60 sales today, 10 per page)")
    print(f"gumroad push one changed product SKU: {costs['product']} request(s) (target <= 3)")
    print(f"gumroad push one changed variant SKU: {costs['variant']} request(s) (target <= 3)")
    print(f"gumroad hourly refund rescan poll: {rescan} request(s) "
          "(re-reads the 30-day window: 60 sales, 10 per page)")
    conn.close()


if __name__ == "__main__":
    main()
