"""Hand edits: a channel quantity that our pushes and its sales do not explain.

Each reconcile reads every bound listing and folds what it shows into what we believe it
shows (`bindings.observed_qty`). A listing moves through these cases, in this order:

| case                                   | what the reconcile does                          |
| -------------------------------------- | ------------------------------------------------ |
| off sale, not held (or stuck)          | believe the read: an off-sale quantity is no stock |
| held, back on sale by our lost answer  | believe the read, release the hold, push as usual |
| held, back on sale by the seller       | release the hold; a typed number (> 0) is compared |
|                                        | with what it should show, a 0 is pushed over     |
| held (a policy keeps it)               | note a differing read (a sighting), change nothing |
| read = belief                          | nothing (clear an old sighting)                  |
| rise = a cancellation it may restock   | believe the read: the channel's own restock      |
| sales that raced a blind write         | believe the read                                 |
| our own push whose answer was lost     | believe the read                                 |
| first sighting of a new value          | remember it; a sale may be racing this read      |
| second sighting                        | a hand edit: the account's policy folds it in    |

A listing whose pushes come back stale on `STUCK_AFTER` reconciles in a row is *stuck*:
no hold stops its next confirmed read being folded in. If its pushes still come back
stale on the next reconcile, `push_stuck` is alerted once for the episode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from oneshop import alerts
from oneshop.ledger import binding, bundles, catalog, stock, stock_models
from oneshop.ledger import models as m
from oneshop.values import CHANNEL_BUNDLE, Order

# States in which a listing cannot sell, so its quantity says nothing about stock.
OFF_SALE = frozenset({"inactive", "sold_out", "draft", "expired", "untracked", "removed",
                      "unstocked",
                      CHANNEL_BUNDLE})  # a channel's bundle: its quantity is its parts'
# Reconciles in a row that found stale pushes before a listing counts as stuck: one is a
# hand edit on its way to its second sighting; two means something keeps it from settling.
STUCK_AFTER = 2
# ...and one more, after the stuck listing was re-read and folded in: tell the seller.
ALERT_AFTER = STUCK_AFTER + 1


class Rules(Protocol):
    @property
    def hand_edit_policy(self) -> str: ...


def fold_drift(s: Session, account: str, seen: Sequence[catalog.Seen], rules: Rules,
               now: datetime) -> dict[int, int]:
    """Apply the account's hand-edit policy; returns the stock changes (adopt) by SKU."""
    changes: dict[int, int] = {}
    uncounted = stock_models.not_counted(s, (item.sku_id for item in seen))
    advertised = stock_models.advertised(s, [i for i, model in uncounted.items()
                                             if model == stock_models.MADE_TO_ORDER])
    for item in seen:
        model = uncounted.get(item.sku_id or 0)
        if model == stock_models.UNLIMITED or (
                item.actual is not None and item.actual == advertised.get(item.sku_id or 0)
                and item.held_qty is None):
            # Unlimited: never pushed, nothing to reconcile. Made to order showing what it
            # should (a channel that does not count made-to-order sales down): in step.
            _believe_read(s, item, now)
            continue
        streak = _stale_streak(s, item)
        # Made to order: no count to adopt an edit into; the next push shows `advertise`.
        own = OVERWRITE if model == stock_models.MADE_TO_ORDER else rules
        delta = _fold_one(s, account, item, own, now, stuck=streak >= STUCK_AFTER)
        if delta and item.sku_id is not None:
            changes[item.sku_id] = changes.get(item.sku_id, 0) + delta
        if streak == ALERT_AFTER:
            _alert_push_stuck(s, account, item, now)
    return changes


@dataclass(frozen=True, slots=True)
class _Policy:
    hand_edit_policy: str


OVERWRITE = _Policy("overwrite")


def _believe_read(s: Session, item: catalog.Seen, now: datetime) -> None:
    """A read with nothing to fold in: only remembered (status, the next push)."""
    if item.observed_before is None:
        binding.believe_first_read(s, item.binding_id, item.actual, now)
    elif item.actual != item.observed_before:
        binding.believe_read(s, item.binding_id, item.actual, now)


def _stale_streak(s: Session, item: catalog.Seen) -> int:
    """Reconciles in a row (this one included) that found stale pushes to the listing."""
    streak = item.stale_reconciles + 1 if item.stale_pushes > 0 else 0
    if (streak, 0) != (item.stale_reconciles, item.stale_pushes):
        binding.count_stale_reconcile(s, item.binding_id, streak)
    return streak


