"""The binding's state: what we believe a channel listing shows, and why.

Every write to a binding's observed-state columns goes through a named transition here:
`observed_qty`/`observed_at` (what we believe it shows), `pushed_qty`/`pushed_at` (our
last write it confirmed), `held_qty` (a channel rule or a refusal holds it at this
published quantity), `drift_seen` (a differing read waiting for its second sighting),
`raced_qty` (sales our blind write may have erased), `deactivated_by_us`,
`stale_pushes`/`stale_reconciles` (pushes that never settle) and `restock_pending`
(cancelled units the channel may put back itself). A listing's `state` is what its last
read showed (`catalog.upsert_listings`), or a zero-stock policy's answer.

| state (columns)             | entered by                | left by                        |
| --------------------------- | ------------------------- | ------------------------------ |
| unknown (observed NULL)     | a new listing, unread     | `believe_first_read`           |
| read, less sales since      | `believe_bound` (bound    | as in step                     |
|                             | after a time unbound)     |                                |
| in step (observed = wanted) | `confirm_written`         | a sale, a stock change         |
| sighted (drift_seen)        | `suspect_hand_edit`       | `fold_hand_edit`, a read that  |
|                             |                           | explains it (`believe_read`…)  |
| held by policy (held_qty,   | `hold_for_zero_policy`    | `confirm_written`, `release_*`,|
| maybe deactivated_by_us)    |                           | `believe_lost_reactivation`    |
| held, refused (held_qty)    | `hold_refused`            | `confirm_written`, a read      |
| raced (raced_qty > 0)       | `note_raced_sales`        | `settle_race`, a read          |
| restock expected            | `expect_channel_restock`  | `settle_channel_restock`,      |
| (restock_pending > 0)       |                           | `confirm_written`, a read      |
| stale (stale_pushes > 0)    | `count_stale_push`        | `count_stale_reconcile`,       |
|                             |                           | `confirm_written`              |
| off sale by us (deactivated)| `claim_deactivation`      | `confirm_written`, a stale     |
|                             |                           | answer (restores the flag)     |

A push's answer (the engine applies each one) moves a listing by its status: ok ->
`confirm_written`; policy -> `hold_for_zero_policy`; refused -> `hold_refused`; stale ->
`believe_lost_push`, `settle_race`, `settle_channel_restock` or `count_stale_push`. A
reconcile's read (`drift.py`, its table) moves it by what the read shows.

Take a Session, never commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from oneshop.ledger import bulk
from oneshop.ledger import models as m

# A confirmed write settles every count of pushes or restocks waiting for a read.
_SETTLED: dict[str, Any] = {"stale_pushes": 0, "stale_reconciles": 0, "restock_pending": 0}


def _write(s: Session, binding_id: int, shows: int | None, now: datetime,
           **values: Any) -> None:
    s.execute(update(m.Binding).where(m.Binding.id == binding_id)
              .values(observed_qty=shows, observed_at=now, **values))


def first_read(shows: int | None, now: datetime) -> dict[str, Any]:
    """The observed-state columns of a binding created by its first read."""
    return {"observed_qty": shows, "observed_at": now, "deactivated_by_us": False}


# -- a push's answer -------------------------------------------------------------------

def claim_deactivation(s: Session, binding_ids: Sequence[int]) -> None:
    """A push to 0 may take these listings off sale: owned before asking, so a lost answer
    still brings them back when stock does."""
    if binding_ids:
        s.execute(update(m.Binding).where(m.Binding.id.in_(list(binding_ids)))
                  .values(deactivated_by_us=True))


def confirm_written(s: Session, binding_id: int, wrote: int, now: datetime) -> None:
    """The channel took our write: it shows what we wrote (a sale landing after it is
    booked by the next pull); every hold, race and stale count is over."""
    _write(s, binding_id, wrote, now, pushed_qty=wrote, pushed_at=now, held_qty=None,
           deactivated_by_us=False, raced_qty=0, **_SETTLED)


def hold_for_zero_policy(s: Session, binding_id: int, shows: int | None, now: datetime, *,
                         held: int, deactivated_by_us: bool, state: str | None) -> None:
    """A channel rule (Etsy's zero-stock policy) keeps the listing: no pushes until the
    published quantity leaves `held`. `state` as just read, so a listing the seller
    renews is told from one that never left (drift.py)."""
    extra = {"state": state} if state is not None else {}
    _write(s, binding_id, shows, now, held_qty=held, deactivated_by_us=deactivated_by_us,
           **_SETTLED, **extra)


def hold_refused(s: Session, binding_id: int, believed: int | None, now: datetime, *,
                 held: int, deactivated_by_us: bool) -> None:
    """Refused (deleted listing, validation error): the same write would be refused every
    poll, so hold it until what it should show changes or a push of it succeeds."""
    _write(s, binding_id, believed, now, held_qty=held, deactivated_by_us=deactivated_by_us)


def believe_lost_push(s: Session, binding_id: int, shows: int, now: datetime, *,
                      deactivated_by_us: bool) -> None:
    """Stale, but our own earlier write whose answer was lost explains it: believe the
    channel (or every compare-and-set fails from now on)."""
    _write(s, binding_id, shows, now, deactivated_by_us=deactivated_by_us, pushed_qty=shows,
           raced_qty=0)


def settle_race(s: Session, binding_id: int, shows: int | None, now: datetime, *,
                deactivated_by_us: bool) -> None:
    """Stale, explained by sales that raced a blind write and were not erased by it."""
    _write(s, binding_id, shows, now, deactivated_by_us=deactivated_by_us, raced_qty=0)


def settle_channel_restock(s: Session, binding_id: int, shows: int | None, now: datetime,
                           *, deactivated_by_us: bool) -> None:
    """Stale, explained by the channel putting a cancelled sale's units back itself."""
    _write(s, binding_id, shows, now, deactivated_by_us=deactivated_by_us,
           restock_pending=0)


def count_stale_push(s: Session, binding_id: int, believed: int | None, now: datetime, *,
                     deactivated_by_us: bool) -> None:
    """Stale and unexplained: counted, so the reconcile finds pushes that never settle."""
    _write(s, binding_id, believed, now, deactivated_by_us=deactivated_by_us,
           stale_pushes=m.Binding.stale_pushes + 1)


# -- a reconcile's read ----------------------------------------------------------------

def count_stale_reconcile(s: Session, binding_id: int, streak: int) -> None:
    """This reconcile's place in a run of reconciles that found stale pushes; the pushes
    are counted afresh until the next one."""
    s.execute(update(m.Binding).where(m.Binding.id == binding_id)
              .values(stale_reconciles=streak, stale_pushes=0))


def believe_first_read(s: Session, binding_id: int, shows: int | None,
                       now: datetime) -> None:
    """Nothing believed yet: the read is the belief."""
    _write(s, binding_id, shows, now)


def believe_takeover_reads(s: Session, reads: Sequence[tuple[int, int | None]],
                           now: datetime) -> None:
    """A takeover's fresh reads (binding_id, shows), before anything was pushed: no hand
    edit to detect, no push or race to settle."""
    b = bulk.table_of(m.Binding)
    rows = [{"bid": bid, "qty": qty} for bid, qty in reads]
    if rows:
        s.execute(update(b).where(b.c.id == bindparam("bid")).values(
            observed_qty=bindparam("qty"), observed_at=now, drift_seen=None, raced_qty=0,
            held_qty=None), rows)


def believe_bound(s: Session, binding_id: int, shows: int | None, now: datetime) -> None:
    """A listing bound now, after a time unbound: nobody followed its sales meanwhile,
    so the belief is its last read less its own sales since (`catalog.refresh_bound`)."""
    _write(s, binding_id, shows, now, drift_seen=None, raced_qty=0, held_qty=None)


def believe_read(s: Session, binding_id: int, shows: int | None, now: datetime) -> None:
    """The read needs no second sighting (off sale, equal to the belief, raced sales not
    erased after all): believe it; sightings, races and holds are over."""
    _write(s, binding_id, shows, now, drift_seen=None, raced_qty=0, held_qty=None)


def suspect_hand_edit(s: Session, binding_id: int, believed: int | None, now: datetime, *,
                      seen: int | None) -> None:
    """A read differing from the belief (`seen`, None when it no longer differs) is noted,
    the belief kept: a sale may be racing the read, so only a second sighting counts."""
    _write(s, binding_id, believed, now, drift_seen=seen)


def believe_lost_reactivation(s: Session, binding_id: int, shows: int,
                              now: datetime) -> None:
    """A held listing is on sale again by our reactivation whose answer was lost: it is
    pushed like any other from now on."""
    _write(s, binding_id, shows, now, drift_seen=None, pushed_qty=shows, held_qty=None,
           deactivated_by_us=False)


def release_hold(s: Session, binding_id: int, shows: int | None, now: datetime) -> None:
    """A held listing back on sale with nothing typed (a phantom quantity, a variant left
    at 0): not stock, so believe it and push what the ledger has."""
    _write(s, binding_id, shows, now, held_qty=None, drift_seen=None)


def release_renewed_hold(s: Session, binding_id: int, held: int, now: datetime, *,
                         seen: int | None) -> None:
    """The seller renewed a held listing and typed a quantity: it should show `held`; a
    different number (`seen`) is a first sighting of a hand edit measured from it."""
    _write(s, binding_id, held, now, held_qty=None, deactivated_by_us=False, drift_seen=seen)


def read_channel_restock(s: Session, binding_id: int, shows: int, now: datetime) -> None:
    """A rise by exactly the restock pending: the channel put the cancelled units back."""
    _write(s, binding_id, shows, now, drift_seen=None, restock_pending=0, held_qty=None)


def read_lost_push(s: Session, binding_id: int, shows: int, now: datetime) -> None:
    """A read explained by our own write whose answer was lost: not a hand edit."""
    _write(s, binding_id, shows, now, drift_seen=None, pushed_qty=shows, held_qty=None)


def fold_hand_edit(s: Session, binding_id: int, shows: int, now: datetime, *,
                   as_pushed: bool) -> None:
    """A confirmed hand edit, folded in: believe it. `as_pushed` (policy "alert"): it
    is recorded as the last quantity written, too."""
    extra = {"pushed_qty": shows} if as_pushed else {}
    _write(s, binding_id, shows, now, drift_seen=None, raced_qty=0, held_qty=None,
           restock_pending=0, **extra)


# -- sales and cancellations -----------------------------------------------------------

def expect_channel_restock(s: Session, account: str, listing: str, quantity: int) -> None:
    """A booked cancellation the channel may restock itself: a rise by this much is its
    restock, not a hand edit."""
    s.execute(update(m.Binding).where(m.Binding.account == account,
                                      m.Binding.external_id == listing)
              .values(restock_pending=m.Binding.restock_pending + quantity))


def follow_channel_sales(s: Session, deltas: Mapping[int, int]) -> None:
    """The selling channel moved its own quantities for booked sales and restocks
    (binding_id -> change): follow them instead of pushing; an unknown belief stays so."""
    bulk.add_to(s, bulk.table_of(m.Binding), "observed_qty", deltas, only_set=True)


def note_raced_sales(s: Session, raced: Mapping[int, int]) -> None:
    """Sales (binding_id -> units) that raced a blind write of ours stay on the belief;
    the next read settles whether the write erased them (races.py)."""
    bulk.add_to(s, bulk.table_of(m.Binding), "raced_qty", raced)
