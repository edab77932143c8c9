"""Bindings: the channel listings we know, which SKU each is bound to, and what each
channel should be told. Store functions: take a Session, never commit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, literal, or_, select, update
from sqlalchemy.orm import Session

from oneshop.ledger import account_state, binding, bundles, ignore, pending, stock_models, takeover
from oneshop.ledger import models as m
from oneshop.ledger.bulk import insert, table_of
from oneshop.ledger.stock import ensure_skus
from oneshop.values import CHANNEL_BUNDLE, Listing

UNLINKED = "unlinked"  # bound_by of a listing unlinked by hand
CHUNK = 500  # bound IN (...) lists; SQLite allows 32k variables, PostgreSQL 65k


@dataclass(frozen=True, slots=True, kw_only=True)
class Seen:
    """A listing as read now, against what the ledger believed."""

    binding_id: int
    sku_id: int | None
    external_id: str
    observed_before: int | None
    actual: int | None
    state: str
    held_qty: int | None
    deactivated_by_us: bool
    drift_seen: int | None
    raced: int = 0  # bindings.raced_qty
    state_before: str = ""  # the state the ledger had recorded before this read
    restock_pending: int = 0  # bindings.restock_pending
    stale_pushes: int = 0  # bindings.stale_pushes
    stale_reconciles: int = 0  # bindings.stale_reconciles


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """A bound listing whose channel should show `published` (and may not yet)."""

    binding_id: int
    account: str
    external_id: str
    sku_id: int
    sku: str
    on_hand: int
    published: int
    observed: int | None
    deactivated_by_us: bool
    listing: Listing
    raced: int = 0  # bindings.raced_qty
    restock_pending: int = 0  # bindings.restock_pending


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]


def upsert_listings(session: Session, account: str, listings: Sequence[Listing],
                    now: datetime) -> list[Seen]:
    """Record listings as read from the channel; returns each one's binding state."""
    ids = [li.external_id for li in listings]
    known: dict[str, m.Binding] = {}
    for chunk in _chunks(ids):
        for b in session.scalars(select(m.Binding).where(
                m.Binding.account == account, m.Binding.external_id.in_(chunk))):
            known[b.external_id] = b
    new = [li for li in listings if li.external_id not in known]
    new_ids = {li.external_id for li in new}
    if new:
        session.execute(insert(session, m.Binding).on_conflict_do_nothing(
            index_elements=["account", "external_id"]), [{
                "account": account, "external_id": li.external_id, "channel_sku": li.sku,
                "title": li.title[:500], "state": li.state, "extra": dict(li.extra),
                "seen_at": now, "read_qty": li.quantity, "read_at": now,
                **binding.first_read(li.quantity, now)} for li in new])
        for chunk in _chunks([li.external_id for li in new]):
            for b in session.scalars(select(m.Binding).where(
                    m.Binding.account == account, m.Binding.external_id.in_(chunk))):
                known[b.external_id] = b
    seen = []
    for li in listings:
        b = known[li.external_id]
        before, state_before = b.observed_qty, b.state
        fresh = (li.sku, li.title[:500], li.state, dict(li.extra))
        if li.external_id not in new_ids and (b.channel_sku, b.title, b.state, b.extra) != fresh:
            b.channel_sku, b.title, b.state, b.extra = (li.sku, li.title[:500], li.state,
                                                            dict(li.extra))
        if li.external_id not in new_ids:
            b.read_qty, b.read_at = li.quantity, now
        seen.append(Seen(binding_id=b.id, sku_id=b.sku_id, external_id=b.external_id,
                         observed_before=before, actual=li.quantity, state=li.state,
                         held_qty=b.held_qty, deactivated_by_us=b.deactivated_by_us,
                         drift_seen=b.drift_seen, raced=b.raced_qty,
                         state_before=state_before, restock_pending=b.restock_pending,
                         stale_pushes=b.stale_pushes, stale_reconciles=b.stale_reconciles))
    return seen


def raced_explains(believed: int | None, raced: int, actual: int | None) -> bool:
    """Does a read of `actual` settle sales that raced our blind write (see
    `races.py`): the write did not erase some of them after all?"""
    return (believed is not None and actual is not None
            and believed - raced <= actual < believed)


def believe_reads(session: Session, seen: Sequence[Seen], now: datetime) -> None:
    """Take what the channel shows as what it shows: a takeover's fresh read, before
    anything was pushed (no hand edit to detect, no push or race to settle)."""
    binding.believe_takeover_reads(session, [(i.binding_id, i.actual) for i in seen], now)


