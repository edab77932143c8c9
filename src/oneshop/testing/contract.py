"""The contract every connector must pass, run against its own sandbox.

A connector distribution runs it from its own tests, against the sandbox it registers
under `oneshop.sandboxes` (pytest collects the subclass, not this base):

    from oneshop.testing.contract import ConnectorContract

    class TestMyChannel(ConnectorContract):
        kind = "mychannel"

The sandbox and the connector share one virtual clock, and the clock moves between orders
(`Rig.sell`) and between polls: orders carry their own times, as on a real shop, so
cursors, overlaps and token expiry are really exercised.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar

import pytest

from oneshop.errors import AuthError
from oneshop.plugins import available_connectors
from oneshop.protocols import Connector, ConnectorContext, ConnectorFactory
from oneshop.testing.clock import VirtualClock
from oneshop.testing.sandbox import Sandbox, sandbox_for
from oneshop.testing.tokens import MemoryTokenStore
from oneshop.values import Listing, Order, StockLevel

# Time between two orders on the shop (whole seconds: some APIs keep no fractions).
BETWEEN_ORDERS = timedelta(seconds=7)
# Between two polls of a service that was stopped for a while: longer than any access
# token lives (Etsy's: an hour), shorter than a refresh token (Etsy's: 90 days).
AWAY = timedelta(days=2, hours=3)


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


@contextmanager
def open_rig(kind: str) -> Iterator[Rig]:
    """The `kind` connector on its own sandbox, both on one virtual clock."""
    factory = available_connectors()[kind]
    # One virtual clock for the sandbox and the connector: a wait the connector asks for
    # (throttle, Retry-After, pacing) really passes for the sandbox too, instantly.
    clock = VirtualClock(VirtualClock().now().replace(second=0))
    sandbox = sandbox_for(kind, seed=1, clock=clock.now)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.sleep(seconds)

    settings = factory.settings_model.model_validate(sandbox.connector_settings("http://sandbox"))
    ctx = ConnectorContext(account="contract", clock=clock.now, sleep=sleep,
                           token_store=MemoryTokenStore(tokens=sandbox.issue_tokens()),
                           transport=sandbox.transport())
    connector = factory.build(settings, ctx)
    try:
        yield Rig(factory, sandbox, connector, clock, sleeps)
    finally:
        connector.close()


def all_listings(rig: Rig) -> dict[str, tuple[str | None, int | None]]:
    found: dict[str, tuple[str | None, int | None]] = {}
    for page in rig.connector.fetch_listings():
        for listing in page.listings:
            assert listing.external_id not in found, "a listing was reported twice"
            found[listing.external_id] = (listing.sku, listing.quantity)
    return found


def listed(rig: Rig) -> dict[str, Listing]:
    return {li.external_id: li for page in rig.connector.fetch_listings() for li in page.listings}


def line_keys(orders: list[Order]) -> set[tuple[str, str]]:
    return {(o.external_id, line.external_id) for o in orders for line in o.lines}


class ConnectorContract:
    """The contract suite; subclass it with `kind` set to your connector's name."""

    kind: ClassVar[str]

    @pytest.fixture
    def rig(self) -> Iterator[Rig]:
        with open_rig(self.kind) as made:
            yield made

    def test_catalog_pages_to_the_end(self, rig: Rig) -> None:
        seeded = {rig.sandbox.seed_listing(f"SKU-{i:04d}", i % 7 + 1): i for i in range(260)}
        found = all_listings(rig)
        assert set(seeded) <= set(found)
        for external_id, i in seeded.items():
            assert found[external_id] == (f"SKU-{i:04d}", i % 7 + 1)

    def test_orders_page_to_the_end_and_resume_from_any_cursor_loses_nothing(
            self, rig: Rig) -> None:
        listing = rig.sandbox.seed_listing("MUG-1", 200)
        sold = {rig.sell(listing, 1) for _ in range(25)}
        orders, cursors, _ = rig.orders()
        assert {o.external_id for o in orders} >= sold
        assert cursors and cursors[-1] is not None
        later = {rig.sell(listing, 2) for _ in range(3)}
        for cursor in cursors:
            resumed, _, _ = rig.orders(cursor)
            assert {o.external_id for o in resumed} >= later, \
                "resuming from a cursor lost orders"

    def test_overlap_books_nothing_twice(self, rig: Rig) -> None:
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

    def test_an_order_that_shows_up_late_inside_the_overlap_is_not_missed(
            self, rig: Rig) -> None:
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

    def test_sale_is_reported_with_sku_and_quantity(self, rig: Rig) -> None:
        listing = rig.sandbox.seed_listing("PRINT-A3", 9)
        order_id = rig.sell(listing, 2)
        orders, _, _ = rig.orders()
        (order,) = [o for o in orders if o.external_id == order_id]
        assert [(line.sku, line.quantity) for line in order.lines] == [("PRINT-A3", 2)]
        assert order.created_at.tzinfo is not None
        assert rig.sandbox.quantity(listing) == 7

    def test_cancellation_with_restock_is_reported(self, rig: Rig) -> None:
        listing = rig.sandbox.seed_listing("RING-7", 3)
        order_id = rig.sell(listing, 1)
        rig.clock.advance(BETWEEN_ORDERS.total_seconds())
        rig.sandbox.cancel(order_id, restock=True)
        orders, _, _ = rig.orders()
        (order,) = [o for o in orders if o.external_id == order_id]
        assert sum(r.quantity for r in order.restocks) == 1

    def test_retry_after_is_honoured(self, rig: Rig) -> None:
        rig.sandbox.seed_listing("HAT-1", 1)
        rig.sandbox.fail_next(1, status=429, retry_after_s=7)
        assert "HAT-1" in {sku for sku, _ in all_listings(rig).values()}
        assert any(s >= 7 for s in rig.sleeps), rig.sleeps

    def test_server_errors_are_retried(self, rig: Rig) -> None:
        rig.sandbox.seed_listing("HAT-2", 1)
        rig.sandbox.fail_next(2, status=503)
        assert "HAT-2" in {sku for sku, _ in all_listings(rig).values()}

    def test_revoked_credentials_raise_auth_error(self, rig: Rig) -> None:
        rig.sandbox.seed_listing("SOCK-1", 1)
        rig.sandbox.revoke_credentials()
        with pytest.raises(AuthError):
            rig.orders()
        with pytest.raises(AuthError):
            all_listings(rig)

    def test_pushed_quantity_is_visible_in_the_sandbox(self, rig: Rig) -> None:
        external_id = rig.sandbox.seed_listing("BAG-1", 5)
        listing = listed(rig)[external_id]
        (result,) = rig.connector.push_stock(
            [StockLevel(listing=listing, quantity=3, observed=5, push_id="push-1")]
        )
        assert result.status == "ok", result
        assert result.observed == 3
        assert rig.sandbox.quantity(external_id) == 3

    def test_malformed_order_becomes_a_rejected_record(self, rig: Rig) -> None:
        listing = rig.sandbox.seed_listing("PIN-1", 10)
        good = rig.sell(listing, 1)
        rig.clock.advance(BETWEEN_ORDERS.total_seconds())
        rig.sandbox.add_malformed_order()
        orders, _, rejected = rig.orders()
        assert rejected == 1
        assert good in {o.external_id for o in orders}

    def test_a_push_over_a_change_on_the_channel_is_stale_and_writes_nothing(
            self, rig: Rig) -> None:
        """Compare-and-set: the channel moved since we read it (a hand edit, a sale we
        have not booked), so the push must not erase that; it reports what the channel
        shows for the core to fold in."""
        external_id = rig.sandbox.seed_listing("JUG-1", 5)
        listing = listed(rig)[external_id]
        rig.sandbox.hand_edit(external_id, 4)
        (result,) = rig.connector.push_stock(
            [StockLevel(listing=listing, quantity=3, observed=5, push_id="push-stale")])
        assert (result.external_id, result.status, result.observed) == (external_id, "stale", 4)
        assert rig.sandbox.quantity(external_id) == 4

    def test_a_push_of_many_listings_answers_in_the_order_of_the_levels(
            self, rig: Rig) -> None:
        seeded = [rig.sandbox.seed_listing(f"BOWL-{i}", 5 + i) for i in range(5)]
        listings = listed(rig)
        order = [seeded[i] for i in (3, 0, 4, 1, 2)]
        levels = [StockLevel(listing=listings[ext], quantity=i + 1, observed=listings[ext].quantity,
                             push_id=f"push-many-{i}") for i, ext in enumerate(order)]
        results = rig.connector.push_stock(levels)
        assert [(r.external_id, r.status, r.observed) for r in results] == [
            (ext, "ok", i + 1) for i, ext in enumerate(order)]
        assert [rig.sandbox.quantity(ext) for ext in order] == [1, 2, 3, 4, 5]

    def test_after_days_away_the_connector_renews_its_access_and_resumes(
            self, rig: Rig) -> None:
        """The clock moves past every access token's life between two polls."""
        external_id = rig.sandbox.seed_listing("LAMP-1", 20)
        first = rig.sell(external_id, 1)
        orders, cursors, _ = rig.orders()
        assert first in {o.external_id for o in orders}
        rig.clock.advance(AWAY.total_seconds())
        later = rig.sell(external_id, 2)
        resumed, _, _ = rig.orders(cursors[-1])
        assert later in {o.external_id for o in resumed}
        assert listed(rig)[external_id].quantity == 17
