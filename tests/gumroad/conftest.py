"""A Gumroad rig: sandbox and connector sharing one virtual clock (sleep advances it)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from oneshop_connectors.gumroad import GumroadSettings, connector
from oneshop_connectors.gumroad.account import GumroadConnector
from oneshop_sandboxes.gumroad import GumroadSandbox

from oneshop.protocols import ConnectorContext
from oneshop.testing import MemoryTokenStore, VirtualClock
from oneshop.values import Listing, Order


@dataclass
class Rig:
    sandbox: GumroadSandbox
    clock: VirtualClock
    connector: GumroadConnector
    settings: GumroadSettings
    cursor: str | None = None

    def orders(self, cursor: str | None = None) -> tuple[list[Order], str | None, int]:
        orders: list[Order] = []
        last: str | None = None
        rejected = 0
        for page in self.connector.fetch_orders(cursor):
            orders.extend(page.orders)
            rejected += len(page.rejected)
            last = page.cursor
        return orders, last, rejected

    def pull(self) -> list[Order]:
        """Pull from the last cursor, as the core does (it stores each page's cursor)."""
        orders, self.cursor, _ = self.orders(self.cursor)
        return orders

    def listings(self) -> dict[str, Listing]:
        return {li.external_id: li for page in self.connector.fetch_listings()
                for li in page.listings}

    def restarted(self) -> Rig:
        """The same shop and clock, a new connector (a process restart): it keeps nothing
        but what the core hands it, the cursor."""
        ctx = ConnectorContext(account="gum", clock=self.clock, sleep=self.clock.sleep,
                               token_store=MemoryTokenStore(),
                               transport=self.sandbox.transport())
        return Rig(self.sandbox, self.clock, connector.build(self.settings, ctx),
                   self.settings, self.cursor)

    def requests_for(self, fn: Any) -> tuple[Any, int]:
        before = self.sandbox.requests
        result = fn()
        return result, self.sandbox.requests - before


def build_rig(**overrides: Any) -> Rig:
    clock = VirtualClock(datetime(2026, 3, 14, 12, 0, tzinfo=UTC), record_sleeps=True)
    sandbox = GumroadSandbox(seed=7, clock=clock)
    raw = sandbox.connector_settings("https://api.gumroad.com") | overrides
    settings = GumroadSettings.model_validate(raw)
    ctx = ConnectorContext(account="gum", clock=clock, sleep=clock.sleep,
                           token_store=MemoryTokenStore(), transport=sandbox.transport())
    return Rig(sandbox, clock, connector.build(settings, ctx), settings)


@pytest.fixture
def rig() -> Iterator[Rig]:
    built = build_rig()
    yield built
    built.connector.close()


@pytest.fixture
def keep_rig() -> Iterator[Rig]:
    """restock_refunds off: the account default (digital goods, kept items)."""
    built = build_rig(restock_refunds=False)
    yield built
    built.connector.close()