def _fold_one(s: Session, account: str, item: catalog.Seen, rules: Rules, now: datetime,
              *, stuck: bool) -> int:
    """One listing as just read (the table in the module docstring); the stock adopted."""
    if item.sku_id is None or item.actual is None or item.observed_before is None:
        if item.sku_id is not None and item.observed_before is None:
            binding.believe_first_read(s, item.binding_id, item.actual, now)
        return 0
    if item.state in OFF_SALE and (item.held_qty is None or stuck):
        # Not a hand edit, but what we compare our next push with: a stale belief here
        # (e.g. sales on top of an edit we never adopted) made every push "stale".
        if (item.actual != item.observed_before or item.drift_seen is not None
                or item.raced or item.held_qty is not None):
            binding.believe_read(s, item.binding_id, item.actual, now)
        return 0
    if item.held_qty is not None and _back_on_sale(s, item, now):
        return 0
    if item.held_qty is not None and not stuck:
        # Held by a policy: nothing is pushed or folded. A differing read is still noted,
        # so a listing stuck this way is folded in at once when it is found stuck.
        if item.drift_seen != (item.actual if item.actual != item.observed_before else None):
            binding.suspect_hand_edit(s, item.binding_id, item.observed_before, now,
                                      seen=item.actual
                                      if item.actual != item.observed_before else None)
        return 0
    if item.actual == item.observed_before:
        if item.drift_seen is not None or item.raced or item.held_qty is not None:
            binding.believe_read(s, item.binding_id, item.observed_before, now)
        return 0
    if _explained(s, item, now):
        return 0
    if item.drift_seen != item.actual:
        # First sighting: a sale may be racing this read; confirm on the next scan.
        binding.suspect_hand_edit(s, item.binding_id, item.observed_before, now,
                                  seen=item.actual)
        return 0
    return _fold_edit(s, account, item, rules, now)


def _back_on_sale(s: Session, item: catalog.Seen, now: datetime) -> bool:
    """A held listing on sale again: by our reactivation whose answer was lost, or by the
    seller (an Etsy listing renewed or reactivated by hand). True when handled."""
    if item.state in OFF_SALE:
        return False
    assert item.actual is not None and item.held_qty is not None
    if item.actual != item.observed_before and unconfirmed_push(
            s, item.binding_id, item.actual, item.observed_before):
        # Our reactivation went through, but its answer was lost: it is on sale again,
        # so it must be pushed like any other.
        binding.believe_lost_reactivation(s, item.binding_id, item.actual, now)
        return True
    if item.state_before not in OFF_SALE:
        return False
    if item.held_qty == 0 or item.actual == 0:
        # Nothing typed: the phantom quantity Etsy keeps on a listing it could not zero
        # (#581), or a variant left at the 0 it sold out at when the seller renewed
        # another. Not stock: believe it, so the next push shows what the ledger has
        # (or takes the listing off sale again by the zero-stock policy, and says so).
        binding.release_hold(s, item.binding_id, item.actual, now)
        return True
    # The seller put it back on sale (renewed it) and typed a quantity: it should show
    # what we held for it. The same number settles it; another is a hand edit measured
    # from the held one (first sighting now, folded in by policy on the next reconcile).
    settled = item.actual == item.held_qty
    binding.release_renewed_hold(s, item.binding_id, item.held_qty, now,
                                 seen=None if settled else item.actual)
    return True


def _explained(s: Session, item: catalog.Seen, now: datetime) -> bool:
    """A difference our own doing or the channel's explains: believe the read."""
    assert item.actual is not None and item.observed_before is not None
    if item.restock_pending and item.actual == item.observed_before + item.restock_pending:
        # The channel put a cancelled sale's units back itself (Etsy may: undocumented),
        # and the engine booked that cancellation as a restock already.
        binding.read_channel_restock(s, item.binding_id, item.actual, now)
        return True
    if catalog.raced_explains(item.observed_before, item.raced, item.actual):
        # Sales that raced our blind write, which did not erase them after all.
        binding.believe_read(s, item.binding_id, item.actual, now)
        return True
    if unconfirmed_push(s, item.binding_id, item.actual, item.observed_before):
        # Our own write whose answer was lost (a crash, a timeout): not a hand edit.
        binding.read_lost_push(s, item.binding_id, item.actual, now)
        return True
    return False


