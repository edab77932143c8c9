"""Oversell detection: an episode per SKU below zero (oneshop.alerts), told again when it
deepens (naming the new orders) and resolved when the SKU is back at zero or above."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oneshop import alerts
from oneshop.ledger import models as m
from oneshop.ledger import stock_models

EVENT = "oversell"


def check_oversells(s: Session, sku_deltas: Mapping[int, int],
                    now: datetime) -> list[dict[str, Any]]:
    """Raise, deepen or resolve the oversell episodes of SKUs whose stock just moved;
    returns the fields of the alerts raised (logged when the transaction commits)."""
    found = []
    # One query for the open episodes: this runs for every page of orders booked.
    episodes = alerts.open_subjects(s, EVENT) if sku_deltas else {}
    for sku_id, delta in sku_deltas.items():
        subject = str(sku_id)
        if delta >= 0 and subject not in episodes:
            continue  # a rise cannot start an episode
        sku = s.get(m.Sku, sku_id)
        assert sku is not None
        s.refresh(sku)
        if sku.adopted_at is None:  # unknown: its count is not ours to judge yet
            continue
        # Backorders may take it to -backorder; an unlimited or made-to-order SKU has no
        # shelf to oversell (stock_models.py).
        floor = stock_models.oversell_floor(sku)
        if floor is None or sku.on_hand >= floor:
            if subject in episodes:
                alerts.resolve(s, EVENT, now=now, subject=subject)
            continue
        if delta >= 0:
            continue  # still below the floor, but no worse
        # The movement that crossed 0 names the episode: an episode whose end we did not
        # see (an `oneshop adjust` back above 0) must not swallow the next crossing.
        crossed = s.scalar(select(func.max(m.Movement.id)).where(m.Movement.sku_id == sku_id))
        crossing = f"oversell:{sku_id}:{crossed}"
        episode = episodes.get(subject)
        if sku.on_hand - delta >= floor and episode is not None and episode.dedupe_key != crossing:
            alerts.resolve(s, EVENT, now=now, subject=subject)
            episode = None
        fields = _fields(s, sku, episode, floor)
        if alerts.raise_alert(s, EVENT, "critical", f"{sku.sku} sold more units than there were",
                              now=now, subject=subject, sku_id=sku_id, fields=fields,
                              deepen_on="oversold", dedupe_key=crossing):
            found.append(fields)
    return found


def sweep(s: Session, now: datetime) -> None:
    """Resolve episodes whose SKU is back at 0 or above by a way the pulls do not see
    (`oneshop adjust`), and remind those that last."""
    for subject, episode in alerts.open_subjects(s, EVENT).items():
        sku = s.get(m.Sku, int(subject)) if subject.isdigit() else None
        floor = stock_models.oversell_floor(sku) if sku is not None else None
        if sku is None or floor is None or sku.on_hand >= floor:
            alerts.resolve(s, EVENT, now=now, subject=subject)
        else:
            alerts.raise_alert(s, EVENT, "critical", episode.message, now=now,
                               subject=subject, sku_id=sku.id, fields=episode.fields)


def _fields(s: Session, sku: m.Sku, episode: m.Alert | None, floor: int = 0
            ) -> dict[str, Any]:
    oversold = floor - sku.on_hand  # below what backorders allow
    before = int(episode.fields.get("oversold", 0)) if episode is not None else 0
    # A deeper episode names the sales that took it deeper; a new one those that crossed.
    orders = _racing_sales(s, sku.id, units=max(1, oversold - before) if before else 1 + oversold)
    fix = (f"find {oversold} more unit(s) and run "
           f"`oneshop adjust {sku.sku} +{oversold} --reason found`")
    # No sale at all when a hand edit or an adjustment alone crossed 0.
    action = (f"cancel or refund the later order ({orders[0]['account']} "
              f"{orders[0]['order']}), or {fix}") if orders else (
        f"a count or edit left fewer units than were sold: {fix}")
    return {"sku": sku.sku, "on_hand": sku.on_hand, "oversold": oversold,
            # A component sold in a bundle names the bundle: the seller cancels that order.
            "orders": [f"{o['account']}:{o['order']} x{o['quantity']}"
                       + (f" ({o['reason']})" if o["reason"].startswith("sold as") else "")
                       for o in orders],
            "action": action}


def _racing_sales(s: Session, sku_id: int, *, units: int) -> list[dict[str, Any]]:
    """The most recent sales that, together, took the last `units` units (newest first)."""
    rows = s.execute(select(m.Movement.account, m.Movement.order_external_id, m.Movement.delta,
                            m.Movement.source_key, m.Movement.reason)
                     .where(m.Movement.sku_id == sku_id, m.Movement.kind == "sale")
                     .order_by(m.Movement.id.desc()).limit(50))
    out: list[dict[str, Any]] = []
    total = 0
    for account, order, delta, key, reason in rows:
        out.append({"account": account, "order": order, "quantity": -delta, "key": key,
                    "reason": reason or ""})
        total += -delta
        if total >= units:
            break
    return out
