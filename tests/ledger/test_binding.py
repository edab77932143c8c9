"""The binding's state machine: its transitions are the only writers of the binding's
observed-state columns, and each writes what its name says."""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import oneshop
from oneshop.ledger import binding, catalog
from oneshop.ledger import models as m
from oneshop.ledger.db import transaction
from oneshop.values import Listing

from .conftest import T0

STATE = {"observed_qty", "observed_at", "pushed_qty", "pushed_at", "held_qty", "drift_seen",
         "raced_qty", "deactivated_by_us", "stale_pushes", "stale_reconciles",
         "restock_pending"}
SRC = Path(oneshop.__file__).parent


def _named(nodes: list[ast.expr | None]) -> set[str]:
    return {n.value for n in nodes
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in STATE}


def _writes(tree: ast.AST) -> set[str]:
    """State columns named by keywords or dict keys of .values()/.update() calls, by
    add_to() calls, or assigned as attributes."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = (func.attr if isinstance(func, ast.Attribute)
                    else func.id if isinstance(func, ast.Name) else "")
            if name.endswith("add_to"):  # bulk.add_to(session, table, "column", deltas)
                found |= _named(list(node.args))
            if name in ("values", "update"):
                found |= {k.arg for k in node.keywords if k.arg in STATE}
                for arg in node.args:
                    if isinstance(arg, ast.Dict):
                        found |= _named(arg.keys)
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AugAssign) else [])
        flat = [e for t in targets for e in (t.elts if isinstance(t, ast.Tuple) else [t])]
        found |= {t.attr for t in flat if isinstance(t, ast.Attribute) and t.attr in STATE}
    return found


def test_only_the_transitions_write_the_binding_state() -> None:
    writers = {str(p.relative_to(SRC)): cols for p in sorted(SRC.rglob("*.py"))
               if "migrations" not in p.parts
               and (cols := _writes(ast.parse(p.read_text(encoding="utf-8"))))}
    assert set(writers) == {"ledger/binding.py"}, writers


def _row(factory: sessionmaker[Session]) -> m.Binding:
    with factory() as s:
        row = s.scalar(select(m.Binding))
        assert row is not None
        s.expunge(row)
        return row


def test_a_confirmed_write_settles_every_hold_race_and_count(
        factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        seen = catalog.upsert_listings(s, "etsy", [Listing(
            external_id="1", sku="A", title="", quantity=4, state="active")], T0)
        bid = seen[0].binding_id
        binding.hold_refused(s, bid, 4, T0, held=2, deactivated_by_us=True)
        binding.note_raced_sales(s, {bid: 1})
        binding.count_stale_push(s, bid, 4, T0, deactivated_by_us=True)
        binding.expect_channel_restock(s, "etsy", "1", 3)
    before = _row(factory)
    assert (before.held_qty, before.raced_qty, before.stale_pushes,
            before.restock_pending, before.deactivated_by_us) == (2, 1, 1, 3, True)
    with transaction(factory) as s:
        binding.confirm_written(s, bid, 2, T0)
    after = _row(factory)
    assert (after.observed_qty, after.pushed_qty, after.held_qty, after.raced_qty,
            after.stale_pushes, after.stale_reconciles, after.restock_pending,
            after.deactivated_by_us) == (2, 2, None, 0, 0, 0, 0, False)


def test_a_sighting_keeps_the_belief(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        seen = catalog.upsert_listings(s, "etsy", [Listing(
            external_id="1", sku="A", title="", quantity=4, state="active")], T0)
        binding.suspect_hand_edit(s, seen[0].binding_id, 4, T0, seen=9)
    row = _row(factory)
    assert (row.observed_qty, row.drift_seen) == (4, 9)
