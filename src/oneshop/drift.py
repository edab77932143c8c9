"""Hand edits: a channel quantity that our pushes and its sales do not explain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from oneshop import alerts
from oneshop.ledger import catalog, store
from oneshop.ledger import models as m

# States in which a listing cannot sell, so its quantity says nothing about stock.
OFF_SALE = frozenset({"inactive", "sold_out", "draft", "expired", "untracked", "removed"})


class Rules(Protocol):
    @property
    def hand_edit_policy(self) -> str: ...


def fold_drift(s: Session, account: str, seen: Sequence[catalog.Seen], rules: Rules,
               now: datetime) -> dict[int, int]:
    """Apply the account's hand-edit policy; returns the stock changes (adopt) by SKU."""
    changes: dict[int, int] = {}
    for item in seen:
        if item.sku_id is None or item.actual is None or item.observed_before is None:
            if item.sku_id is not None and item.observed_before is None:
                catalog.set_observed(s, item.binding_id, item.actual, now)
            continue
        if item.state in OFF_SALE and item.held_qty is None:
            # Not a hand edit, but what we compare our next push with: a stale belief here
            # (e.g. sales on top of an edit we never adopted) made every push "stale".
            if (item.actual != item.observed_before or item.drift_seen is not None
                    or item.raced):
                catalog.set_observed(s, item.binding_id, item.actual, now, drift_seen=None,
                                     raced_qty=0)
            continue
        if (item.held_qty is not None and item.state not in OFF_SALE
                and item.actual != item.observed_before
                and unconfirmed_push(s, item.binding_id, item.actual, item.observed_before)):
            # Our reactivation of a listing we held off sale went through, but its answer
            # was lost: it is on sale again, so it must be pushed like any other.
            catalog.set_observed(s, item.binding_id, item.actual, now, drift_seen=None,
                                 pushed_qty=item.actual, held_qty=None,
                                 deactivated_by_us=False)
            continue
        if item.held_qty is not None or item.actual == item.observed_before:
            if item.drift_seen is not None or (item.raced and item.held_qty is None):
                catalog.set_observed(s, item.binding_id, item.observed_before, now,
                                     drift_seen=None, raced_qty=0)
            continue
        if catalog.raced_explains(item.observed_before, item.raced, item.actual):
            # Sales that raced our blind write, which did not erase them after all.
            catalog.set_observed(s, item.binding_id, item.actual, now, drift_seen=None,
                                 raced_qty=0)
            continue
        if unconfirmed_push(s, item.binding_id, item.actual, item.observed_before):
            # Our own write whose answer was lost (a crash, a timeout): not a hand edit.
            catalog.set_observed(s, item.binding_id, item.actual, now, drift_seen=None,
                                 pushed_qty=item.actual)
            continue
        if item.drift_seen != item.actual:
            # First sighting: a sale may be racing this read; confirm on the next scan.
            catalog.set_observed(s, item.binding_id, item.observed_before, now,
                                 drift_seen=item.actual)
            continue
        delta = item.actual - item.observed_before
        fields = {"listing": item.external_id, "was": item.observed_before, "now": item.actual,
                  "policy": rules.hand_edit_policy}
        if rules.hand_edit_policy == "adopt":
            key = f"edit:{account}:{item.external_id}:{now.isoformat()}"
            why = f"{item.observed_before} -> {item.actual} on {account}"
            if store.record_movement(s, sku_id=item.sku_id, kind="channel_edit", delta=delta,
                                     source_key=key, account=account, reason=why):
                changes[item.sku_id] = changes.get(item.sku_id, 0) + delta
            catalog.set_observed(s, item.binding_id, item.actual, now, drift_seen=None,
                                 raced_qty=0)
        elif rules.hand_edit_policy == "overwrite":
            # Believe the channel's number, so the next push (compare-and-set) overwrites it.
            catalog.set_observed(s, item.binding_id, item.actual, now, drift_seen=None,
                                 raced_qty=0)
        else:
            catalog.set_observed(s, item.binding_id, item.actual, now, drift_seen=None,
                                 pushed_qty=item.actual, raced_qty=0)
        severity = "info" if rules.hand_edit_policy == "adopt" else "warning"
        # Each edit is its own news: keyed by when it was folded in, never reminded.
        alerts.raise_alert(s, "hand_edit", severity, f"quantity changed by hand on {account}",
                           now=now, account=account, sku_id=item.sku_id, remind=False,
                           subject=f"{item.external_id}@{now.isoformat()}", fields=fields)
    return changes


def unconfirmed_push(s: Session, binding_id: int, quantity: int,
                     believed: int | None = None) -> bool:
    """Does a push of ours made after the last one the channel confirmed explain that it
    shows `quantity`, where we believe `believed`?

    Either it shows what we pushed, or sales booked since moved both: the push shifted
    the channel by (pushed - what we believed then) and our belief has followed the
    sales since, so the channel shows our belief plus that shift.
    """
    rows = s.execute(select(m.Push.status, m.Push.quantity, m.Push.observed_before)
                     .where(m.Push.binding_id == binding_id)
                     .order_by(m.Push.id.desc()).limit(50))
    for status, pushed, before in rows:
        if status == "ok":
            return False
        if status not in ("pending", "failed"):
            continue
        if pushed == quantity or (believed is not None and before is not None
                                  and quantity - believed == pushed - before):
            return True
    return False
