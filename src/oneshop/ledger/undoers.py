"""How `oneshop undo` puts back each change a batch noted besides stock (`batches.UNDOERS`).

Each change carries what it replaced; its undoer writes that back and says so in one line.
A change the seller cannot take back from here (a config override: the file would apply
it again at the next start) has no undoer; the undo names it as kept. Take a Session,
never commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from oneshop.ledger import account_state, pausing
from oneshop.ledger import models as m
from oneshop.ledger.batches import UNDOERS
from oneshop.ledger.stock import ensure_skus


def binding_change(s: Session, account: str, listing: str) -> dict[str, Any]:
    """The note a link or unlink makes before it changes the binding: as it was."""
    row = s.execute(select(m.Sku.sku, m.Binding.bound_by, m.Binding.sku_id)
                    .outerjoin(m.Sku, m.Sku.id == m.Binding.sku_id)
                    .where(m.Binding.account == account,
                           m.Binding.external_id == listing)).first()
    sku, bound_by, sku_id = row if row is not None else (None, None, None)
    return {"what": "binding", "account": account, "listing": listing,
            "sku_before": sku, "bound_by_before": bound_by, "sku_id": sku_id}


def _binding(s: Session, change: Mapping[str, Any], now: datetime) -> str:
    before = change.get("sku_before")
    sku_id = ensure_skus(s, {before: ""})[before] if before else None
    s.execute(update(m.Binding).where(m.Binding.account == change["account"],
                                      m.Binding.external_id == change["listing"])
              .values(sku_id=sku_id, bound_by=change.get("bound_by_before")))
    account_state.request_full_plan(s, str(change["account"]))
    where = f"{change['account']} {change['listing']}"
    return f"{where} bound to {before} again" if before else f"{where} unbound again"


def _release(s: Session, change: Mapping[str, Any], now: datetime) -> str:
    account = str(change["account"])
    state = account_state.health(s, account)
    if not state.release_once:
        return f"{account}: the released push batch went out already; nothing to hold back"
    account_state.set_hold(s, account, change.get("hold_before"),
                           release_once=bool(change.get("release_once_before")))
    account_state.request_full_plan(s, account)
    return f"{account}: release withdrawn"


def _pause(s: Session, change: Mapping[str, Any], now: datetime) -> str:
    account = str(change["account"])
    pausing.restore(s, account, change.get("before"))
    return (f"{account}: pause as it was before" if change.get("before")
            else f"{account}: pause ended (listings go back on sale at its next sync)")


def _resume(s: Session, change: Mapping[str, Any], now: datetime) -> str:
    account = str(change["account"])
    before = change.get("before")
    pausing.restore(s, account, before)
    note = (" (refused credentials are not paused again: the next failure does that)"
            if change.get("credentials") else "")
    return (f"{account}: paused again (listings go off sale at its next sync){note}"
            if before else f"{account}: nothing to pause again{note}")


UNDOERS.update({"binding": _binding, "release": _release, "pause": _pause,
                "resume": _resume})
