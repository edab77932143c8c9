"""Which of an account's orders are history: already in the counts adopted at its
takeover (DESIGN.md 2.8), so they move no stock. Take a Session, never commit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from oneshop.ledger import models as m
from oneshop.values import Order

HISTORY = "history"  # movement kind of a sale or restock already in the adopted counts
BEFORE_TAKEOVER = "before the takeover: already in the adopted count"


@dataclass(frozen=True, slots=True, kw_only=True)
class Cutoffs:
    """Which of an account's orders are history.

    Before the takeover every order is history. After it, a sale is history when its
    order was created before the cut-off (the listing's own, for a listing adopted after
    the takeover, else the account's watermark), and a restock when its order was last
    updated before it. (What the takeover itself read is history already, under its
    source keys; an order at the very watermark that it did not read is new.)

    A history movement is stored with delta 0 under the same source key a sale would
    use, so a later read of the same order never books it.
    """

    taken_over: bool
    watermark: datetime | None
    by_listing: Mapping[str, datetime]
    own: bool = False  # some listing of the account has a cut-off of its own

    def sale_is_history(self, listing: str | None, created_at: datetime) -> bool:
        cutoff = self._cutoff(listing)
        return not self.taken_over or (cutoff is not None and created_at < cutoff)

    def restock_is_history(self, listing: str | None, updated_at: datetime) -> bool:
        cutoff = self._cutoff(listing)
        return not self.taken_over or (cutoff is not None and updated_at < cutoff)

    def _cutoff(self, listing: str | None) -> datetime | None:
        return self.by_listing.get(listing or "", self.watermark)


def load_cutoffs(session: Session, account: str, orders: Sequence[Order],
                 base: Cutoffs | None = None) -> Cutoffs:
    """The account's takeover state, with the listing cut-offs these orders may need.

    base: the account's state read earlier in the same pull (`account_cutoffs`), so a
    page costs no lookup unless some listing of the account has a cut-off of its own."""
    base = base or account_cutoffs(session, account)
    oldest = min((o.created_at for o in orders), default=None)
    if not base.taken_over or not base.own or oldest is None:
        return base
    # Only a cut-off later than this page's oldest order can make any of its lines history.
    rows: Any = session.connection().execute(
        select(m.Binding.external_id, m.Binding.history_until)
        .where(m.Binding.account == account, m.Binding.history_until > oldest))
    return Cutoffs(taken_over=True, watermark=base.watermark, own=True,
                   by_listing={ext: at for ext, at in rows})


def account_cutoffs(session: Session, account: str) -> Cutoffs:
    """Whether the account was taken over, its watermark, and whether any of its listings
    (adopted after the takeover) has a cut-off of its own."""
    conn = session.connection()
    state = conn.execute(select(m.AccountState.adopted_at, m.AccountState.watermark_at)
                         .where(m.AccountState.account == account)).first()
    if state is None or state.adopted_at is None:
        return Cutoffs(taken_over=False, watermark=None, by_listing={})
    own = conn.execute(select(m.Binding.id).where(
        m.Binding.account == account, m.Binding.history_until.is_not(None)).limit(1)).first()
    return Cutoffs(taken_over=True, watermark=state.watermark_at, by_listing={},
                   own=own is not None)
