"""A migrated ledger (SQLite always, PostgreSQL when configured) and order builders."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from oneshop.ledger import booking, takeover
from oneshop.ledger import models as m
from oneshop.ledger.db import make_engine, sessions, transaction
from oneshop.ledger.schema import upgrade
from oneshop.ledger.stock import ensure_skus, recount
from oneshop.values import Order, OrderLine, Restock

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


# The accounts these tests book orders for: taken over with no watermark, so every
# order is a sale (an account not taken over books its orders as history).
ACCOUNTS = ("shop", "acct", "etsy", "shopify", "gumroad")


def take_over(engine: Engine, accounts: Sequence[str] = ACCOUNTS) -> None:
    with transaction(sessions(engine)) as s:
        for name in accounts:
            takeover.mark_taken_over(s, name, None, T0)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    upgrade(eng)
    take_over(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return sessions(engine)


def line(ext: str, sku: str | None, qty: int, listing: str | None = None) -> OrderLine:
    return OrderLine(external_id=ext, sku=sku, listing_external_id=listing, quantity=qty,
                     unit_price=Decimal("9.50"))


def order(ext: str, *lines: OrderLine, restocks: Sequence[Restock] = (),
          status: str = "open") -> Order:
    total = sum((ln.unit_price * ln.quantity for ln in lines), Decimal(0))
    return Order(external_id=ext, status=status, currency="EUR",  # type: ignore[arg-type]
                 total=total, created_at=T0, updated_at=T0, lines=tuple(lines),
                 restocks=tuple(restocks))


def seed_skus(factory: sessionmaker[Session], counts: dict[str, int]) -> dict[str, int]:
    """Create SKUs with an initial `count` movement each; returns their ids."""
    with transaction(factory) as s:
        ids = ensure_skus(s, dict.fromkeys(counts, ""))
        for sku, qty in counts.items():
            takeover.adopt_count(s, sku_id=ids[sku], quantity=qty, key=f"count:test:{sku}",
                                 reason="", now=T0)
    return ids


def stock(factory: sessionmaker[Session]) -> dict[str, int]:
    with factory() as s:
        return {sku: on_hand for sku, on_hand in s.execute(select(m.Sku.sku, m.Sku.on_hand))}


def record(factory: sessionmaker[Session], account: str, orders: Sequence[Order]) -> booking.Booked:
    with transaction(factory) as s:
        return booking.record_orders(s, account, orders)


def assert_consistent(factory: sessionmaker[Session]) -> None:
    """The cached on_hand of every SKU equals the sum of its movements."""
    with factory() as s:
        assert recount(s) == {}
