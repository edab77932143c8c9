"""What the world does to the shop: sales, cancellations, hand edits, credentials, faults.

Each action draws from the scenario's RNG only, acts on the sandboxes (through their rich
controls, typed `Any`: the core never imports a connector) and leaves a trace line.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import httpx

from sim.bundles import unbooked_units
from sim.ledgerview import LedgerView
from sim.model import Edit, Sale, Truth, stock_models_in
from sim.world import World

Trace = Callable[[str], None]


class Actions:
    def __init__(self, world: World, truth: Truth, rng: random.Random, trace: Trace) -> None:
        self.world, self.truth, self.rng, self.trace = world, truth, rng, trace
        self.step = 0
        self.revoked: set[str] = set()
        self.disturbed: set[str] = set()  # channels that may not have heard every push
        self.ledger = LedgerView(world)

    def sb(self, kind: str) -> Any:
        return self.world.sandboxes[kind]

    # -- catalog ---------------------------------------------------------------------------

    def seed_catalog(self) -> None:
        n_plain = self.rng.randint(1, 4)
        for i in range(n_plain):
            qty = self.rng.choice([0, 1, 1, 1, 2, 3, 5])
            sku = f"P{i}-{self.rng.choice(['mug', 'ring', 'card', 'print'])}"
            self.truth.listings[sku] = self.world.shop.seed(sku, qty)
            self.truth.initial[sku] = qty
        if self.rng.random() < 0.6:
            self._seed_variants()
        if stock_models_in(self.world.seed):
            self._seed_stock_models()
        self.trace("catalog " + " ".join(f"{s}={q}" for s, q in self.truth.initial.items()))

    def _seed_variants(self) -> None:
        sizes = self.rng.sample(["S", "M", "L"], self.rng.randint(2, 3))
        qtys = {size: self.rng.choice([0, 1, 1, 2, 3]) for size in sizes}
        if not any(qtys.values()):
            qtys[sizes[0]] = 1
        skus = {size: f"TEE/{size}" for size in sizes}
        etsy_ids = self.sb("etsy").seed_variant_listing(
            "Tee", [(skus[s], s, qtys[s]) for s in sizes])
        product = self.sb("gumroad").add_product("Tee", permalink="TEE")
        for size, etsy_id in zip(sizes, etsy_ids, strict=True):
            self.truth.listings[skus[size]] = {
                "etsy": etsy_id,
                "shopify": self.sb("shopify").add_variant(skus[size], qtys[size]),
                "gumroad": self.sb("gumroad").add_variant(product, "Size", size,
                                                          max_purchase_count=qtys[size]),
            }
            self.truth.initial[skus[size]] = qtys[size]

    def _seed_stock_models(self) -> None:
        """A pre-order SKU (backorder = N) and an e-book (unlimited: an Etsy listing at
        999, an untracked Shopify variant, a Gumroad product with no cap)."""
        qty, n = self.rng.choice([0, 1, 2]), self.rng.choice([1, 2])
        self.truth.listings["B0-preorder"] = self.world.shop.seed("B0-preorder", qty)
        self.truth.initial["B0-preorder"] = qty
        self.truth.backorder["B0-preorder"] = n
        self.truth.unlimited["E0-ebook"] = {
            "etsy": self.sb("etsy").seed_listing("E0-ebook", 999),
            "shopify": self.sb("shopify").add_variant("E0-ebook", None, tracked=False),
            "gumroad": self.sb("gumroad").add_product("E-book", permalink="E0-ebook",
                                                      max_purchase_count=None)}
        self.world.shop.skus = {**self.world.shop.skus, "B0-preorder": {"backorder": n},
                                "E0-ebook": {"stock": "unlimited"}}
        self.trace(f"stock models: B0-preorder backorder={n}, E0-ebook unlimited")

    def sell_unlimited(self) -> None:
        """A customer buys the e-book on any channel: nothing can run out."""
        sku = "E0-ebook"
        kind = self.rng.choice(sorted(self.truth.unlimited[sku]))
        qty = self.rng.choice([1, 1, 2])
        order_id = str(self.sb(kind).sell(self.truth.unlimited[sku][kind], qty))
        self.truth.sales.append(Sale(kind=kind, order_id=order_id, sku=sku, quantity=qty,
                                     step=self.step))
        self.trace(f"sell {kind} {sku} x{qty} -> {order_id} (unlimited)")

    # -- sales -------------------------------------------------------------------------------

    def sell(self, sku: str | None = None, kind: str | None = None, *,
             in_flight: bool = False) -> Sale | None:
        """A customer buys. in_flight: while our stock write to that channel is on its way,
        so what the channel shows is not yet what the ledger knows."""
        sku = sku or self.rng.choice(sorted(self.truth.listings))
        kind = kind or self.rng.choice(sorted(self.truth.listings[sku]))
        ext = self.truth.listings[sku][kind]
        shown = self.sb(kind).quantity(ext) or 0
        if shown < 1:
            return None
        qty = 1 if shown == 1 or self.rng.random() < 0.8 else 2
        booked, back = self.ledger.booked_orders(sku), self.ledger.booked_orders(sku, "restock")
        # Units sold alone or in kits (sim/bundles.py) that the ledger has not booked yet.
        unbooked = unbooked_units(self.truth, sku, booked)
        # Units a cancellation put back (on the channel's shelf or ours), not yet booked.
        returning = sum(s.restock_expected for s in self.truth.sales
                        if s.sku == sku and (s.kind, s.order_id) not in back)
        # What the ledger will have seen once every earlier sale is booked and every
        # earlier hand edit that took units off folded in: below the quantity sold, the
        # ledger goes under 0 (an oversell, if only until a cancellation it has not seen
        # yet comes in); `avail` also counts units on their way back.
        cuts = self.ledger.pending_cuts(sku, self.truth.edits)
        seen_left = (self.ledger.on_hand(sku) - unbooked + cuts
                     if self.ledger.bound(sku) else shown)
        # Backorders: units the ledger may sell below 0 exist for the buyer.
        seen_left += self.truth.backorder.get(sku, 0)
        avail = seen_left + returning
        try:
            order_id = str(self.sb(kind).sell(ext, qty))
        except ValueError:
            return None
        sale = Sale(kind=kind, order_id=order_id, sku=sku, quantity=qty, step=self.step,
                    raced=qty > seen_left)
        self.truth.sales.append(sale)
        self.trace(f"sell {kind} {sku} x{qty} -> {order_id}"
                   + (f" (raced: {seen_left} left)" if sale.raced else ""))
        # A unit the channel put back itself stays on sale there until its cancellation is
        # booked, however calm the polls: Etsy's show up only in its rescan (900 s).
        restocked = any(s.channel_restocked and s.kind == kind and s.sku == sku
                        and (s.kind, s.order_id) not in back for s in self.truth.sales)
        if qty > avail and not unbooked and kind not in self.disturbed and not restocked \
                and sku not in self.truth.edited and not in_flight:
            self.truth.violations.append(
                f"step {self.step}: {kind} sold {sku} x{qty} showing {shown} while the "
                f"ledger knew only {avail} left and nothing disturbed the channel")
        return sale

    def race_last_unit(self) -> None:
        """The last unit(s) sell on two channels inside one poll interval."""
        sku = self.rng.choice(sorted(self.truth.listings))
        first, second = self.rng.sample(sorted(self.truth.listings[sku]), 2)
        for kind in (first, second):
            ext = self.truth.listings[sku][kind]
            shown = self.sb(kind).quantity(ext) or 0
            for _ in range(shown if shown <= 3 else 0):
                self.sell(sku, kind)

    def race_write(self) -> None:
        """A sale on a channel while our next stock write to it is in flight (just before
        the channel handles the write, or just after): Etsy's write has no
        compare-and-set and erases a sale made before it."""
        kind = self.rng.choice(sorted(self.world.sandboxes))
        when = self.rng.choice(["before", "after"])

        def buy(request: httpx.Request) -> None:
            # A SKU of the listing being written, when the request names one.
            written = request.url.path.encode() + request.content
            skus = sorted(s for s, by_kind in self.truth.listings.items()
                          if kind in by_kind and _named(by_kind[kind], written))
            if skus:
                self.trace(f"a sale {when} our write to {kind}")
                self.sell(self.rng.choice(skus), kind, in_flight=True)

        self.world.injector.during_write[kind] = (when, buy)
        self.trace(f"a sale will race our next write to {kind} ({when})")

    def cancel(self) -> None:
        open_sales = [s for s in self.truth.sales if not s.closed]
        if not open_sales:
            return
        sale = self.rng.choice(open_sales)
        sb = self.sb(sale.kind)
        ext = self.truth.ext(sale.sku, sale.kind)
        shown_before = sb.quantity(ext) or 0
        how = "cancel"
        if sale.kind == "shopify":
            how = self.rng.choice(["cancel", "cancel-no-restock", "refund", "refund-no-restock"])
        if how.startswith("refund"):
            sb.refund(sale.order_id, 0, 1, restock=how == "refund")
            sale.restock_expected = 1 if how == "refund" else 0
        else:
            sb.cancel(sale.order_id, restock=how == "cancel")
            sale.restock_expected = sale.quantity if how == "cancel" else 0
        sale.closed = True
        if (sb.quantity(ext) or 0) > shown_before:
            # The channel put the unit back on its own shelf (Shopify restocks): it may
            # sell it before its next pull tells us, whatever the ledger knows.
            self.disturbed.add(sale.kind)
            sale.channel_restocked = True
        self.trace(f"{how} {sale.kind} {sale.order_id} ({sale.sku} x{sale.quantity})")

    def hand_edit(self, sku: str | None = None, kind: str | None = None,
                  qty: int | None = None) -> None:
        sku = sku or self.rng.choice(sorted(self.truth.listings))
        kind = kind or self.rng.choice(sorted(self.truth.listings[sku]))
        qty = self.rng.randint(0, 4) if qty is None else qty
        ext = self.truth.listings[sku][kind]
        if kind == "etsy" and self.sb(kind).listing_state(ext) == "sold_out":
            self._renew(sku, ext, max(qty, 1))
            return
        if kind == "etsy" and (self.sb(kind).listing_state(ext) != "active"
                               or not self.sb(kind).is_enabled(ext)):
            # Sellers edit live offerings; a quantity typed into one they switched off
            # leaves it off, and the connector rightly never switches it back on.
            return
        shown = self.sb(kind).quantity(ext) or 0
        if self.ledger.bound(sku):
            self.truth.edits.append(Edit(sku=sku, kind=kind, delta=qty - shown,
                                         folded_before=self.ledger.folded_edits(sku, kind)))
        self.sb(kind).hand_edit(ext, qty)
        self.truth.edited.add(sku)
        self.trace(f"hand edit {kind} {sku} -> {qty}")

    def _renew(self, sku: str, ext: str, qty: int) -> None:
        """The seller renews a sold-out Etsy listing by hand, typing a quantity: back on
        sale, and a quantity oneshop never pushed (a hand edit, measured from what it
        held for the listing)."""
        if self.ledger.bound(sku):
            self.truth.edits.append(Edit(sku=sku, kind="etsy", delta=qty,
                                         folded_before=self.ledger.folded_edits(sku, "etsy")))
        self.sb("etsy").renew(ext, qty)
        # Renewing puts every variant of the listing back on sale with what Etsy kept for
        # it (a cancellation Etsy restocked while it was sold out, say) until a reconcile
        # reads them: the seller's act covers them all (seed 200235).
        listing = ext.partition(":")[0]
        self.truth.edited.update(s for s, by_kind in self.truth.listings.items()
                                 if by_kind.get("etsy", "").partition(":")[0] == listing)
        self.trace(f"renew etsy {sku} by hand -> {qty}")

    def malformed(self) -> None:
        kind = self.rng.choice(sorted(self.world.sandboxes))
        order_id = str(self.sb(kind).add_malformed_order())
        self.truth.malformed.append((kind, order_id))
        self.trace(f"malformed order on {kind}: {order_id}")

    # -- credentials -------------------------------------------------------------------------

    def revoke(self) -> None:
        kind = self.rng.choice(sorted(self.world.sandboxes))
        self.sb(kind).revoke_credentials()
        self.revoked.add(kind)
        self.disturbed.add(kind)
        self.trace(f"revoke {kind}")

    def expire_etsy_tokens(self) -> None:
        self.sb("etsy").expire_access_tokens()
        self.trace("etsy access tokens expire")

    def reauthorise(self, kind: str) -> None:
        """The seller re-authorises: fresh credentials stored, the account resumed."""
        sb = self.sb(kind)
        if kind == "shopify":
            sb.revoked = False
        elif kind == "gumroad":
            with sb.lock:
                sb.world.revoked = False
        self.world.store_fresh_tokens(kind)
        from oneshop.service import resume_account

        assert self.world.app is not None
        resume_account(self.world.app, kind)
        self.revoked.discard(kind)
        self.trace(f"re-authorise {kind}")

    def collect_secrets(self) -> None:
        etsy = self.sb("etsy")
        self.truth.secrets.update(etsy.tokens.access)
        self.truth.secrets.update(etsy.tokens.refresh)
        self.truth.secrets.add(etsy.shared_secret)
        self.truth.secrets.add(self.sb("shopify").static_token)
        self.truth.secrets.add(self.sb("gumroad").world.token)

    # -- faults ------------------------------------------------------------------------------

    def fault(self) -> None:
        kind = self.rng.choice(sorted(self.world.sandboxes))
        sb, inj = self.sb(kind), self.world.injector
        what = self.rng.choice(["500", "503", "429", "drop", "timeout", "lost_answer", "slow",
                                "half_page", "throttle", "drop_response"])
        n = self.rng.randint(1, 3)
        if what in ("500", "503"):
            sb.fail_next(n, status=int(what))
        elif what == "429":
            sb.fail_next(n, status=429, retry_after_s=self.rng.choice([1, 5, 30]))
        elif what == "drop":
            sb.faults.drop_next(n)
        elif what == "throttle" and kind == "shopify":
            sb.exhaust_budget()
        elif what == "drop_response" and kind == "shopify":
            sb.drop_next_responses(n)
        elif what == "slow":
            inj.queued.setdefault(kind, []).append(f"slow:{self.rng.choice([5, 30, 120])}")
        elif what == "half_page":
            # The first request(s) of the next pull pass, a later page fails.
            inj.queued.setdefault(kind, []).extend(["ok"] * n + ["timeout"] * 6)
        elif what in ("timeout", "lost_answer"):
            inj.queued.setdefault(kind, []).extend([what] * n)
        self.disturbed.add(kind)
        self.trace(f"fault {kind} {what} x{n}")

    def arm_crash(self) -> None:
        inj = self.world.injector
        inj.crash_in = self.rng.randint(1, 15)
        inj.crash_after_send = self.rng.random() < 0.5
        self.disturbed.update(self.world.sandboxes)
        self.trace(f"crash armed: request {inj.crash_in}"
                   + (" (after it is processed)" if inj.crash_after_send else ""))

    def calm(self, kind: str) -> bool:
        """No fault is waiting for this channel and no crash is armed."""
        inj, sb = self.world.injector, self.sb(kind)
        return (not inj.queued.get(kind) and inj.crash_in is None and not sb.faults._queue
                and getattr(sb, "_drop_responses", 0) == 0)

    def clear_faults(self) -> None:
        inj = self.world.injector
        inj.queued.clear()
        inj.crash_in = None
        inj.during_write.clear()
        for kind, sb in self.world.sandboxes.items():
            any_sb: Any = sb
            any_sb.faults.clear()
            if kind == "shopify":
                any_sb.drop_next_responses(0)
                with any_sb._lock:
                    any_sb._drop_responses = 0


def _named(external_id: str, written: bytes) -> bool:
    """Does a write name this listing? Etsy's external ids start with the listing id,
    Shopify's with the variant's, Gumroad's with the product's."""
    head = external_id.replace("/", ":").split(":")[0]
    return bool(head) and head.encode() in written