@dataclass(slots=True, kw_only=True)
class Linked:
    linked: list[tuple[str, str]]  # (external_id, sku)
    no_sku: list[str]
    duplicates: dict[str, list[str]]
    created: list[str]
    adopted: dict[str, int] = field(default_factory=dict)  # sku -> count, first seen here
    unlimited: list[str] = field(default_factory=list)  # unlimited candidates left unbound
    ignored: list[str] = field(default_factory=list)  # newly ignored by the account's globs


def auto_link(session: Session, account: str, now: datetime, *,
              adopt_new: bool = False, rules: ignore.ListingRules | None = None) -> Linked:
    """Bind unbound listings whose channel SKU is unique in the account (exact match).

    Binding is not stock: a SKU created here starts unknown and is never published until
    it is adopted. With `adopt_new` (the account was taken over, `adopt_new =
    "first_seen"`), a SKU not adopted yet is adopted from the quantity this channel shows
    now, and the listing's sales up to the channel's current order time are history.

    rules: the account's `ignore` globs (applied first: an ignored listing is never
    bound) and `duplicate_skus` (with `bind_all`, every listing of a SKU is bound).
    """
    rules = rules or ignore.ListingRules()
    result = Linked(linked=[], no_sku=[], duplicates={}, created=[])
    result.ignored = ignore.apply_globs(session, account, rules, now)[0]
    rows = [r for r in session.execute(
        select(m.Binding.id, m.Binding.external_id, m.Binding.channel_sku, m.Binding.sku_id,
               m.Binding.observed_qty, m.Binding.title, m.Binding.bound_by, m.Binding.ignored)
        .where(m.Binding.account == account)).all() if r.ignored not in ignore.IGNORED]
    counts = Counter(r.channel_sku for r in rows if r.channel_sku)
    for r in rows:
        if r.channel_sku and counts[r.channel_sku] > 1 and not rules.bind_all:
            result.duplicates.setdefault(r.channel_sku, []).append(r.external_id)
    # A listing unlinked by hand stays unlinked until it is linked by hand.
    todo = [r for r in rows if r.sku_id is None and r.channel_sku
            and (counts[r.channel_sku] == 1 or rules.bind_all) and r.bound_by != UNLINKED]
    # A listing the channel does not count (a Gumroad product with no cap, an untracked
    # Shopify variant) is bound by SKU only to an unlimited SKU (stock_models.py).
    todo, result.unlimited = stock_models.split_unlimited_candidates(session, todo)
    result.no_sku = [r.external_id for r in rows if not r.channel_sku]
    if not todo:
        return result
    known = dict(session.execute(select(m.Sku.sku, m.Sku.adopted_at).where(
        m.Sku.sku.in_([r.channel_sku for r in todo]))).all())
    ids = ensure_skus(session, {r.channel_sku: r.title for r in todo})
    b = table_of(m.Binding)
    session.execute(update(b).where(b.c.id == bindparam("bid"))
                    .values(sku_id=bindparam("sid"), bound_by="auto"),
                    [{"bid": r.id, "sid": ids[r.channel_sku]} for r in todo])
    refresh_bound(session, account, [r.id for r in todo], now)
    cutoff = takeover.channel_time(session, account) if adopt_new else None
    kits = bundles.load(session)
    for r in todo:
        sku_id = ids[r.channel_sku]
        if r.channel_sku not in known:
            result.created.append(r.channel_sku)
        # (`bind_all`: the first listing of a new SKU gives the count; an unignored
        # listing never does on its own, see ignore.py.)
        if (adopt_new and known.get(r.channel_sku) is None and r.observed_qty is not None
                and r.channel_sku not in result.adopted
                and r.ignored not in ignore.NOT_ADOPTED_HERE
                and sku_id not in kits):  # a bundle has no count of its own to adopt
            result.adopted[r.channel_sku] = r.observed_qty
            takeover.adopt_count(session, sku_id=sku_id, quantity=r.observed_qty,
                                 key=f"count:init:{r.channel_sku}",
                                 reason=f"first seen on {account}", now=now, account=account)
        if r.channel_sku in result.adopted:
            # Its sales so far are in the count: they are history, on this listing only.
            session.execute(update(b).where(b.c.id == r.id).values(history_until=cutoff))
        takeover.book_pending(session, account, r.external_id, sku_id,
                              counted=r.channel_sku in result.adopted)
        result.linked.append((r.external_id, r.channel_sku))
    return result


