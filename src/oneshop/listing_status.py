"""What `oneshop status` adds about listings oneshop does not sync: the ignored ones
(never written, their orders stored with no stock) and the sales waiting for a link."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from oneshop.ledger import ignore, pending


def collect(s: Session) -> dict[str, list[dict[str, Any]]]:
    """`ignored`: each ignored listing, why, and how many order lines it stored;
    `pending`: per listing, the sales (lines) and units a link would book now."""
    return {
        "ignored": [{"account": a, "listing": ext, "channel_sku": sku, "why": why,
                     "order_lines": n} for a, ext, sku, why, n in ignore.ignored_listings(s)],
        "pending": [w.as_dict() for w in pending.waiting(s)],
    }


def render(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=min(Console().width, 80))
    if data.get("ignored"):
        table = Table(title="ignored listings: never written, their orders move no stock")
        for col in ("account", "listing", "sku", "why", "order lines"):
            table.add_column(col, overflow="fold")
        for r in data["ignored"]:
            table.add_row(r["account"], r["listing"], r["channel_sku"] or "-",
                          "by hand" if r["why"] == ignore.HAND else "config glob",
                          str(r["order_lines"]))
        console.print(table)
    if data.get("pending"):
        table = Table(title="sales waiting for a link (`oneshop link ACCOUNT LISTING SKU`)")
        for col in ("account", "listing", "channel sku", "sales", "units"):
            table.add_column(col, overflow="fold")
        for r in data["pending"]:
            table.add_row(r["account"], r["listing"] or "-", r["channel_sku"] or "-",
                          str(r["sales"]), str(r["units"]))
        console.print(table)
