"""Hostile payloads, mapped and then recorded: only well-formed lines ever move stock.

The per-connector fuzz tests (tests/<kind>/test_mapping_fuzz.py) prove mapping returns a
value or a Rejected; here the results go on through `booking.record_orders`, as the engine
sends them, and on_hand must move by exactly the well-formed lines of known SKUs.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from etsy.test_mapping_fuzz import maybe as etsy_maybe
from etsy.test_mapping_fuzz import receipt
from gumroad.test_mapping_fuzz import PRODUCT, junk, sale_like
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oneshop_connectors.etsy.mapping import map_receipt
from oneshop_connectors.gumroad import mapping as gumroad_mapping
from oneshop_connectors.shopify import mapping as shopify_mapping
from shopify.test_mapping_fuzz import maybe as shopify_maybe
from shopify.test_mapping_fuzz import order as shopify_order
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from oneshop.ledger import booking, records, stock
from oneshop.ledger import models as m
from oneshop.ledger.db import make_engine, transaction
from oneshop.values import Order, Rejected
from sim.world import migrated_template

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])

MAPPERS: dict[str, tuple[st.SearchStrategy[Any], Callable[[Any], Order | Rejected]]] = {
    "etsy": (etsy_maybe(receipt), map_receipt),
    "shopify": (shopify_maybe(shopify_order), shopify_mapping.order_from_node),
    "gumroad": (st.one_of(sale_like, junk),
                lambda raw: gumroad_mapping.map_sale(raw, PRODUCT, restock_refunds=True)),
}


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / "fuzz.sqlite3"
    shutil.copyfile(migrated_template(), path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def _expected(account: str, orders: list[Order], known: set[str]) -> dict[str, int]:
    """What recording these orders, one page each, must do to each known SKU."""
    seen: set[str] = set()
    moves: dict[str, int] = {}
    for order in orders:
        sku_of = {line.external_id: line.sku for line in order.lines}
        keyed = [(f"sale:{account}:{order.external_id}:{line.external_id}", line.sku,
                  -line.quantity) for line in order.lines]
        keyed += [(f"restock:{account}:{order.external_id}:{r.key}",
                   sku_of.get(r.line_external_id), r.quantity)
                  for r in order.restocks if r.quantity > 0]
        for key, sku, delta in sorted(keyed, key=lambda k: k[0]):
            if sku in known and key not in seen:
                seen.add(key)
                moves[sku] = moves.get(sku, 0) + delta
    return moves


def _on_hand(s: Session) -> dict[str, int]:
    return {sku: int(n) for sku, n in s.execute(select(m.Sku.sku, m.Sku.on_hand))}


@pytest.mark.parametrize("account", sorted(MAPPERS))
@FUZZ
@given(data=st.data())
def test_only_well_formed_lines_of_known_skus_move_stock(ledger: Engine, account: str,
                                                         data: st.DataObject) -> None:
    strategy, mapper = MAPPERS[account]
    raws = data.draw(st.lists(strategy, min_size=1, max_size=6), label="payloads")
    mapped = [mapper(raw) for raw in raws]
    assert all(isinstance(x, Order | Rejected) for x in mapped)
    orders = [x for x in mapped if isinstance(x, Order)]
    rejected = [x for x in mapped if isinstance(x, Rejected)]
    line_skus = sorted({ln.sku for o in orders for ln in o.lines if ln.sku})
    known = set(data.draw(st.lists(st.sampled_from(line_skus), unique=True), label="known")
                if line_skus else [])
    known |= {"UNTOUCHED"}
    sessions = sessionmaker(ledger, expire_on_commit=False)
    with transaction(sessions) as s:
        s.query(m.Movement).delete()
        s.query(m.OrderLine).delete()
        s.query(m.Order).delete()
        s.query(m.RejectedRecord).delete()
        s.query(m.Sku).delete()
        for sku, sku_id in stock.ensure_skus(s, dict.fromkeys(sorted(known), "")).items():
            stock.record_movement(s, sku_id=sku_id, kind="count", delta=3,
                                  source_key=f"count:init:{sku}")
    for order in orders:  # one page each, as a pull sends them
        with transaction(sessions) as s:
            booking.record_orders(s, account, [order])
    with transaction(sessions) as s:
        records.add_rejected(s, account, "orders", rejected)
    with sessions() as s:
        after = _on_hand(s)
        assert stock.recount(s) == {}
        kept = s.scalars(select(m.RejectedRecord.raw)).all()
    want = _expected(account, orders, known)
    assert after == {sku: 3 + want.get(sku, 0) for sku in known}
    assert sorted(kept) == sorted(r.raw for r in rejected)
    assert all(ln.quantity > 0 for o in orders for ln in o.lines if ln.sku in known), \
        "a line that moves stock must sell at least one unit"
