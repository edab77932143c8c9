"""Fixtures: a Shopify sandbox on a virtual clock and a connector wired to it in-process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from graphql import GraphQLSchema
from oneshop_connectors.shopify import ShopifySettings, connector
from oneshop_connectors.shopify.adapter import ShopifyConnector
from oneshop_sandboxes.shopify import ShopifySandbox
from oneshop_sandboxes.shopify.app import real_schema

from oneshop.protocols import ConnectorContext
from oneshop.testing import MemoryTokenStore, VirtualClock
from oneshop.values import Listing


@dataclass
class Rig:
    clock: VirtualClock
    sandbox: ShopifySandbox
    connector: ShopifyConnector
    store: MemoryTokenStore

    def listings(self) -> dict[str, Listing]:
        return {li.external_id: li for page in self.connector.fetch_listings()
                for li in page.listings}


def make_rig(clock: VirtualClock, sandbox: ShopifySandbox, *,
             sleep: Callable[[float], None] | None = None, **overrides: Any) -> Rig:
    settings_data = sandbox.connector_settings("http://sandbox")
    settings_data.update(overrides)
    settings_data = {k: v for k, v in settings_data.items() if v is not None}
    settings = ShopifySettings.model_validate(settings_data)
    store = MemoryTokenStore()
    ctx = ConnectorContext(account="test", clock=clock, sleep=sleep or clock.sleep,
                           token_store=store, transport=sandbox.transport())
    built = connector.build(settings, ctx)
    assert isinstance(built, ShopifyConnector)
    return Rig(clock, sandbox, built, store)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(datetime(2026, 5, 1, 12, tzinfo=UTC), record_sleeps=True)


@pytest.fixture
def sandbox(clock: VirtualClock) -> ShopifySandbox:
    return ShopifySandbox(seed=3, clock=clock)


@pytest.fixture
def rig(clock: VirtualClock, sandbox: ShopifySandbox) -> Iterator[Rig]:
    built = make_rig(clock, sandbox)
    yield built
    built.connector.close()


@pytest.fixture(scope="session")
def real() -> GraphQLSchema:
    schema = real_schema()
    if schema is None:
        pytest.skip("shopify-admin-2026-04.graphql not found (../shared/specs or "
                    "$ONESHOP_SPECS_DIR)")
    return schema
