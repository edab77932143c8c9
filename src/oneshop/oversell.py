"""Oversell detection: one alert per episode of a SKU's stock going below zero."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oneshop.ledger import models as m
from oneshop.ledger import store


def check_oversells(s: Session, sku_deltas: Mapping[int, int],
                    now: datetime) -> list[dict[str, Any]]:
    """Alerts (stored, returned for logging after commit) for SKUs that just went below 0."""
    found = []
    for sku_id, delta in sku_deltas.items():
        if delta >= 0:
            continue
        sku = s.get(m.Sku, sku_id)
        assert sku is not None
        s.refresh(sku)
        if sku.adopted_at is None:  # unknown: its count is not ours to judge yet
            continue
        if not (sku.on_hand < 0 <= sku.on_hand - delta):
            continue
        orders = _racing_sales(s, sku_id, units=1 - sku.on_hand)
        fix = (f"find {-sku.on_hand} more unit(s) and run "
               f"`oneshop adjust {sku.sku} +{-sku.on_hand} --reason found`")
        # No sale at all when a hand edit or an adjustment alone crossed 0.
        action = (f"cancel or refund the later order ({orders[0]['account']} "
                  f"{orders[0]['order']}), or {fix}") if orders else (
            f"a count or edit left fewer units than were sold: {fix}")
        fields = {
            "sku": sku.sku, "on_hand": sku.on_hand,
            "orders": [f"{o['account']}:{o['order']} x{o['quantity']}" for o in orders],
            "action": action,
        }
        # One alert per episode: the movement that crossed 0 names it (the newest sale
        # may be an earlier episode's, when an adopted hand edit crosses this time).
        crossed = s.scalar(select(func.max(m.Movement.id)).where(m.Movement.sku_id == sku_id))
        if store.add_alert(s, event="oversell", severity="critical", sku_id=sku_id, now=now,
                           message=f"{sku.sku} sold more units than there were",
                           dedupe_key=f"oversell:{sku_id}:{crossed}", fields=fields):
            found.append(fields)
    return found


def _racing_sales(s: Session, sku_id: int, *, units: int) -> list[dict[str, Any]]:
    """The most recent sales that, together, took the last `units` units (newest first)."""
    rows = s.execute(select(m.Movement.account, m.Movement.order_external_id, m.Movement.delta,
                            m.Movement.source_key)
                     .where(m.Movement.sku_id == sku_id, m.Movement.kind == "sale")
                     .order_by(m.Movement.id.desc()).limit(50))
    out: list[dict[str, Any]] = []
    total = 0
    for account, order, delta, key in rows:
        out.append({"account": account, "order": order, "quantity": -delta, "key": key})
        total += -delta
        if total >= units:
            break
    return out
