"""`oneshop status`: per listing, what the channel showed at its last read, what oneshop
wants it to show, and a mark that stays while they differ (not only between reconciles).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from oneshop.config import Config
from oneshop.ledger import bundles, stock_models, views
from oneshop.values import CHANNEL_BUNDLE

LIMIT = 500


def mark(*, wants: int | None, shows: int | None, believed: int | None,
         held: int | None, read_at: datetime | None, changed_at: datetime | None) -> str:
    """'' in step; 'unknown' not adopted; 'held' a channel rule holds it (Etsy off sale);
    'pushed' in step by our belief since the last read (a push or a sale in flight, the
    next read confirms it); 'drift' the channel shows something else."""
    if wants is None:
        return "unknown"
    if shows == wants:
        return ""
    if held is not None and held == wants:
        return "held"
    if believed == wants and changed_at is not None and (read_at is None or changed_at > read_at):
        return "pushed"
    return "drift"


def skus(s: Session, config: Config, now: datetime) -> list[dict[str, Any]]:
    rules = {name: a.config for name, a in config.accounts.items()}
    kits = bundles.load(s)
    made = bundles.availability(s, kits) if kits else {}
    out: dict[str, dict[str, Any]] = {}
    listed = views.bound_listings(s, LIMIT)
    week = stock_models.week_sales(s, {sku.id for sku, _ in listed
                                       if sku.capacity_per_week is not None}, now)
    for sku, b in listed:
        # A bundle's stock is what its components make (None: one is not adopted yet).
        stock = made[sku.id] if sku.id in kits else (
            sku.on_hand if sku.adopted_at is not None else None)
        entry = out.setdefault(sku.sku, {"sku": sku.sku, "adopted": stock is not None,
                                         "on_hand": sku.on_hand if stock is None else stock,
                                         "channels": {},
                                         **stock_fields(sku, week.get(sku.id, 0))})
        if sku.id in kits:
            entry["bundle"] = {c.sku: c.quantity for c in kits[sku.id][1]}
        rule = rules.get(b.account)
        wants = (views.published(stock, sku, rule)
                 if stock is not None and rule is not None and b.state != CHANNEL_BUNDLE
                 else None)
        changed = max((t for t in (b.pushed_at, b.observed_at) if t is not None), default=None)
        entry["channels"][b.account] = {
            "listing": b.external_id, "state": b.state, "shows": b.read_qty,
            "read_at": b.read_at.isoformat() if b.read_at else None,
            "read_ago_s": int((now - b.read_at).total_seconds()) if b.read_at else None,
            "believed": b.observed_qty, "wants": wants,
            "mark": "channel bundle" if b.state == CHANNEL_BUNDLE
            else "not pushed" if sku.stock_model == stock_models.UNLIMITED else mark(
                wants=wants, shows=b.read_qty, believed=b.observed_qty, held=b.held_qty,
                read_at=b.read_at, changed_at=changed),
            "sighted": b.drift_seen}
    return list(out.values())


def stock_fields(sku: views.SkuView, sold_this_week: int) -> dict[str, Any]:
    """The SKU's stock model for `status` (docs/stock-models.md), and a short label."""
    fields: dict[str, Any] = {"stock": sku.stock_model}
    if sku.stock_model == stock_models.UNLIMITED:
        fields["label"] = "unlimited"
    elif sku.stock_model == stock_models.MADE_TO_ORDER:
        fields |= {"advertise": sku.advertise, "capacity_per_week": sku.capacity_per_week,
                   "sold_this_week": sold_this_week, "capacity_full": sku.capacity_full}
        fields["label"] = (f"to order {sold_this_week}/{sku.capacity_per_week}"
                           if sku.capacity_per_week is not None else "to order")
    elif sku.backorder:
        fields |= {"backorder": sku.backorder}
        fields["label"] = f"{sku.on_hand} (+{sku.backorder} bo)"
    return fields


def unlimited_candidates(s: Session) -> list[dict[str, Any]]:
    """Unbound listings sold without a count (no cap, not tracked): not bound by SKU
    unless that SKU is unlimited."""
    return [{"account": a, "listing": e, "sku": sku, "title": t}
            for a, e, sku, t in stock_models.unlimited_candidates(s)]


def _ago(seconds: int | None) -> str:
    if seconds is None:
        return "never"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def render(data: dict[str, Any], *, wide: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if wide else min(Console().width, 80))
    channels = Table(title="channels")
    cols = ["account", "last poll", "failures", "state", "budget"]
    for col in cols:
        channels.add_column(col)
    for c in data["channels"]:
        state = "paused" if c["paused"] else "ok" if c["enabled"] else "disabled"
        state = c.get("pause") or state  # which pauses, why, until when
        channels.add_row(c["account"], _ago(c["lag_s"]) + (" ago" if c["lag_s"] is not None
                                                            else ""),
                         str(c["failures"]), state, "" if c["budget_left"] is None
                         else str(c["budget_left"]))
    console.print(channels)
    table = Table(title="listings: shows (at last read) / wants", expand=False)
    for col in ["sku", "stock", "channel", "shows", "read", "wants", "mark"] + (
            ["listing", "state", "believed"] if wide else []):
        table.add_column(col, overflow="fold", max_width=None if wide else 18)
    for row in data["skus"]:
        first = True
        for account, c in row["channels"].items():
            stock = row.get("label") or (str(row["on_hand"]) if row["adopted"] else "?")
            if "bundle" in row:  # what its components make, and of what
                stock = f"{stock} = " + " + ".join(f"{q}x{c}" for c, q in row["bundle"].items())
            cells = [row["sku"] if first else "", stock if first else "",
                     account, _txt(c["shows"]), _ago(c["read_ago_s"]), _txt(c["wants"]),
                     c["mark"]]
            if wide:
                cells += [c["listing"], c["state"], _txt(c["believed"])]
            table.add_row(*cells)
            first = False
    console.print(table)
    for c in data.get("unlimited_candidates", []):
        console.print(f"{c['account']}: {c['listing']} ({c['sku'] or 'no SKU'}) is sold without"
                      " a count: an unlimited candidate, not bound (docs/stock-models.md)")


def _txt(value: Any) -> str:
    return "-" if value is None else str(value)
