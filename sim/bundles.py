"""Bundles in the simulation: a kit of two plain SKUs, listed on its own on Etsy and
Gumroad (a oneshop bundle) and as a Shopify bundle (`requiresComponents`), and customers
buying it. Draws from an RNG of its own, so a seed without a kit replays as before.

The invariants (check.py, `bundle_problems`): every bundle line's components are booked
exactly once (one sale movement each, quantity x units); the bundle SKU itself never
moves; every bundle listing shows what its components make; and no component is oversold
through a bundle sale that a calm channel offered (`BundleActions.sell`).
"""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from oneshop.ledger import models as m
from sim.ledgerview import LedgerView
from sim.model import Sale, Truth

KIT = "KIT-gift"


class BundleActions:
    def __init__(self, actions: Any, seed: int) -> None:
        self.act = actions
        self.truth: Truth = actions.truth
        self.rng = random.Random(f"bundles:{seed}")
        self.ledger: LedgerView = actions.ledger

    def seed(self) -> None:
        """Half the seeds get a kit of their first two plain SKUs (before the takeover)."""
        plain = sorted(s for s in self.truth.initial if "/" not in s)
        if len(plain) < 2 or self.rng.random() < 0.5:
            return
        parts = {plain[0]: 1, plain[1]: self.rng.choice([1, 2])}
        self.truth.bundles[KIT] = parts
        self.act.world.shop.skus = {**self.act.world.shop.skus, KIT: {"bundle": parts}}
        makes = min(self.truth.initial[c] // q for c, q in parts.items())
        sb = self.act.sb
        self.truth.bundle_listings[KIT] = {
            "etsy": sb("etsy").seed_listing(KIT, makes),
            "gumroad": sb("gumroad").seed_listing(KIT, makes),
            "shopify": sb("shopify").add_bundle(
                KIT, [(self.truth.listings[c]["shopify"], q) for c, q in parts.items()]),
        }
        self.act.trace(f"bundle {KIT} = " + " + ".join(f"{q}x{c}" for c, q in parts.items()))

    def maybe_sell(self) -> None:
        if not self.truth.bundles:
            return
        roll = self.rng.random()
        if roll < 0.35:
            self.sell()
        elif roll < 0.55:
            self.race()

    def race(self) -> None:
        """A kit and one of its components sell inside one poll interval, on two
        channels (or the kit on every channel that shows one)."""
        self.act.trace(f"race: {KIT} and its parts sell at once")
        if self.rng.random() < 0.5:
            for _ in range(len(self.truth.bundle_listings[KIT])):
                self.sell()
            return
        kit_kind = self.sell()
        comp = self.rng.choice(sorted(self.truth.bundles[KIT]))
        others = sorted(k for k in self.truth.listings[comp]
                        if kit_kind is None or k != kit_kind.kind)
        self.act.sell(comp, self.rng.choice(others))

    def sell(self) -> Sale | None:
        """A customer buys one kit where it shows one; judged like a plain sale, per
        component: raced when the ledger (with every earlier sale booked) lacks units."""
        kind = self.rng.choice(sorted(self.truth.bundle_listings[KIT]))
        ext = self.truth.bundle_listings[KIT][kind]
        shown = self.act.sb(kind).quantity(ext) or 0
        if shown < 1:
            return None
        raced, short, settled = False, [], True
        for comp, q in sorted(self.truth.bundles[KIT].items()):
            left, returning, calm = self._seen_left(comp)
            raced |= q > left
            settled &= calm
            if q > left + returning:
                short.append(f"{comp} {left + returning}/{q}")
        try:
            order_id = str(self.act.sb(kind).sell(ext, 1))
        except ValueError:
            return None
        sale = Sale(kind=kind, order_id=order_id, sku=KIT, quantity=1, step=self.act.step,
                    raced=raced)
        self.truth.bundle_sales.append(sale)
        self.act.trace(f"sell {kind} {KIT} x1 -> {order_id}" + (" (raced)" if raced else ""))
        if short and settled and kind not in self.act.disturbed:
            self.truth.violations.append(
                f"step {self.act.step}: {kind} sold {KIT} showing {shown} while the ledger "
                f"knew too few components ({', '.join(short)}) and nothing disturbed it")
        return sale

    def _seen_left(self, comp: str) -> tuple[int, int, bool]:
        """(units the ledger will have once every earlier sale is booked, units on their
        way back, whether nothing else explains a shortfall)."""
        booked = self.ledger.booked_orders(comp)
        back = self.ledger.booked_orders(comp, "restock")
        unbooked = unbooked_units(self.truth, comp, booked)
        returning = sum(s.restock_expected for s in self.truth.sales
                        if s.sku == comp and (s.kind, s.order_id) not in back)
        restocked = any(s.channel_restocked and s.sku == comp
                        and (s.kind, s.order_id) not in back for s in self.truth.sales)
        # A backordered component may sell below 0 (docs/stock-models.md).
        left = (self.ledger.on_hand(comp) + self.truth.backorder.get(comp, 0) - unbooked
                + self.ledger.pending_cuts(comp, self.truth.edits))
        return left, returning, not unbooked and not restocked and comp not in self.truth.edited


def unbooked_units(truth: Truth, sku: str, booked: set[tuple[str, str]]) -> int:
    """Units of `sku` sold (alone or in kits) that the ledger has not booked yet."""
    alone = sum(s.quantity for s in truth.sales
                if s.sku == sku and (s.kind, s.order_id) not in booked)
    in_kits = sum(s.quantity * truth.bundles[s.sku].get(sku, 0) for s in truth.bundle_sales
                  if (s.kind, s.order_id) not in booked)
    return alone + in_kits


def bundle_problems(s: Session, truth: Truth, shown: Any) -> list[str]:
    """The bundle invariants, once the service is quiet."""
    if not truth.bundles:
        return []
    found: list[str] = []
    moves: dict[tuple[str, str, str], list[int]] = {}
    for sku, account, order, delta in s.execute(
            select(m.Sku.sku, m.Movement.account, m.Movement.order_external_id,
                   m.Movement.delta).join(m.Sku, m.Sku.id == m.Movement.sku_id)
            .where(m.Movement.kind == "sale")):
        moves.setdefault((str(sku), str(account), str(order)), []).append(int(delta))
    for sale in truth.bundle_sales:
        for comp, q in sorted(truth.bundles[sale.sku].items()):
            got = moves.get((comp, sale.kind, sale.order_id), [])
            if got != [-sale.quantity * q]:
                found.append(f"{sale.kind} order {sale.order_id} ({sale.sku} x{sale.quantity})"
                             f": {comp} booked as {got}, expected one movement "
                             f"{-sale.quantity * q}")
    on_hand = dict(s.execute(select(m.Sku.sku, m.Sku.on_hand)).all())
    for kit, parts in truth.bundles.items():
        if on_hand.get(kit, 0) != 0:
            found.append(f"bundle {kit} has stock of its own: {on_hand[kit]}")
        makes = min((int(on_hand.get(c, 0)) + truth.backorder.get(c, 0)) // q
                    for c, q in parts.items())
        want = truth.published(makes)
        for kind, ext in sorted(truth.bundle_listings[kit].items()):
            if kind == "shopify":
                continue  # Shopify derives it from the components (checked themselves)
            got = shown(kind, ext)  # None: off sale by a policy the check accepts
            if got is not None and got != want:
                found.append(f"bundle {kit} on {kind} shows {got}, its components make "
                             f"{makes} (published {want})")
    return found
