"""Ignored listings: listings the seller keeps out of oneshop (samples, drafts).

An ignored listing is recorded like any other, but it is bound to no SKU, so it is
never written and never reconciled (both only ever touch bound listings), and the lines
of its orders are stored in the order book with no SKU: they move no stock and wait for
no link (no `unlinked_listing` alert, never booked later).

`bindings.ignored` says why:

| value       | set by                                  | bound again by            |
| ----------- | --------------------------------------- | ------------------------- |
| `hand`      | `oneshop ignore ACCOUNT LISTING`        | `oneshop unignore`        |
| `config`    | the account's `ignore` globs (on SKU)   | the glob no longer matching|
| `unignored` | `oneshop unignore` (beats the globs)    | (not ignored)             |
| `resumed`   | a glob that stopped matching            | (not ignored)             |
| NULL        | never ignored                           |                           |

A listing that stops being ignored resumes with the *conservative* count: its sales
while ignored are history (never booked), its SKU keeps the count the ledger holds, and
a SKU nobody adopted is not adopted from this channel's quantity on its own (run
`oneshop adopt --from ACCOUNT` to take it). Take a Session, never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from oneshop.ledger import models as m
from oneshop.ledger import takeover

HAND, CONFIG, UNIGNORED, RESUMED = "hand", "config", "unignored", "resumed"
IGNORED = (HAND, CONFIG)  # the values under which a listing is ignored now
NOT_ADOPTED_HERE = (UNIGNORED, RESUMED)  # never adopted from this channel by itself


@dataclass(frozen=True, slots=True, kw_only=True)
class ListingRules:
    """An account's `ignore` globs and `duplicate_skus` policy."""

    ignore: tuple[str, ...] = ()
    bind_all: bool = False  # duplicate_skus = "bind_all": every listing of a SKU is bound

    def ignores(self, sku: str | None) -> bool:
        # Case-sensitive on every OS: SKUs match exactly everywhere else in oneshop.
        return sku is not None and any(fnmatchcase(sku, glob) for glob in self.ignore)


def apply_globs(session: Session, account: str, rules: ListingRules,
                now: datetime) -> tuple[list[str], list[str]]:
    """Ignore the listings the globs match now, resume those they no longer match;
    returns (newly ignored, resumed) external ids."""
    q = select(m.Binding.id, m.Binding.external_id, m.Binding.channel_sku,
               m.Binding.ignored).where(m.Binding.account == account,
                                        m.Binding.channel_sku.is_not(None))
    if not rules.ignore:  # no glob (most shops): only listings a glob ignored may resume
        q = q.where(m.Binding.ignored == CONFIG)
    rows = session.execute(q).all()
    ignored, resumed = [], []
    for bid, ext, sku, why in rows:
        matches = rules.ignores(sku)
        if matches and why in (None, RESUMED):
            _ignore(session, bid, CONFIG)
            ignored.append(ext)
        elif not matches and why == CONFIG:
            _resume(session, account, bid, RESUMED, now)
            resumed.append(ext)
    return ignored, resumed


def ignore_by_hand(session: Session, account: str, external_id: str) -> bool:
    """`oneshop ignore`: False when the listing is unknown."""
    bid = _binding_id(session, account, external_id)
    if bid is None:
        return False
    _ignore(session, bid, HAND)
    return True


def unignore_by_hand(session: Session, account: str, external_id: str,
                     now: datetime) -> bool:
    """`oneshop unignore`: False when the listing is unknown. It beats the globs."""
    bid = _binding_id(session, account, external_id)
    if bid is None:
        return False
    why = session.scalar(select(m.Binding.ignored).where(m.Binding.id == bid))
    if why in IGNORED:
        _resume(session, account, bid, UNIGNORED, now)
    else:
        session.execute(update(m.Binding).where(m.Binding.id == bid)
                        .values(ignored=UNIGNORED))
    return True


def ignored_ids(session: Session, account: str,
                among: Sequence[str | None] | None = None) -> set[str]:
    """External ids of the account's ignored listings (only `among` these, if given)."""
    q = select(m.Binding.external_id).where(m.Binding.account == account,
                                            m.Binding.ignored.in_(IGNORED))
    if among is not None:
        wanted = [ext for ext in among if ext is not None]
        if not wanted:
            return set()
        q = q.where(m.Binding.external_id.in_(wanted))
    return set(session.scalars(q))


def waiting_for_link(session: Session, account: str,
                     unlinked: Sequence[tuple[str | None, str | None]],
                     rules: ListingRules) -> list[tuple[str | None, str | None]]:
    """Of these (listing, channel SKU) of sales bound to no SKU, once each, those that
    wait for a link: not an ignored listing's, nor (for a listing not recorded yet) one
    whose SKU the globs match."""
    wanted = sorted({ext for ext, _ in unlinked if ext is not None})
    why: dict[str, str | None] = {}
    if wanted:
        why = {ext: w for ext, w in session.execute(
            select(m.Binding.external_id, m.Binding.ignored).where(
                m.Binding.account == account, m.Binding.external_id.in_(wanted)))}
    return [(ext, sku) for ext, sku in dict.fromkeys(unlinked)
            if why.get(ext or "") not in IGNORED
            and not (ext not in why and rules.ignores(sku))]


def ignored_listings(session: Session) -> list[tuple[str, str, str | None, str, int]]:
    """Every ignored listing: (account, listing, channel SKU, why, order lines stored)."""
    lines = (select(m.Order.account, m.OrderLine.listing_external_id,
                    func.count(m.OrderLine.id).label("n"))
             .join(m.Order, m.Order.id == m.OrderLine.order_id)
             .where(m.OrderLine.sku_id.is_(None))
             .group_by(m.Order.account, m.OrderLine.listing_external_id).subquery())
    rows: Any = session.execute(
        select(m.Binding.account, m.Binding.external_id, m.Binding.channel_sku,
               m.Binding.ignored, func.coalesce(lines.c.n, 0))
        .outerjoin(lines, (lines.c.account == m.Binding.account)
                   & (lines.c.listing_external_id == m.Binding.external_id))
        .where(m.Binding.ignored.in_(IGNORED))
        .order_by(m.Binding.account, m.Binding.external_id)).all()
    return [(a, ext, sku, str(why), int(n)) for a, ext, sku, why, n in rows]


def _binding_id(session: Session, account: str, external_id: str) -> int | None:
    found: int | None = session.scalar(select(m.Binding.id).where(
        m.Binding.account == account, m.Binding.external_id == external_id))
    return found


def _ignore(session: Session, binding_id: int, why: str) -> None:
    # Unbound: no push plan, reconcile fold or booking ever reaches a listing with no SKU.
    session.execute(update(m.Binding).where(m.Binding.id == binding_id)
                    .values(ignored=why, sku_id=None))


def _resume(session: Session, account: str, binding_id: int, why: str,
            now: datetime) -> None:
    """Not ignored any more. Its sales so far stay history: the later of the channel's
    newest order time and now (a sale made while ignored, not pulled yet, is before it)."""
    seen = takeover.channel_time(session, account)
    cutoff = now if seen is None or seen < now else seen
    # Its own sales while ignored were never followed: binding it again
    # (`catalog.auto_link`) believes its last read less those sales (`refresh_bound`).
    session.execute(update(m.Binding).where(m.Binding.id == binding_id)
                    .values(ignored=why, history_until=cutoff))
