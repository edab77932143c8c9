"""Bundles (kits): a SKU made of other SKUs, with no stock of its own.

A bundle's availability is min over its components c of floor(on_hand(c) / q_c); each
channel is told that through its usual rules (reserve, cap, zero policy), exactly as a
plain SKU's on_hand (`catalog.targets` asks `targets` here for the bundle listings).
A bundle sale books one `sale` movement per component (booking.py, `component_moves`);
the bundle SKU's own row never gets a movement and is never adopted. The composition is
the config file's `bundle` keys, kept in `bundle_components` (`apply`).
Store functions: take a Session, never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from oneshop.ledger import bulk
from oneshop.ledger import models as m
from oneshop.ledger.stock import ensure_skus


@dataclass(frozen=True, slots=True)
class Component:
    sku_id: int
    sku: str
    quantity: int  # units of it in one bundle


# bundle sku_id -> (bundle sku, its components)
Bundles = Mapping[int, tuple[str, Sequence[Component]]]


# Straight to the driver: this runs once per page of orders booked, and building the
# ORM statement each time cost a fifth of booking a page (bench/ledger_ingest.py).
LOAD_SQL = ("SELECT bc.bundle_id, b.sku, bc.component_id, c.sku, bc.quantity"
            " FROM bundle_components bc JOIN skus b ON b.id = bc.bundle_id"
            " JOIN skus c ON c.id = bc.component_id ORDER BY bc.bundle_id, c.sku")


def load(session: Session) -> dict[int, tuple[str, list[Component]]]:
    """Every bundle and its components (a small table: read once per page or plan)."""
    cursor = bulk.driver_cursor(session)
    try:
        cursor.execute(LOAD_SQL)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    out: dict[int, tuple[str, list[Component]]] = {}
    for bundle_id, bundle_sku, comp_id, comp_sku, qty in rows:
        out.setdefault(bundle_id, (bundle_sku, []))[1].append(Component(comp_id, comp_sku, qty))
    return out


def apply(session: Session, config: Mapping[str, Mapping[str, int]]) -> None:
    """Make `bundle_components` what the config says (bundle sku -> {component: qty}).

    A SKU named here and not known yet is created unknown: a component is adopted like
    any SKU, and a bundle never is (it has no count of its own)."""
    names = set(config) | {c for parts in config.values() for c in parts}
    ids = ensure_skus(session, dict.fromkeys(sorted(names), "")) if names else {}
    wanted = {(ids[b], ids[c], q) for b, parts in config.items() for c, q in parts.items()}
    have = {(r.bundle_id, r.component_id, r.quantity)
            for r in session.scalars(select(m.BundleComponent))}
    for bundle_id, comp_id, _ in have - wanted:
        session.execute(delete(m.BundleComponent).where(
            m.BundleComponent.bundle_id == bundle_id,
            m.BundleComponent.component_id == comp_id))
    session.flush()
    session.add_all(m.BundleComponent(bundle_id=b, component_id=c, quantity=q)
                    for b, c, q in sorted(wanted - have))


def is_bundle(session: Session, sku_id: int) -> bool:
    return session.scalar(select(m.BundleComponent.bundle_id).where(
        m.BundleComponent.bundle_id == sku_id).limit(1)) is not None


def containing(bundles: Bundles, sku_ids: Iterable[int]) -> set[int]:
    """The bundles among `sku_ids`, and those with a component among them."""
    wanted = set(sku_ids)
    return {b for b, (_, parts) in bundles.items()
            if b in wanted or any(c.sku_id in wanted for c in parts)}


def available(parts: Sequence[Component], on_hand: Mapping[int, int | None]) -> int | None:
    """min over components of floor(on_hand / quantity); None while a component is
    unknown (not adopted): a bundle is never published before all its parts are."""
    counts = []
    for c in parts:
        n = on_hand.get(c.sku_id)
        if n is None:
            return None
        counts.append(n // c.quantity)  # floor: a short component makes no whole bundle
    return min(counts) if counts else None


def component_stock(session: Session, bundles: Bundles) -> dict[int, int | None]:
    """What every component can still sell (None: not adopted): on_hand plus its
    `backorder`, as its own listings are told (and as Shopify derives its bundles)."""
    ids = sorted({c.sku_id for _, parts in bundles.values() for c in parts})
    if not ids:
        return {}
    rows: Any = session.connection().execute(
        select(m.Sku.id, m.Sku.on_hand + m.Sku.backorder, m.Sku.adopted_at)
        .where(m.Sku.id.in_(ids)))
    return {sid: (sellable if adopted is not None else None)
            for sid, sellable, adopted in rows}


def availability(session: Session, bundles: Bundles | None = None) -> dict[int, int | None]:
    """Every bundle's availability (None: some component unknown)."""
    bundles = load(session) if bundles is None else bundles
    stock = component_stock(session, bundles)
    return {b: available(parts, stock) for b, (_, parts) in bundles.items()}


WHY = {"sale": "sold as", "restock": "returned as"}


def component_moves(key: str, parts: Sequence[Component], delta: int, kind: str,
                    bundle_sku: str) -> list[tuple[int, int, str, str]]:
    """(component id, delta, source key, reason) of a bundle line's movements: one per
    component, its key derived from the line's (so a retry books none twice), tagged
    with the bundle. `delta` is the bundle units the line moves (signed; 0: history)."""
    why = f"{WHY.get(kind, 'in')} {bundle_sku}"
    return [(c.sku_id, delta * c.quantity, f"{key}/{c.sku}", why) for c in parts]


def expand(kits: Bundles, sku_id: int, kind: str, delta: int, key: str,
           reason: str) -> list[tuple[int, int, str, str]]:
    """(sku_id, delta, source key, reason) of the movements one line books: itself, or a
    bundle's components (`component_moves`)."""
    found = kits.get(sku_id) if kits else None
    if found is None:
        return [(sku_id, delta, key, reason)]
    bundle_sku, parts = found
    return [(comp_id, comp_delta, comp_key, f"{why}: {reason}" if reason else why)
            for comp_id, comp_delta, comp_key, why in
            component_moves(key, parts, delta, kind, bundle_sku)]
