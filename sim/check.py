"""The invariants, checked once the service is quiet (Jepsen-style: from the outside).

1. Every order line sold on every channel is booked exactly once; every restock once.
2. on_hand = initial count + Σ movements (the cached total agrees with the movements).
3. Every channel shows exactly the published quantity of every bound SKU.
4. Every episode of on_hand < 0 has exactly one `oversell` alert naming the order that
   crossed, and only a sale that really raced can cross.
5. Every malformed payload is in rejected_records.
6. No secret value appears in any log line.
7. A hand edit is folded in only for a SKU a seller really edited by hand (a sale or our
   own write taken for an edit would change stock that never changed).
8. Kits (sim/bundles.py): every bundle line's components booked exactly once, the bundle
   never has stock of its own, its listings show what its components make, and no
   component is oversold through a kit that a calm channel offered.
9. Stock models: a backordered SKU publishes on_hand + N (3.) and alerts only below -N
   (4.); an unlimited SKU's sales are booked once (1.), it is never written, never
   oversold.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oneshop.ledger import models as m
from oneshop.ledger import stock
from sim.bundles import bundle_problems
from sim.model import Truth
from sim.world import World


def check(world: World, truth: Truth, log_text: str) -> list[str]:
    app = world.app
    assert app is not None
    with app.sessions() as s:
        found = _booked_once(s, truth)
        found += _recount(s)
        found += _published(s, world, truth)
        found += _oversells(s, truth, world.pages)
        found += _rejected(s, truth)
        found += _edits(s, truth)
        found += bundle_problems(s, truth, lambda kind, ext: _shown_or_policy(world, kind, ext))
        found += _unlimited(s, world, truth)
    found += _secrets(truth, log_text)
    return found


def _booked_once(s: Session, truth: Truth) -> list[str]:
    found: list[str] = []
    sums: dict[tuple[str, str, str], int] = defaultdict(int)
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    for kind, account, order, delta in s.execute(select(
            m.Movement.kind, m.Movement.account, m.Movement.order_external_id,
            m.Movement.delta).where(m.Movement.kind.in_(["sale", "restock"]))):
        sums[kind, str(account), str(order)] += int(delta)
        counts[kind, str(account), str(order)] += 1
    known = set()
    for sale in truth.sales:
        key = (sale.kind, sale.order_id)
        known.add(key)
        got = sums.pop(("sale", *key), 0)
        if got != -sale.quantity or counts[("sale", *key)] != 1:
            found.append(f"{sale.kind} order {sale.order_id} ({sale.sku} x{sale.quantity}) "
                         f"booked as {got} in {counts[('sale', *key)]} movement(s)")
        back = sums.pop(("restock", *key), 0)
        if back != sale.restock_expected:
            found.append(f"{sale.kind} order {sale.order_id}: restocked {back}, "
                         f"expected {sale.restock_expected}")
    kits = {(sale.kind, sale.order_id) for sale in truth.bundle_sales}  # bundle_problems
    for (kind, account, order), delta in sums.items():
        if kind == "sale" and (account, order) in kits:
            continue
        found.append(f"{kind} movement {delta:+d} for {account}:{order}, which no one sold")
    return found


def _recount(s: Session) -> list[str]:
    return [f"sku id {sid}: cached on_hand {cached} but movements sum to {total}"
            for sid, (cached, total) in stock.recount(s).items()]


def _published(s: Session, world: World, truth: Truth) -> list[str]:
    found: list[str] = []
    on_hand = dict(s.execute(select(m.Sku.sku, m.Sku.on_hand)).all())
    bound = {(b.account, b.external_id): b.sku_id for b in s.scalars(select(m.Binding))}
    for sku, listings in sorted(truth.listings.items()):
        if sku not in on_hand:
            found.append(f"{sku} never reached the ledger")
            continue
        want = truth.published(int(on_hand[sku]), sku)
        for kind, ext in sorted(listings.items()):
            if bound.get((kind, ext)) is None:
                found.append(f"{sku} on {kind} ({ext}) is not bound")
                continue
            shown = _shown(world, kind, ext)
            if kind == "etsy" and shown == 0 and _etsy_state(world, ext) == "sold_out":
                continue  # renewing a sold-out listing costs a fee: left off, by policy
            if shown != want:
                found.append(f"{sku} on {kind} shows {shown}, published is {want} "
                             f"(on_hand {on_hand[sku]})")
    return found


def _shown_or_policy(world: World, kind: str, ext: str) -> int | None:
    """What a listing shows; None for a sold-out Etsy listing left off sale by policy."""
    shown = _shown(world, kind, ext)
    if kind == "etsy" and shown == 0 and _etsy_state(world, ext) == "sold_out":
        return None
    return shown


def _etsy_state(world: World, ext: str) -> str:
    sb: Any = world.sandboxes["etsy"]
    return str(sb.listing_state(ext))


def _shown(world: World, kind: str, ext: str) -> int:
    sb: Any = world.sandboxes[kind]
    if kind == "etsy" and sb.listing_state(ext) != "active":
        return 0  # off sale: nobody can buy it, whatever quantity it holds
    return int(sb.quantity(ext) or 0)


def _batches(moves: list[m.Movement], pages: list[tuple[int, int]]
             ) -> list[list[m.Movement]]:
    """Movements grouped as they were judged: one orders page together, others alone."""
    page_of = {i: n for n, (after, last) in enumerate(pages) for i in range(after + 1, last + 1)}
    out: list[list[m.Movement]] = []
    for mv in moves:
        page = page_of.get(mv.id)
        if out and page is not None and page_of.get(out[-1][-1].id) == page:
            out[-1].append(mv)
        else:
            out.append([mv])
    return out


def _oversells(s: Session, truth: Truth, pages: list[tuple[int, int]]) -> list[str]:
    found: list[str] = []
    level: dict[int, int] = defaultdict(int)
    # Booking order is not selling order (a paused channel's sales arrive late), so the
    # sale that crosses 0 in the ledger need not be the one that raced; but each episode
    # needs a sale of that SKU that really sold a unit which no longer existed.
    raced: dict[str, int] = defaultdict(int)
    for sale in truth.sales:
        raced[sale.sku] += sale.raced
    for sale in truth.bundle_sales:  # a kit that raced may oversell any of its components
        for comp in truth.bundles[sale.sku]:
            raced[comp] += sale.raced
    alerts: dict[int, list[m.Alert]] = defaultdict(list)
    for a in s.scalars(select(m.Alert).where(m.Alert.event == "oversell").order_by(m.Alert.id)):
        alerts[int(a.sku_id or 0)].append(a)
    names = dict(s.execute(select(m.Sku.id, m.Sku.sku)).all())
    episodes: dict[int, list[m.Movement]] = defaultdict(list)
    for batch in _batches(list(s.scalars(select(m.Movement).order_by(m.Movement.id))), pages):
        # The engine judges a page of orders as a whole: before it and after it.
        for sku_id in dict.fromkeys(mv.sku_id for mv in batch):
            mine = [mv for mv in batch if mv.sku_id == sku_id]
            before = level[sku_id]
            level[sku_id] += sum(mv.delta for mv in mine)
            # Backorders: an oversell is below -N only; unlimited: never (below).
            floor = -truth.backorder.get(str(names.get(sku_id)), 0)
            if str(names.get(sku_id)) in truth.unlimited:
                continue
            if before >= floor > level[sku_id]:
                episodes[sku_id].append(min(mine, key=lambda mv: (mv.kind != "sale", -mv.id)))
    for sku_id in sorted(set(episodes) | set(alerts)):
        crossings, said = episodes.get(sku_id, []), alerts.get(sku_id, [])
        name = names.get(sku_id, sku_id)
        if len(crossings) != len(said):
            found.append(f"{name}: {len(crossings)} oversell episode(s) but "
                         f"{len(said)} oversell alert(s)")
            continue
        for mv, alert in zip(crossings, said, strict=True):
            if mv.kind == "channel_edit" and name in truth.edited:
                continue  # the seller's own edit left fewer units than were sold
            if mv.kind != "sale":
                found.append(f"{name}: on_hand went below 0 by a {mv.kind} movement")
                continue
            line = f"{mv.account}:{mv.order_external_id} x{-mv.delta}"
            # A component sold in a kit is named with it: "… x2 (sold as KIT)".
            if not any(o == line or o.startswith(f"{line} (")
                       for o in alert.fields.get("orders", [])):
                found.append(f"{name}: oversell alert {alert.fields.get('orders')} does not "
                             f"name the crossing order {line}")
        by_sales = sum(mv.kind == "sale" for mv in crossings)
        if by_sales > raced[str(name)]:
            found.append(f"{name}: {by_sales} oversell episode(s) by sales but only "
                         f"{raced[str(name)]} sale(s) raced")
    return found


def _rejected(s: Session, truth: Truth) -> list[str]:
    kept = {(r.account, r.external_id) for r in s.scalars(select(m.RejectedRecord))}
    return [f"malformed {kind} order {order} is not in rejected_records"
            for kind, order in truth.malformed if not any(
                a == kind and ext is not None and order in ext for a, ext in kept)]


def _edits(s: Session, truth: Truth) -> list[str]:
    return [f"{sku}: a hand edit {delta:+d} was folded in, but no one edited it ({key})"
            for sku, delta, key in s.execute(
                select(m.Sku.sku, m.Movement.delta, m.Movement.source_key)
                .join(m.Sku, m.Sku.id == m.Movement.sku_id)
                .where(m.Movement.kind == "channel_edit"))
            if sku not in truth.edited]


def _unlimited(s: Session, world: World, truth: Truth) -> list[str]:
    """An unlimited SKU is never written (no push, no cap or tracking appears on its
    listings) and never oversold, however far its sales take on_hand."""
    found: list[str] = []
    for sku, listings in sorted(truth.unlimited.items()):
        sku_id = s.scalar(select(m.Sku.id).where(m.Sku.sku == sku))
        pushes = s.scalar(select(func.count()).select_from(m.Push)
                          .where(m.Push.sku_id == sku_id)) or 0
        if pushes:
            found.append(f"{sku} is unlimited but {pushes} push(es) were logged for it")
        alerts = s.scalar(select(func.count()).select_from(m.Alert).where(
            m.Alert.sku_id == sku_id, m.Alert.event == "oversell")) or 0
        if alerts:
            found.append(f"{sku} is unlimited but has {alerts} oversell alert(s)")
        for kind in ("shopify", "gumroad"):
            sb: Any = world.sandboxes[kind]
            if kind in listings and sb.quantity(listings[kind]) is not None:
                found.append(f"{sku} on {kind} got a count: {sb.quantity(listings[kind])}")
    return found


def _secrets(truth: Truth, log_text: str) -> list[str]:
    leaked = sorted(v for v in truth.secrets if len(v) >= 6 and v in log_text)
    return [f"secret {v[:4]}… appears in the logs" for v in leaked]
