"""`oneshop status`: per listing, what the channel showed at its last read, what oneshop
wants it to show, and a mark that stays while they differ (not only between reconciles).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from oneshop.config import Config
from oneshop.ledger import views

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
    out: dict[str, dict[str, Any]] = {}
    for sku, b in views.bound_listings(s, LIMIT):
        entry = out.setdefault(sku.sku, {"sku": sku.sku, "adopted": sku.adopted_at is not None,
                                         "on_hand": sku.on_hand, "channels": {}})
        rule = rules.get(b.account)
        wants = (views.published(sku.on_hand, sku, rule)
                 if sku.adopted_at is not None and rule is not None else None)
        changed = max((t for t in (b.pushed_at, b.observed_at) if t is not None), default=None)
        entry["channels"][b.account] = {
            "listing": b.external_id, "state": b.state, "shows": b.read_qty,
            "read_at": b.read_at.isoformat() if b.read_at else None,
            "read_ago_s": int((now - b.read_at).total_seconds()) if b.read_at else None,
            "believed": b.observed_qty, "wants": wants,
            "mark": mark(wants=wants, shows=b.read_qty, believed=b.observed_qty,
                         held=b.held_qty, read_at=b.read_at, changed_at=changed)}
    return list(out.values())


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
            cells = [row["sku"] if first else "",
                     (str(row["on_hand"]) if row["adopted"] else "?") if first else "",
                     account, _txt(c["shows"]), _ago(c["read_ago_s"]), _txt(c["wants"]),
                     c["mark"]]
            if wide:
                cells += [c["listing"], c["state"], _txt(c["believed"])]
            table.add_row(*cells)
            first = False
    console.print(table)


def _txt(value: Any) -> str:
    return "-" if value is None else str(value)
