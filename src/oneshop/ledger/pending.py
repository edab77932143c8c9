"""Sales waiting for a link: order lines of a listing bound to no SKU, made after its
account's takeover. They are stored with no SKU and move no stock until the seller runs
`oneshop link` (then `takeover.book_pending` books them, once, with their own order
times). An ignored listing's lines wait for nothing (ignore.py). Read-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from oneshop.ledger import history, ignore
from oneshop.ledger import models as m


@dataclass(frozen=True, slots=True, kw_only=True)
class Waiting:
    """One listing's sales waiting for a link."""

    account: str
    listing: str | None
    channel_sku: str | None
    sales: int  # order lines
    units: int

    def as_dict(self) -> dict[str, Any]:
        return {"account": self.account, "listing": self.listing,
                "channel_sku": self.channel_sku, "sales": self.sales, "units": self.units}


def sold_after(session: Session, account: str, listings: Sequence[str],
               since: datetime) -> dict[str, list[tuple[datetime, int]]]:
    """Per listing, (order time, units) of its order lines made after `since` (whatever
    they are bound to): what its channel took off its own quantity since then."""
    out: dict[str, list[tuple[datetime, int]]] = {}
    if not listings:
        return out
    for listing, made, qty in session.execute(
            select(m.OrderLine.listing_external_id, m.Order.created_at, m.OrderLine.quantity)
            .join(m.Order, m.Order.id == m.OrderLine.order_id)
            .where(m.Order.account == account, m.Order.created_at > since,
                   m.OrderLine.listing_external_id.in_(list(listings)))):
        out.setdefault(str(listing), []).append((made, int(qty)))
    return out


def waiting(session: Session, account: str | None = None) -> list[Waiting]:
    """Per listing (of `account`, or all), the sales a link would book now."""
    q = (select(m.Order.account, m.OrderLine.listing_external_id, m.OrderLine.sku,
                m.OrderLine.quantity, m.Order.created_at, m.Binding.ignored,
                m.Binding.history_until, m.OrderLine.read_at_takeover)
         .join(m.Order, m.Order.id == m.OrderLine.order_id)
         .outerjoin(m.Binding, (m.Binding.account == m.Order.account)
                    & (m.Binding.external_id == m.OrderLine.listing_external_id))
         .where(m.OrderLine.sku_id.is_(None)))
    if account is not None:
        q = q.where(m.Order.account == account)
    cutoffs: dict[str, history.Cutoffs] = {}
    found: dict[tuple[str, str | None], list[Any]] = {}
    for acc, listing, sku, qty, created_at, why, own, read in session.execute(q):
        if why in ignore.IGNORED or read:
            continue
        cut = cutoffs.get(acc) or cutoffs.setdefault(acc, history.account_cutoffs(session, acc))
        cutoff = own or cut.watermark
        if not cut.taken_over or (cutoff is not None and created_at < cutoff):
            continue  # a link books it as history: it waits for nothing
        entry = found.setdefault((acc, listing), [sku, 0, 0])
        entry[1] += 1
        entry[2] += qty
    return [Waiting(account=acc, listing=listing, channel_sku=sku, sales=n, units=units)
            for (acc, listing), (sku, n, units) in sorted(
                found.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))]