def published_expr(reserve: int, cap: int | None) -> Any:
    """SQL for clamp(on_hand − reserve, 0, cap), SKU overrides first, by the SKU's stock
    model (stock_models.py: backorder, made to order)."""
    return stock_models.published_expr(reserve, cap)


def targets(session: Session, account: str, *, reserve: int, cap: int | None,
            sku_ids: Sequence[int] | None = None, only_out_of_step: bool = True,
            deactivated_only: bool = False, off_sale: bool = False) -> list[Target]:
    """Bound listings of `account` and what they should show (`off_sale`: the seller
    paused the account, so 0 everywhere: ledger/pausing.py)."""
    pub = (literal(0) if off_sale else published_expr(reserve, cap)).label("published")
    q = (select(m.Binding, m.Sku.sku, m.Sku.on_hand, pub)
         .join(m.Sku, m.Sku.id == m.Binding.sku_id)
         # An unknown (not adopted) SKU is never published, not even as 0; an unlimited
         # one never at all (stock_models.publishable).
         .where(m.Binding.account == account, stock_models.publishable(),
                # The channel derives it (a Shopify bundle): never written.
                m.Binding.state != CHANNEL_BUNDLE))
    kits = bundles.load(session)
    if kits:  # a bundle's stock is its components': `bundle_targets`
        q = q.where(m.Binding.sku_id.not_in(list(kits)))
    if sku_ids is not None:
        q = q.where(m.Binding.sku_id.in_(list(sku_ids)))
    if deactivated_only:
        q = q.where(m.Binding.deactivated_by_us.is_(True))
    if only_out_of_step:
        # A cancellation the channel may have restocked itself (restock_pending): it may
        # show more than we believe, so a push (its fresh read) settles which.
        q = q.where(or_(m.Binding.observed_qty.is_(None), m.Binding.observed_qty != pub,
                        m.Binding.restock_pending > 0),
                    or_(m.Binding.held_qty.is_(None), m.Binding.held_qty != pub))
    out = []
    rows: Any = session.execute(q)
    for b, sku, on_hand, published in rows:
        listing = Listing(external_id=b.external_id, sku=b.channel_sku, title=b.title,
                          quantity=b.observed_qty, state=b.state, extra=dict(b.extra or {}))
        out.append(Target(binding_id=b.id, account=account, external_id=b.external_id,
                          sku_id=b.sku_id, sku=sku, on_hand=on_hand, published=int(published),
                          observed=b.observed_qty, deactivated_by_us=b.deactivated_by_us,
                          listing=listing, raced=b.raced_qty,
                          restock_pending=b.restock_pending))
    if kits:
        out += bundle_targets(session, account, kits, reserve=reserve, cap=cap,
                              sku_ids=sku_ids, only_out_of_step=only_out_of_step,
                              deactivated_only=deactivated_only, off_sale=off_sale)
    return out


def bundle_targets(session: Session, account: str, kits: bundles.Bundles, *, reserve: int,
                   cap: int | None, sku_ids: Sequence[int] | None, only_out_of_step: bool,
                   deactivated_only: bool, off_sale: bool = False) -> list[Target]:
    """`targets` for bundle listings: published = clamp(availability − reserve, 0, cap),
    the bundle's own overrides first. Asked for some SKUs, it answers for the bundles
    among them and every bundle containing one of them: a component's change moves them."""
    wanted = bundles.containing(kits, sku_ids) if sku_ids is not None else set(kits)
    if not wanted:
        return []
    stock = bundles.availability(session, {b: kits[b] for b in wanted})
    q = (select(m.Binding, m.Sku).join(m.Sku, m.Sku.id == m.Binding.sku_id)
         .where(m.Binding.account == account, m.Binding.sku_id.in_(sorted(wanted)),
                m.Binding.state != CHANNEL_BUNDLE))
    if deactivated_only:
        q = q.where(m.Binding.deactivated_by_us.is_(True))
    out = []
    rows: Any = session.execute(q)
    for b, sku in rows:
        avail = stock.get(sku.id)
        if avail is None:
            continue  # a component is unknown: never published, not even as 0
        raw = avail - (sku.reserve if sku.reserve is not None else reserve)
        top = sku.cap if sku.cap is not None else cap
        published = 0 if off_sale else max(0, raw if top is None else min(raw, top))
        if only_out_of_step and not (
                (b.observed_qty is None or b.observed_qty != published or b.restock_pending > 0)
                and (b.held_qty is None or b.held_qty != published)):
            continue
        listing = Listing(external_id=b.external_id, sku=b.channel_sku, title=b.title,
                          quantity=b.observed_qty, state=b.state, extra=dict(b.extra or {}))
        out.append(Target(binding_id=b.id, account=account, external_id=b.external_id,
                          sku_id=sku.id, sku=sku.sku, on_hand=avail, published=published,
                          observed=b.observed_qty, deactivated_by_us=b.deactivated_by_us,
                          listing=listing, raced=b.raced_qty,
                          restock_pending=b.restock_pending))
    return out


