"""Property: any interleaving of repeated order records books each distinct line once."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session, sessionmaker

from oneshop.ledger import models as m
from oneshop.ledger.db import transaction
from oneshop.values import Order, Restock

from .conftest import assert_consistent, line, order, record, seed_skus, stock

SKUS = ("A", "B", "C")
START = 100


@st.composite
def order_versions(draw: st.DrawFn, n: int) -> tuple[Order, Order]:
    """An order as first seen, and as seen later (a cancellation or partial restock)."""
    count = draw(st.integers(1, 3))
    lines = [line(str(i), draw(st.sampled_from(SKUS)), draw(st.integers(1, 5)))
             for i in range(count)]
    placed = order(f"o{n}", *lines)
    back = [Restock(key=f"r:{ln.external_id}", line_external_id=ln.external_id,
                    quantity=draw(st.integers(0, ln.quantity)), channel_applied=False)
            for ln in lines if draw(st.booleans())]
    return placed, replace(placed, status="cancelled", restocks=tuple(back))


@st.composite
def scenario(draw: st.DrawFn) -> tuple[list[tuple[Order, Order]], list[list[Order]]]:
    versions = [draw(order_versions(n)) for n in range(draw(st.integers(1, 8)))]
    records = draw(st.lists(st.sampled_from([o for pair in versions for o in pair]),
                            max_size=30))
    cuts = sorted(draw(st.lists(st.integers(0, len(records)), max_size=6)))
    pages = [records[a:b] for a, b in zip([0, *cuts], [*cuts, len(records)], strict=True)]
    return versions, [p for p in pages if p]


def expected(versions: list[tuple[Order, Order]], recorded: list[Order]) -> dict[str, int]:
    """The distinct lines of what was recorded, each booked once."""
    seen = {o.external_id for o in recorded}
    later = {o.external_id for o in recorded if o.status == "cancelled"}
    out = dict.fromkeys(SKUS, START)
    for placed, cancelled in versions:
        if placed.external_id in seen:
            for ln in placed.lines:
                out[str(ln.sku)] -= ln.quantity
        if placed.external_id in later:
            sku_of = {ln.external_id: str(ln.sku) for ln in placed.lines}
            for r in cancelled.restocks:
                out[sku_of[r.line_external_id]] += r.quantity
    return out


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=scenario())
def test_any_interleaving_of_repeated_records_books_the_distinct_lines_once(
        engine: Engine, factory: sessionmaker[Session],
        case: tuple[list[tuple[Order, Order]], list[list[Order]]]) -> None:
    versions, pages = case
    with transaction(factory) as s:
        for model in (m.Movement, m.OrderLine, m.Order, m.Sku):
            s.execute(delete(model))
    seed_skus(factory, dict.fromkeys(SKUS, START))
    for page in pages:
        record(factory, "shop", page)
    assert stock(factory) == expected(versions, [o for p in pages for o in p])
    assert_consistent(factory)
