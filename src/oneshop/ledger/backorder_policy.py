"""A channel set to keep selling at 0 (Shopify's inventoryPolicy CONTINUE) on a SKU that
takes no backorders: it will sell units that do not exist, and oneshop never writes that
setting (it is the seller's). One `channel_backorders` episode per listing, raised by the
reconcile that reads it, resolved by the one that reads it off (or finds backorders
allowed on the SKU). Store functions: take a Session, never commit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from oneshop import alerts
from oneshop.ledger import models as m
from oneshop.ledger import stock_models
from oneshop.values import Listing

EVENT = "channel_backorders"


def check_page(s: Session, account: str, listings: Sequence[Listing],
               bound: Mapping[str, int | None], now: datetime) -> int:
    """Raise or resolve the episodes of a page of listings just read (`bound`: external
    id -> SKU id); returns how many alert lines were queued."""
    flagged = {li.external_id: bound.get(li.external_id) for li in listings
               if li.sells_below_zero and bound.get(li.external_id) is not None}
    skus = {row.id: row for row in s.scalars(select(m.Sku).where(
        m.Sku.id.in_({i for i in flagged.values() if i is not None})))} if flagged else {}
    episodes = stock_models.open_subjects(s, EVENT, account)
    told = 0
    for listing in listings:
        ext = listing.external_id
        sku = skus.get(flagged.get(ext) or 0)
        if sku is not None and _refuses_backorders(sku):
            told += alerts.raise_alert(
                s, EVENT, "warning", f"{sku.sku} keeps selling at 0 on {account}, but takes "
                "no backorders", now=now, account=account, subject=ext, sku_id=sku.id,
                fields={"listing": ext, "sku": sku.sku, "action": (
                    "turn off \"Continue selling when out of stock\" on the variant, or "
                    f"allow it: skus.\"{sku.sku}\".backorder = N")})
        elif ext in episodes:
            alerts.resolve(s, EVENT, now=now, account=account, subject=ext)
    return told


def _refuses_backorders(sku: m.Sku) -> bool:
    """An unlimited SKU cannot run out; every other one can, unless backorders are on."""
    return sku.stock_model != stock_models.UNLIMITED and sku.backorder == 0
