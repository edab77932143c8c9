"""The one contract every connector must pass, run against its own sandbox.

Parametrized over every connector registered under `oneshop.connectors`, so a new
channel gets the same scrutiny as the built-in three. The sandbox and the connector share
one virtual clock, and the clock moves between orders (`Rig.sell`): orders carry their
own times, as on a real shop, so cursors and overlaps are really exercised.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from oneshop.clock import VirtualClock
from oneshop.errors import AuthError
from oneshop.plugins import available_connectors
from oneshop.protocols import (
    Connector,
    ConnectorContext,
    ConnectorFactory,
    MemoryTokenStore,
    Sandbox,
)
from oneshop.values import Order, StockLevel

KINDS = sorted(available_connectors())


# Time between two orders on the shop (whole seconds: some APIs keep no fractions).
BETWEEN_ORDERS = timedelta(seconds=7)


@dataclass
class Rig:
    factory: ConnectorFactory
    sandbox: Sandbox
    connector: Connector
    clock: VirtualClock
    sleeps: list[float] = field(default_factory=list)

    def sell(self, external_id: str, quantity: int = 1) -> str:
        """A sale, a little after the one before."""
        self.clock.advance(BETWEEN_ORDERS.total_seconds())
        return self.sandbox.sell(external_id, quantity)

    def sell_late(self, external_id: str, stamped: datetime) -> str:
        """A sale stamped at an earlier moment that only shows up now: a purchase still
        being charged when we polled (Gumroad), a search index trailing its writes
        (Shopify, Etsy). This is what each connector's overlap is for."""
        now = self.clock()
        self.clock.set(stamped)
        try:
            return self.sandbox.sell(external_id, 1)
        finally:
            self.clock.set(now)

    def orders(self, cursor: str | None = None) -> tuple[list[Order], list[str | None], int]:
        orders: list[Order] = []
        cursors: list[str | None] = []
        rejected = 0
        for page in self.connector.fetch_orders(cursor):
            orders.extend(page.orders)
            cursors.append(page.cursor)
            rejected += len(page.rejected)
        return orders, cursors, rejected


@pytest.fixture(params=KINDS)
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    factory = available_connectors()[request.param]
    # One virtual clock for the sandbox and the connector: a wait the connector asks for
    # (throttle, Retry-After, pacing) really passes for the sandbox too, instantly.
    clock = VirtualClock(VirtualClock().now().replace(second=0))
    sandbox = factory.sandbox(seed=1, clock=clock.now)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.sleep(seconds)

    settings = factory.settings_model.model_validate(sandbox.connector_settings("http://sandbox"))
    store = MemoryTokenStore(tokens=sandbox.issue_tokens())
    ctx = ConnectorContext(
        account="contract",
        clock=clock.now,
        sleep=sleep,
        token_store=store,
        transport=sandbox.transport(),
    )
    connector = factory.build(settings, ctx)
    yield Rig(factory, sandbox, connector, clock, sleeps)
    connector.close()


def all_listings(rig: Rig) -> dict[str, tuple[str | None, int | None]]:
    found: dict[str, tuple[str | None, int | None]] = {}
    for page in rig.connector.fetch_listings():
        for listing in page.listings:
            assert listing.external_id not in found, "a listing was reported twice"
            found[listing.external_id] = (listing.sku, listing.quantity)
    return found


def test_catalog_pages_to_the_end(rig: Rig) -> None:
    seeded = {rig.sandbox.seed_listing(f"SKU-{i:04d}", i % 7 + 1): i for i in range(260)}
    found = all_listings(rig)
    assert set(seeded) <= set(found)
    for external_id, i in seeded.items():
        assert found[external_id] == (f"SKU-{i:04d}", i % 7 + 1)


def test_orders_page_to_the_end_and_resume_from_any_cursor_loses_nothing(rig: Rig) -> None:
    listing = rig.sandbox.seed_listing("MUG-1", 200)
    sold = {rig.sell(listing, 1) for _ in range(25)}
    orders, cursors, _ = rig.orders()
    assert {o.external_id for o in orders} >= sold
    assert cursors and cursors[-1] is not None
    later = {rig.sell(listing, 2) for _ in range(3)}
    for cursor in cursors:
        resumed, _, _ = rig.orders(cursor)
        assert {o.external_id for o in resumed} >= later, "resuming from a cursor lost orders"


def line_keys(orders: list[Order]) -> set[tuple[str, str]]:
    return {(o.external_id, line.external_id) for o in orders for line in o.lines}