def refresh_bound(session: Session, account: str, binding_ids: Sequence[int],
                  now: datetime) -> None:
    """Listings just bound, after a time unbound: nobody followed their sales, so believe
    the newer of the last read and the old belief, less their own sales since; else a
    sale the channel took off itself would look like a hand edit (deducted twice)."""
    for chunk in range(0, len(binding_ids), CHUNK):
        rows = session.execute(select(m.Binding.id, m.Binding.external_id,
                                      m.Binding.read_qty, m.Binding.read_at,
                                      m.Binding.observed_qty, m.Binding.observed_at)
                               .where(m.Binding.id.in_(binding_ids[chunk:chunk + CHUNK]))).all()
        base = {bid: (read_qty, read_at) if read_at is not None and (
                    observed_at is None or read_at > observed_at) else (observed_qty, observed_at)
                for bid, _, read_qty, read_at, observed_qty, observed_at in rows}
        since = [at for _, at in base.values() if at is not None]
        if not since:
            continue
        sold = pending.sold_after(session, account, [r.external_id for r in rows], min(since))
        for bid, ext, _, _, believed, _ in rows:
            qty, at = base[bid]
            took = sum(n for made, n in sold.get(ext, []) if at is not None and made > at)
            if qty is not None and qty - took != believed:
                binding.believe_bound(session, bid, qty - took, now)


def link(session: Session, account: str, external_id: str, sku: str,
         now: datetime | None = None) -> bool:
    """Bind by hand; False when the listing is unknown.

    Sales already recorded for the listing while it was unbound are booked now (by the
    takeover's history rules), under the same source keys a poll would have used, so
    nothing is ever booked twice.
    """
    sku_id = ensure_skus(session, {sku: ""})[sku]
    was = session.execute(select(m.Binding.id, m.Binding.sku_id).where(
        m.Binding.account == account, m.Binding.external_id == external_id)).first()
    res = session.execute(update(m.Binding).where(
        m.Binding.account == account, m.Binding.external_id == external_id)
        .values(sku_id=sku_id, bound_by="manual"))
    if not getattr(res, "rowcount", 0):
        return False
    if was is not None and was.sku_id is None:  # a rebind's sales were followed all along
        refresh_bound(session, account, [was.id], now or m.utcnow())
    takeover.book_pending(session, account, external_id, sku_id)
    account_state.request_full_plan(session, account)
    return True


def unlink(session: Session, account: str, external_id: str) -> bool:
    res = session.execute(update(m.Binding).where(
        m.Binding.account == account, m.Binding.external_id == external_id)
        .values(sku_id=None, bound_by=UNLINKED))
    account_state.request_full_plan(session, account)
    return bool(getattr(res, "rowcount", 0))


def bound_listings(session: Session, account: str) -> int:
    return int(session.scalar(select(func.count(m.Binding.id)).where(
        m.Binding.account == account, m.Binding.sku_id.is_not(None))) or 0)


def sold_since_read(session: Session, targets: Sequence[Target]) -> set[int]:
    """SKUs of these targets with a sale booked since the earliest last read of their
    listings (any sale at all when one was never read)."""
    # One query for every target (a bulk change can zero thousands of listings).
    reads = list(session.scalars(select(m.Binding.read_at).where(
        m.Binding.id.in_({t.binding_id for t in targets}))))
    since = None if None in reads else min(r for r in reads if r is not None)
    q = (select(m.Movement.sku_id).where(m.Movement.kind == "sale",
                                         m.Movement.sku_id.in_({t.sku_id for t in targets}))
         .group_by(m.Movement.sku_id))
    if since is not None:
        q = q.where(m.Movement.created_at >= since)
    return set(session.scalars(q))
