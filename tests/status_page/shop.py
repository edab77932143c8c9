"""A shop with history for the status page's tests: sales, a cancellation, a refund, a
hand edit, two oversold SKUs (one deeper), a listing with no SKU, and a SKU named like
an attack (sellers type SKUs; marketplaces send them back verbatim)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from oneshop.app import App
from oneshop.service import Runner
from oneshop.testing import VirtualClock
from oneshop.testing.shop import SandboxShop

HOSTILE = "<script>alert('x')</script>&\"/?#%"
CATALOG = {"MUG": 10, "RING": 1, "VASE": 2, HOSTILE: 5, "CARD": 6}
UNLINKED_TITLE = "Poster <b>no SKU</b>"


@dataclass
class HistoryShop:
    shop: SandboxShop
    app: App
    clock: VirtualClock
    runner: Runner
    ids: dict[str, dict[str, str]]
    unlinked: str = ""

    def poll_all(self, rounds: int = 2) -> None:
        for _ in range(rounds):
            for kind in self.shop.kinds:
                self.clock.advance(30)
                assert self.runner.poll(kind), kind

    def reconcile_all(self) -> None:
        for kind in self.shop.kinds:
            self.clock.advance(30)
            assert self.runner.reconcile(kind, link=True), kind


def make_history(shop: SandboxShop, app: App, clock: VirtualClock) -> HistoryShop:
    """Expected afterwards: VASE at -2 and RING at -1 (oversold, VASE deeper though later
    by name), MUG 6, the
    hostile SKU 4, CARD drifting on Shopify (a hand edit to 9 seen once, not yet folded),
    one Gumroad product unlinked."""
    sb: dict[str, Any] = shop.sandboxes
    ids = {sku: shop.seed(sku, qty) for sku, qty in CATALOG.items()}
    h = HistoryShop(shop=shop, app=app, clock=clock, runner=Runner(app), ids=ids)
    h.reconcile_all()
    sb["etsy"].sell(ids["MUG"]["etsy"], 2)
    kept = sb["shopify"].sell(ids["MUG"]["shopify"], 1)
    gone = sb["shopify"].sell(ids["MUG"]["shopify"], 1)
    sb["gumroad"].sell(ids[HOSTILE]["gumroad"], 1)
    h.poll_all()
    sb["shopify"].cancel(gone, restock=True)
    refunded = sb["etsy"].sell(ids["MUG"]["etsy"], 1)
    h.poll_all()
    sb["etsy"].refund(refunded, 100)  # a partial refund: no unit comes back
    del kept
    # Both channels sell the last units before either poll sees the other's sale.
    sb["shopify"].sell(ids["RING"]["shopify"], 1)
    sb["gumroad"].sell(ids["RING"]["gumroad"], 1)
    sb["etsy"].sell(ids["VASE"]["etsy"], 2)
    sb["shopify"].sell(ids["VASE"]["shopify"], 2)
    h.poll_all()
    sb["shopify"].hand_edit(ids["CARD"]["shopify"], 9)
    h.unlinked = sb["gumroad"].add_product(UNLINKED_TITLE, max_purchase_count=4)
    h.reconcile_all()
    h.poll_all()
    return h
