"""Operator batches in the ledger (`ledger.batches`): what a batch stamps, what an undo
appends, and what it never touches (orders), on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from oneshop.app import apply_sku_overrides
from oneshop.config import Config, FileConfig, ServiceConfig, SkuOverride
from oneshop.ledger import batches, booking, catalog, stock
from oneshop.ledger import models as m
from oneshop.ledger import undoers as _undoers
from oneshop.ledger.db import transaction

from .conftest import T0, line, order


def _moves(s: Session, *where: object) -> int:
    return int(s.scalar(select(func.count()).select_from(m.Movement).where(*where)) or 0)


def _shop(factory: sessionmaker[Session]) -> dict[str, int]:
    """Two SKUs with sales, a restock and a correction behind them."""
    with transaction(factory) as s:
        ids = stock.ensure_skus(s, {"MUG": "", "PIN": ""})
        for sku in ids:
            stock.record_movement(s, sku_id=ids[sku], kind="count", delta=10,
                                  source_key=f"count:{sku}")
        booking.record_orders(s, "shop", [order("o1", line("l1", "MUG", 2)),
                                          order("o2", line("l2", "PIN", 1))], now=T0)
    return ids


def test_a_batch_stamps_its_movements_and_an_undo_appends_once(
        factory: sessionmaker[Session]) -> None:
    ids = _shop(factory)
    with transaction(factory) as s:
        with batches.operator_batch(s, "oneshop adjust MUG -3", "broken", kind="adjust") as b:
            stock.record_movement(s, sku_id=ids["MUG"], kind="adjust", delta=-3,
                                  source_key="adjust:1")
            stock.record_movement(s, sku_id=ids["PIN"], kind="adjust", delta=+1,
                                  source_key="adjust:2")
        booking.record_orders(s, "shop", [order("o3", line("l3", "MUG", 1))], now=T0)
        batch = b.id
    with factory() as s:
        assert _moves(s, m.Movement.batch_id == batch) == 2
        assert _moves(s, m.Movement.batch_id.is_(None)) == 5, "sales carry no batch"
        (view,) = batches.listed(s)
        assert (view.movements, view.units, view.command) == (2, -2, "oneshop adjust MUG -3")
    for attempt in range(3):
        with transaction(factory) as s:
            done = batches.undo(s, batch, "oneshop undo", None, T0)
            if attempt == 0:
                assert sorted(done.stock) == [("MUG", 3), ("PIN", -1)]
            else:
                assert done.already_by is not None and done.stock == []
    with factory() as s:
        assert stock.on_hand(s, ids["MUG"]) == 10 - 2 - 1
        assert stock.on_hand(s, ids["PIN"]) == 10 - 1
        assert _moves(s) == 4 + 2 + 2 + 1
        assert not stock.recount(s)
        kinds = [v.kind for v in batches.listed(s)]
        assert kinds == ["undo", "adjust"]


def test_orders_a_batch_booked_are_never_undone(factory: sessionmaker[Session]) -> None:
    """A link books the listing's pending sales inside its batch: the undo unbinds it and
    keeps the sales."""
    ids = _shop(factory)
    with transaction(factory) as s:
        catalog.upsert_listings(s, "shop", [], T0)
        s.add(m.Binding(account="shop", external_id="L9", state="active", extra={}))
        s.flush()
        booking.record_orders(s, "shop", [order("o9", line("l9", None, 2, listing="L9"))], now=T0)
    with transaction(factory) as s:
        with batches.operator_batch(s, "oneshop link shop L9 PIN", None, kind="link") as b:
            b.note(_undoers.binding_change(s, "shop", "L9"))
            assert catalog.link(s, "shop", "L9", "PIN")
        batch = b.id
    with factory() as s:
        assert stock.on_hand(s, ids["PIN"]) == 10 - 1 - 2
    with transaction(factory) as s:
        done = batches.undo(s, batch, "oneshop undo", None, T0)
        assert done.stock == [] and "orders are never undone" in done.kept[0]
        assert done.restored == ["shop L9 unbound again"]
    with factory() as s:
        assert stock.on_hand(s, ids["PIN"]) == 10 - 1 - 2
        assert s.scalar(select(m.Binding.sku_id).where(m.Binding.external_id == "L9")) is None


def test_config_overrides_applied_are_a_batch_only_when_they_change(
        factory: sessionmaker[Session], tmp_path: Path) -> None:
    _shop(factory)
    url = str(factory.kw["bind"].url.render_as_string(hide_password=False))
    config = Config(path=tmp_path / "oneshop.toml",
                    file=FileConfig(service=ServiceConfig(database_url=url)),
                    database_url=url, state_dir=tmp_path, accounts={}, secrets=())
    config.file.skus["MUG"] = SkuOverride(reserve=2)
    for _ in range(3):  # every start and reload applies them; only a change is a batch
        apply_sku_overrides(factory, config)
    config.file.skus.clear()
    apply_sku_overrides(factory, config)
    with factory() as s:
        views = batches.listed(s)
        assert [(v.kind, v.changes) for v in views] == [("config", 1), ("config", 1)]
        assert views[0].command == f"config {tmp_path / 'oneshop.toml'}"
    with transaction(factory) as s, pytest.raises(batches.CannotUndo, match="edit the file"):
        batches.undo(s, views[0].id, "oneshop undo", None, T0)