def test_overlap_books_nothing_twice(rig: Rig) -> None:
    listing = rig.sandbox.seed_listing("CARD-1", 50)
    booked = rig.sell(listing, 1)
    rig.clock.advance(seconds=30)
    first, cursors, _ = rig.orders()
    newer = rig.sell(listing, 1)
    again, _, _ = rig.orders(cursors[-1])
    # The overlap re-reads the order booked just before (else there is nothing to dedupe)
    # under the same keys, so the ledger books it once; the new one comes with it.
    assert {o.external_id for o in again} >= {booked, newer}
    assert line_keys(again) - line_keys(first) == line_keys(
        [o for o in again if o.external_id == newer])
    assert len(line_keys(first)) == sum(len(o.lines) for o in first)


def test_an_order_that_shows_up_late_inside_the_overlap_is_not_missed(rig: Rig) -> None:
    """Fails with the connector's overlap constant set to 0."""
    listing = rig.sandbox.seed_listing("CARD-2", 50)
    rig.sell(listing, 1)
    newest = rig.clock()
    rig.clock.advance(seconds=60)
    _, cursors, _ = rig.orders()
    rig.clock.advance(seconds=60)
    # Stamped a second before the newest order booked, so before that poll started too.
    late = rig.sell_late(listing, stamped=newest - timedelta(seconds=1))
    again, _, _ = rig.orders(cursors[-1])
    assert late in {o.external_id for o in again}, "an order inside the overlap was missed"


def test_sale_is_reported_with_sku_and_quantity(rig: Rig) -> None:
    listing = rig.sandbox.seed_listing("PRINT-A3", 9)
    order_id = rig.sell(listing, 2)
    orders, _, _ = rig.orders()
    (order,) = [o for o in orders if o.external_id == order_id]
    assert [(line.sku, line.quantity) for line in order.lines] == [("PRINT-A3", 2)]
    assert order.created_at.tzinfo is not None
    assert rig.sandbox.quantity(listing) == 7


def test_cancellation_with_restock_is_reported(rig: Rig) -> None:
    listing = rig.sandbox.seed_listing("RING-7", 3)
    order_id = rig.sell(listing, 1)
    rig.clock.advance(BETWEEN_ORDERS.total_seconds())
    rig.sandbox.cancel(order_id, restock=True)
    orders, _, _ = rig.orders()
    (order,) = [o for o in orders if o.external_id == order_id]
    assert sum(r.quantity for r in order.restocks) == 1


def test_retry_after_is_honoured(rig: Rig) -> None:
    rig.sandbox.seed_listing("HAT-1", 1)
    rig.sandbox.fail_next(1, status=429, retry_after_s=7)
    assert "HAT-1" in {sku for sku, _ in all_listings(rig).values()}
    assert any(s >= 7 for s in rig.sleeps), rig.sleeps


def test_server_errors_are_retried(rig: Rig) -> None:
    rig.sandbox.seed_listing("HAT-2", 1)
    rig.sandbox.fail_next(2, status=503)
    assert "HAT-2" in {sku for sku, _ in all_listings(rig).values()}


def test_revoked_credentials_raise_auth_error(rig: Rig) -> None:
    rig.sandbox.seed_listing("SOCK-1", 1)
    rig.sandbox.revoke_credentials()
    with pytest.raises(AuthError):
        rig.orders()
    with pytest.raises(AuthError):
        all_listings(rig)


def test_pushed_quantity_is_visible_in_the_sandbox(rig: Rig) -> None:
    external_id = rig.sandbox.seed_listing("BAG-1", 5)
    listing = next(
        li for page in rig.connector.fetch_listings() for li in page.listings
        if li.external_id == external_id
    )
    (result,) = rig.connector.push_stock(
        [StockLevel(listing=listing, quantity=3, observed=5, push_id="push-1")]
    )
    assert result.status == "ok", result
    assert result.observed == 3
    assert rig.sandbox.quantity(external_id) == 3


def test_malformed_order_becomes_a_rejected_record(rig: Rig) -> None:
    listing = rig.sandbox.seed_listing("PIN-1", 10)
    good = rig.sell(listing, 1)
    rig.clock.advance(BETWEEN_ORDERS.total_seconds())
    rig.sandbox.add_malformed_order()
    orders, _, rejected = rig.orders()
    assert rejected == 1
    assert good in {o.external_id for o in orders}