def _fold_edit(s: Session, account: str, item: catalog.Seen, rules: Rules,
               now: datetime) -> int:
    """A confirmed hand edit, folded in by the account's policy; the stock adopted.

    With a cancellation the channel may have restocked itself, the edit is measured from
    the quantity it would show had it done so: of the two readings, the one that never
    counts the cancelled units twice.
    """
    assert item.actual is not None and item.observed_before is not None
    assert item.sku_id is not None
    was = item.observed_before + item.restock_pending
    delta, adopted = item.actual - was, 0
    # A bundle has no stock of its own to adopt an edit into: its listing is overwritten.
    policy = "overwrite" if bundles.is_bundle(s, item.sku_id) else rules.hand_edit_policy
    fields = {"listing": item.external_id, "was": was, "now": item.actual, "policy": policy}
    if policy == "adopt":
        key = f"edit:{account}:{item.external_id}:{now.isoformat()}"
        why = f"{was} -> {item.actual} on {account}"
        if stock.record_movement(s, sku_id=item.sku_id, kind="channel_edit", delta=delta,
                                 source_key=key, account=account, reason=why):
            adopted = delta
        binding.fold_hand_edit(s, item.binding_id, item.actual, now, as_pushed=False)
    elif policy == "overwrite":
        # Believe the channel's number, so the next push (compare-and-set) overwrites it.
        binding.fold_hand_edit(s, item.binding_id, item.actual, now, as_pushed=False)
    else:
        binding.fold_hand_edit(s, item.binding_id, item.actual, now, as_pushed=True)
    severity = "info" if policy == "adopt" else "warning"
    # Each edit is its own news: keyed by when it was folded in, never reminded.
    alerts.raise_alert(s, "hand_edit", severity, f"quantity changed by hand on {account}",
                       now=now, account=account, sku_id=item.sku_id, remind=False,
                       subject=f"{item.external_id}@{now.isoformat()}", fields=fields)
    return adopted


def _alert_push_stuck(s: Session, account: str, item: catalog.Seen, now: datetime) -> None:
    """Pushes to this listing still come back stale after it was re-read and folded in:
    one episode per listing (reminded while it lasts)."""
    fields = {"listing": item.external_id, "channel_shows": item.actual,
              "reconciles": ALERT_AFTER}
    message = (f"pushes to {item.external_id} on {account} keep coming back stale: the "
               "channel changes under every write; check what else edits it there")
    alerts.raise_alert(s, "push_stuck", "error", message, now=now, account=account,
                       subject=item.external_id, sku_id=item.sku_id, fields=fields)


@dataclass(slots=True)
class ChannelRestocks:
    """Cancellations a channel may have restocked itself (`Restock.channel_may_apply`):
    those newly booked by a page add to their listing's `restock_pending`.

    Made before the page is recorded (which of them were booked already) and applied
    after, in the same transaction, so a poll that sees the cancellation again adds
    nothing.
    """

    account: str
    expected: dict[str, tuple[str, int]]  # restock source key -> (listing, quantity)
    booked_before: set[str]

    @classmethod
    def before(cls, s: Session, account: str, orders: Sequence[Order]) -> ChannelRestocks:
        expected: dict[str, tuple[str, int]] = {}
        for order in orders:
            listings = {ln.external_id: ln.listing_external_id for ln in order.lines}
            for restock in order.restocks:
                listing = listings.get(restock.line_external_id)
                if restock.channel_may_apply and listing and restock.quantity > 0:
                    key = f"restock:{account}:{order.external_id}:{restock.key}"
                    expected[key] = (listing, restock.quantity)
        booked = _booked(s, list(expected)) if expected else set()
        return cls(account=account, expected=expected, booked_before=booked)

    def after(self, s: Session) -> None:
        if not self.expected:
            return
        for key in sorted(_booked(s, list(self.expected)) - self.booked_before):
            listing, quantity = self.expected[key]
            binding.expect_channel_restock(s, self.account, listing, quantity)


def _booked(s: Session, keys: list[str]) -> set[str]:
    """Which of these restocks were booked as restocks (a takeover's history moved no
    stock and its channel read already showed the units back)."""
    return set(s.scalars(select(m.Movement.source_key).where(
        m.Movement.source_key.in_(keys), m.Movement.kind == "restock")))


# A push whose answer was lost, once a read has shown it landed and we believed it.
LANDED = "landed"


def unconfirmed_push(s: Session, binding_id: int, quantity: int,
                     believed: int | None = None) -> bool:
    """Does a push of ours made after the last one the channel confirmed explain that it
    shows `quantity`, where we believe `believed`? A push that does is marked `landed`.

    Either it shows what we pushed, or sales booked since moved both: the push shifted
    the channel by (pushed - what we believed then) and our belief has followed the
    sales since, so the channel shows our belief plus that shift. A push already
    believed (`landed`) is in our belief: its shift must not be added again, or a sale
    not pulled yet that moved the channel by as much is taken for it and then comes off
    our belief a second time when it is booked (simulation seed 123230). It may still
    explain the channel showing exactly its quantity: a failed push the channel only
    seemed to take (a sale left the same number) is believed once and then corrected
    that way after the sale is booked (seed 123277).
    """
    rows = s.execute(select(m.Push.id, m.Push.status, m.Push.quantity, m.Push.observed_before)
                     .where(m.Push.binding_id == binding_id)
                     .order_by(m.Push.id.desc()).limit(50))
    for push_id, status, pushed, before in rows:
        if status == "ok":
            return False
        if status not in ("pending", "failed", LANDED):
            continue
        shifted = (status != LANDED and believed is not None and before is not None
                   and quantity - believed == pushed - before)
        if pushed == quantity or shifted:
            if status != LANDED:
                s.execute(update(m.Push).where(m.Push.id == push_id).values(status=LANDED))
            return True
    return False
