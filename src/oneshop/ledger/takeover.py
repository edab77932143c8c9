"""Taking over a shop that already sells: adopted counts, watermarks, history cut-offs.

Store functions: take a Session, never commit. The rules for which orders are history
live in `history.Cutoffs`; this module records what they read (DESIGN.md 2.8).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from oneshop.ledger import bundles, history, stock
from oneshop.ledger import models as m
from oneshop.ledger.account_state import account_state


def channel_time(session: Session, account: str) -> datetime | None:
    """The newest order time (created or updated) the account's order book holds: the
    channel's own clock, which a watermark must be on (ours may be off by seconds)."""
    at: datetime | None = session.scalar(select(func.max(m.Order.updated_at))
                                         .where(m.Order.account == account))
    return at


def adopt_count(session: Session, *, sku_id: int, quantity: int, key: str, reason: str,
                now: datetime, account: str | None = None) -> int:
    """Make the SKU's on_hand `quantity` with one `count` movement and mark it adopted;
    returns the delta booked (0 when it already was, or for a bundle: it has no count of
    its own, whatever its listings show)."""
    if bundles.is_bundle(session, sku_id):
        return 0
    sku = session.get(m.Sku, sku_id)
    assert sku is not None
    session.refresh(sku)
    delta = quantity - sku.on_hand
    if delta:
        stock.record_movement(session, sku_id=sku_id, kind="count", delta=delta,
                              source_key=key, account=account, reason=reason)
    if sku.adopted_at is None:
        session.execute(update(m.Sku).where(m.Sku.id == sku_id).values(adopted_at=now))
    return delta


def mark_taken_over(session: Session, account: str, watermark: datetime | None,
                    now: datetime) -> None:
    """Record the account's takeover: orders up to `watermark` are history."""
    state = account_state(session, account)
    state.adopted_at = now
    state.watermark_at = watermark
    # Every order the takeover read is history, the newest (at the very watermark) too;
    # a line with no SKU has no history movement to say so, so it is marked.
    session.execute(update(m.OrderLine).where(
        m.OrderLine.sku_id.is_(None), m.OrderLine.order_id.in_(
            select(m.Order.id).where(m.Order.account == account))).values(
        read_at_takeover=True))


def taken_over(session: Session) -> list[str]:
    """Accounts that were taken over (adopted), by name."""
    return list(session.scalars(select(m.AccountState.account)
                                .where(m.AccountState.adopted_at.is_not(None))
                                .order_by(m.AccountState.account)))


PENDING_REASON = "pending until the listing was linked"


def book_pending(session: Session, account: str, external_id: str, sku_id: int, *,
                 counted: bool = False) -> int:
    """Book the sales already recorded for a listing while it was bound to no SKU, under
    the source keys a poll would have used (so nothing is ever booked twice), by the
    takeover's history rules; returns how many were booked as sales.

    counted: the SKU's count was just read from this listing, after these orders were
    pulled, so they are all in it (history)."""
    pending = session.execute(
        select(m.OrderLine.id, m.OrderLine.external_id, m.OrderLine.quantity,
               m.Order.external_id, m.Order.created_at, m.OrderLine.read_at_takeover)
        .join(m.Order, m.Order.id == m.OrderLine.order_id)
        .where(m.Order.account == account, m.OrderLine.listing_external_id == external_id,
               m.OrderLine.sku_id.is_(None))).all()
    if not pending:
        return 0
    cutoffs = history.account_cutoffs(session, account)
    own = session.scalar(select(m.Binding.history_until).where(
        m.Binding.account == account, m.Binding.external_id == external_id))
    kits = bundles.load(session)  # a bundle listing's sales book its components
    booked = 0
    for line_id, line, quantity, order, created_at, read in pending:
        session.execute(update(m.OrderLine).where(m.OrderLine.id == line_id)
                        .values(sku_id=sku_id))
        key = f"sale:{account}:{order}:{line}"
        cutoff = own or cutoffs.watermark
        if (counted or read or not cutoffs.taken_over
                or (cutoff is not None and created_at < cutoff)):
            for sid, _, k, why in bundles.expand(kits, sku_id, history.HISTORY, 0, key,
                                                 history.BEFORE_TAKEOVER):
                stock.record_movement(session, sku_id=sid, kind=history.HISTORY, delta=0,
                                      source_key=k, account=account, reason=why)
            continue
        # Stamped with the order's own time: the SKU's history shows when it sold.
        moves = bundles.expand(kits, sku_id, "sale", -quantity, key, PENDING_REASON)
        new = stock.insert_movements(session, [
            (sid, "sale", d, k, account, order, why) for sid, d, k, why in moves], created_at)
        booked += 1 if new else 0  # a line, however many components it moved
    return booked


def adopt_unknown(session: Session, account: str, now: datetime) -> dict[str, int]:
    """Adopt every unknown SKU bound on this account from what it shows; sku -> count."""
    rows = session.execute(
        select(m.Sku.id, m.Sku.sku, m.Binding.observed_qty)
        .join(m.Binding, m.Binding.sku_id == m.Sku.id)
        .where(m.Binding.account == account, m.Sku.adopted_at.is_(None),
               m.Binding.observed_qty.is_not(None))
        .order_by(m.Sku.sku)).all()
    adopted: dict[str, int] = {}
    kits = bundles.load(session)  # a bundle has no count of its own to adopt
    for sku_id, sku, qty in rows:
        if sku in adopted or qty is None or sku_id in kits:
            continue
        adopt_count(session, sku_id=sku_id, quantity=qty, now=now, account=account,
                    key=f"count:init:{sku}",
                    reason=f"first seen on {account}")
        adopted[sku] = qty
    return adopted


def watermarks(session: Session) -> dict[str, datetime]:
    """Each taken-over account's watermark: orders up to it are history."""
    rows = session.execute(select(m.AccountState.account, m.AccountState.watermark_at))
    return {str(account): at for account, at in rows if at is not None}
