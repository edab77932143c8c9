"""Alerts a sync raises about listings it cannot bind or SKUs it will not publish."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from oneshop import alerts
from oneshop.ledger import catalog, ignore


def unlinked_subject(listing: str | None, sku: str | None) -> str:
    """One `unlinked_listing` episode per listing, however many of its sales wait (a
    line naming no listing: per channel SKU)."""
    return listing if listing is not None else f"sku:{sku}"


def report_links(s: Session, account: str, linked: catalog.Linked, now: datetime) -> None:
    for external_id in linked.no_sku:
        alerts.raise_alert(s, "unlinked_listing", "warning", "listing has no SKU; bind it "
                           "with `oneshop link`", now=now, account=account,
                           subject=external_id, remind=False, fields={"listing": external_id})
    for external_id in [ext for ext, _ in linked.linked] + linked.ignored:
        alerts.resolve(s, "unlinked_listing", now=now, account=account, subject=external_id)
    for sku, ids in linked.duplicates.items():
        alerts.raise_alert(s, "duplicate_sku", "warning", f"SKU {sku} is on {len(ids)} "
                           "listings; none was bound", now=now, account=account,
                           subject=f"{sku}:{len(ids)}", remind=False,
                           fields={"sku": sku, "listings": ids})


def report_unlinked_sales(s: Session, account: str,
                          unlinked: Sequence[tuple[str | None, str | None]],
                          rules: ignore.ListingRules, now: datetime) -> None:
    """Sales kept pending for a listing bound to no SKU: one episode per listing (its
    sales are booked when it is linked); an ignored listing's sales wait for nothing."""
    if not unlinked:
        return
    for listing, sku in ignore.waiting_for_link(s, account, unlinked, rules):
        alerts.raise_alert(
            s, "unlinked_listing", "warning", "a sale is for a listing bound to no SKU: it "
            "is kept pending and booked when you run `oneshop link`", now=now,
            account=account, subject=unlinked_subject(listing, sku), remind=False,
            fields={"listing": listing, "channel_sku": sku})


def report_unadopted(s: Session, account: str, skus: Sequence[str], now: datetime) -> None:
    """`adopt_new = "manual"`: new SKUs wait for the seller; told once per SKU."""
    for sku in skus:
        alerts.raise_alert(
            s, "sku_unadopted", "warning", f"{sku} is new on {account} and not adopted: "
            "nothing is published for it", now=now, account=account, subject=sku,
            remind=False, fields={"sku": sku, "action": f"check it, then run `oneshop "
                                                        f"adopt --from {account}`"})
