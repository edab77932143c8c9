"""Stock models in the ledger (oneshop.ledger.stock_models): the planner's SQL and the
Python rule agree for every model; the made-to-order week counts by the order's time in
UTC; `capacity_reached` is one episode per SKU and week over many refreshes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from structlog.testing import capture_logs

from oneshop.ledger import catalog, stock_models
from oneshop.ledger import models as m
from oneshop.ledger.db import transaction
from oneshop.ledger.stock import ensure_skus, record_movement
from oneshop.values import Listing

from .conftest import T0, line, order, record, seed_skus

# T0 is Monday 2026-01-05 12:00 UTC: ISO week 2026-W02.
MODELS: dict[str, tuple[str, int | None, int | None, int]] = {
    "PLAIN": ("tracked", None, None, 0),
    "PRE": ("tracked", None, None, 3),
    "EBOOK": ("unlimited", None, None, 0),
    "VASE": ("made_to_order", 5, 2, 0),
    "BOWL": ("made_to_order", 4, None, 0),
}


@dataclass(frozen=True)
class Rules:
    reserve: int
    cap: int | None


def _setup(factory: sessionmaker[Session], *, cap: int | None = None) -> dict[str, int]:
    ids = seed_skus(factory, {"PLAIN": 2, "PRE": 2})
    with transaction(factory) as s:
        ids |= ensure_skus(s, dict.fromkeys(["EBOOK", "VASE", "BOWL"], ""))
        stock_models.apply_config(s, MODELS, ids, now=T0)
        if cap is not None:
            s.get(m.Sku, ids["BOWL"]).cap = cap  # type: ignore[union-attr]
        catalog.upsert_listings(s, "shop", [Listing(external_id=f"L-{sku}", sku=sku,
                                                    title=sku, quantity=1)
                                            for sku in MODELS], T0)
        catalog.auto_link(s, "shop", T0)
    return ids


def _planned(factory: sessionmaker[Session], rules: Rules) -> dict[str, int]:
    with factory() as s:
        return {t.sku: t.published for t in catalog.targets(
            s, "shop", reserve=rules.reserve, cap=rules.cap, only_out_of_step=False)}


def _python(factory: sessionmaker[Session], rules: Rules) -> dict[str, int | None]:
    with factory() as s:
        return {sku.sku: stock_models.published(sku.on_hand, sku, rules)
                for sku in s.scalars(select(m.Sku))}


@pytest.mark.parametrize("rules", [Rules(0, None), Rules(1, None), Rules(1, 3), Rules(0, 1)])
def test_the_planner_and_status_publish_the_same_for_every_model(
        factory: sessionmaker[Session], rules: Rules) -> None:
    _setup(factory)
    for on_hand_change in (0, -3, -2, 7):
        with transaction(factory) as s:
            for sku_id in s.scalars(select(m.Sku.id)):
                record_movement(s, sku_id=sku_id, kind="adjust", delta=on_hand_change,
                                source_key=f"adj:{sku_id}:{on_hand_change}")
        planned, python = _planned(factory, rules), _python(factory, rules)
        assert "EBOOK" not in planned and python["EBOOK"] is None, "unlimited: never"
        assert planned == {k: v for k, v in python.items() if v is not None}
    with factory() as s:
        pre = s.scalar(select(m.Sku).where(m.Sku.sku == "PRE"))
    assert pre is not None and pre.on_hand == 2 + 2
    assert _planned(factory, Rules(0, None))["PRE"] == 4 + 3
    assert _planned(factory, Rules(0, None))["VASE"] == 5
    assert _planned(factory, Rules(1, 3))["VASE"] == 3, "the cap applies, the reserve not"


def _sell(factory: sessionmaker[Session], ext: str, sku: str, qty: int, at: Any) -> None:
    o = order(ext, line(f"{ext}-1", sku, qty, f"L-{sku}"))
    record(factory, "shop", [replace(o, created_at=at, updated_at=at)])


def _refresh(factory: sessionmaker[Session], now: Any) -> dict[int, int]:
    with transaction(factory) as s:
        return stock_models.refresh_capacity(s, now)


def _alerts(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(m.Alert)
                            .where(m.Alert.event == "capacity_reached")) or 0)


def test_the_week_is_the_orders_iso_week_in_utc_and_alerts_once(
        factory: sessionmaker[Session]) -> None:
    ids = _setup(factory)
    sunday_late = T0 - timedelta(hours=12, minutes=1)  # Sunday 23:59 of the week before
    _sell(factory, "o-old", "VASE", 1, sunday_late)
    _sell(factory, "o-1", "VASE", 1, T0)
    assert _refresh(factory, T0 + timedelta(hours=1)) == {}, "1 of 2 this week"
    with capture_logs() as logs:
        _sell(factory, "o-2", "VASE", 1, T0 + timedelta(days=2))
        changed = [_refresh(factory, T0 + timedelta(days=2, hours=h)) for h in range(24)]
    assert changed[0] == {ids["VASE"]: 0} and not any(changed[1:])
    assert _planned(factory, Rules(0, None))["VASE"] == 0
    assert _alerts(factory) == 1
    assert [e["episode"] for e in logs if e.get("event") == "capacity_reached"] == ["started"]
    # Sunday 23:59 is still this week; Monday 00:00 is the next one.
    assert _refresh(factory, T0 + timedelta(days=6, hours=11, minutes=59)) == {}
    with capture_logs() as logs:
        assert _refresh(factory, T0 + timedelta(days=6, hours=12)) == {ids["VASE"]: 0}
        for h in range(1, 24):
            _refresh(factory, T0 + timedelta(days=6, hours=12 + h))
    assert [e["episode"] for e in logs if e.get("event") == "capacity_reached"] == ["resolved"]
    assert _planned(factory, Rules(0, None))["VASE"] == 5
    assert _alerts(factory) == 1
    with factory() as s:  # `history VASE` says why, and every account's plan looks again
        reasons = list(s.scalars(select(m.Movement.reason).where(
            m.Movement.kind == "capacity").order_by(m.Movement.id)))
    assert reasons == ["week 2026-W02: 2/2 sold, channels show 0",
                       "week 2026-W03: 0/2 sold, channels show 5"]


def test_a_cancellation_frees_a_slot_and_the_week_is_told_once(
        factory: sessionmaker[Session]) -> None:
    from oneshop.values import Restock

    ids = _setup(factory)
    _sell(factory, "o-1", "VASE", 2, T0)
    assert _refresh(factory, T0) == {ids["VASE"]: 0}
    o = order("o-1", line("o-1-1", "VASE", 2, "L-VASE"), status="cancelled",
              restocks=[Restock(key="c", line_external_id="o-1-1", quantity=2,
                                channel_applied=False)])
    record(factory, "shop", [o])
    assert _refresh(factory, T0 + timedelta(hours=1)) == {ids["VASE"]: 0}, "free again"
    _sell(factory, "o-2", "VASE", 2, T0 + timedelta(hours=2))
    with capture_logs() as logs:
        assert _refresh(factory, T0 + timedelta(hours=3)) == {ids["VASE"]: 0}
    assert _alerts(factory) == 1, "the same week's news"
    assert not [e for e in logs if e.get("event") == "capacity_reached"]


def test_unlimited_candidates_bind_only_to_an_unlimited_sku(
        factory: sessionmaker[Session]) -> None:
    _setup(factory)
    with transaction(factory) as s:
        catalog.upsert_listings(s, "gum", [
            Listing(external_id="g1", sku="EBOOK", title="", quantity=None),
            Listing(external_id="g2", sku="PLAIN", title="", quantity=None),
            Listing(external_id="g3", sku="NEW", title="", quantity=None,
                    state="untracked"),
            Listing(external_id="g4", sku="PRE", title="", quantity=None,
                    state="unstocked"),
            Listing(external_id="g5", sku="BOWL", title="", quantity=3)], T0)
        linked = catalog.auto_link(s, "gum", T0)
        candidates = stock_models.unlimited_candidates(s)
    assert sorted(linked.linked) == [("g1", "EBOOK"), ("g4", "PRE"), ("g5", "BOWL")]
    assert sorted(linked.unlimited) == ["g2", "g3"]
    assert [(a, e) for a, e, _, _ in candidates] == [("gum", "g2"), ("gum", "g3")]
