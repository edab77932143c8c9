"""What the ledger knows, as the simulation's actions read it to judge a sale."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from oneshop.ledger import models as m
from sim.model import Edit
from sim.world import World


class LedgerView:
    """Reads of the current App's ledger (the App changes after every crash)."""

    def __init__(self, world: World) -> None:
        self.world = world

    def on_hand(self, sku: str) -> int:
        app = self.world.app
        assert app is not None
        with app.sessions() as s:
            return int(s.scalar(select(m.Sku.on_hand).where(m.Sku.sku == sku)) or 0)

    def booked_orders(self, sku: str, kind: str = "sale") -> set[tuple[str, str]]:
        app = self.world.app
        assert app is not None
        with app.sessions() as s:
            rows = s.execute(select(m.Movement.account, m.Movement.order_external_id)
                             .join(m.Sku, m.Sku.id == m.Movement.sku_id)
                             .where(m.Sku.sku == sku, m.Movement.kind == kind))
            return {(str(a), str(o)) for a, o in rows}

    def folded_edits(self, sku: str, kind: str) -> int:
        app = self.world.app
        assert app is not None
        with app.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(m.Movement)
                                .join(m.Sku, m.Sku.id == m.Movement.sku_id)
                                .where(m.Sku.sku == sku, m.Movement.account == kind,
                                       m.Movement.kind == "channel_edit")) or 0)

    def pending_cuts(self, sku: str, edits: Sequence[Edit]) -> int:
        """The units the seller's hand edits not folded in yet took off `sku` (≤ 0).

        The ledger learns of an edit one or two reconciles later (a second sighting
        confirms it), and a sale meanwhile on another channel may sell a unit the seller
        has already said is gone (seed 77231): once the edit is folded in first, that sale
        crosses 0. An edit that added units can be folded in after the sales it allowed
        (seed 14), so it never makes a sale less raced.
        """
        return sum(e.delta for e in edits if e.sku == sku and e.delta < 0
                   and self.folded_edits(sku, e.kind) == e.folded_before)

    def bound(self, sku: str) -> bool:
        app = self.world.app
        assert app is not None
        with app.sessions() as s:
            return bool(s.scalar(select(func.count()).select_from(m.Sku)
                                 .where(m.Sku.sku == sku)))
