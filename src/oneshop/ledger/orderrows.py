"""The order list: one row per order line, from the ledger's order book, streamed.

What a seller's accounting or spreadsheet reads (`oneshop orders list|export`): no
customer personal data, which the ledger never stores. Rows come in a fixed order
(created time, account, order id, line id), read in batches with `yield_per` so a ledger
of millions of lines is never loaded whole.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oneshop.ledger import models as m

BATCH = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFilter:
    """Which lines: accounts (None: all), SKU, created in [since, until), statuses."""

    accounts: Sequence[str] | None = None
    sku: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    statuses: Sequence[str] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class LineRow:
    account: str
    order_id: str
    line_id: str
    created_at: datetime
    paid_at: datetime | None
    status: str
    sku: str | None
    quantity: int
    unit_price: Decimal
    currency: str
    refunded_quantity: int


def _query(where: OrderFilter) -> Any:
    # The SKU the line counts against when bound, else the SKU text the channel sent.
    sku = func.coalesce(m.Sku.sku, m.OrderLine.sku)
    stmt: Any = (select(m.Order.account, m.Order.external_id, m.OrderLine.external_id,
                   m.Order.created_at, m.Order.paid_at, m.Order.status, sku,
                   m.OrderLine.quantity, m.OrderLine.unit_price, m.Order.currency,
                   m.OrderLine.refunded_quantity)
            .join(m.OrderLine, m.OrderLine.order_id == m.Order.id)
            .outerjoin(m.Sku, m.Sku.id == m.OrderLine.sku_id)
            .order_by(m.Order.created_at, m.Order.account, m.Order.external_id,
                      m.OrderLine.external_id))
    if where.accounts is not None:
        stmt = stmt.where(m.Order.account.in_(list(where.accounts)))
    if where.sku is not None:
        stmt = stmt.where(sku == where.sku)
    if where.since is not None:
        stmt = stmt.where(m.Order.created_at >= where.since)
    if where.until is not None:
        stmt = stmt.where(m.Order.created_at < where.until)
    if where.statuses:
        stmt = stmt.where(m.Order.status.in_(list(where.statuses)))
    return stmt


def order_lines(s: Session, where: OrderFilter, limit: int | None = None
                ) -> Iterator[LineRow]:
    """The lines that match, in the fixed order, fetched `BATCH` at a time."""
    stmt = _query(where)
    if limit is not None:
        stmt = stmt.limit(limit)
    result: Any = s.execute(stmt.execution_options(yield_per=BATCH))
    for (account, order_id, line_id, created, paid, status, sku, quantity, price, currency,
         refunded) in result:
        yield LineRow(account=str(account), order_id=str(order_id), line_id=str(line_id),
                      created_at=created, paid_at=paid, status=str(status),
                      sku=None if sku is None else str(sku), quantity=int(quantity),
                      unit_price=Decimal(price), currency=str(currency),
                      refunded_quantity=int(refunded or 0))
