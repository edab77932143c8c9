"""Publishing quantities: batch-read the listings, reshape each inventory whole, PUT.

Etsy has no compare-and-set: the fresh read stands in for it (a quantity that moved since
the core last observed it is reported `stale`, not overwritten). One
getListingsByListingIds call reads a batch of listings with their inventories, and the PUT
answers with the inventory as written, so no read-back follows it: a pushed listing costs
about one request. Zero stock and listing states follow the account's policy (DESIGN.md 2.2).

A RetryableError or AuthError (a 429 past its inline wait, a connection that kept
dropping) leaves `push_levels` with no results at all, however many listings were already
written: the engine marks every push of the call failed and pushes again after the next
pull, where a write that did land reads back as our own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from oneshop.errors import InvalidRecord
from oneshop.values import PushResult, StockLevel
from oneshop_connectors.etsy import endpoints
from oneshop_connectors.etsy.client import EtsyHttp, EtsyRefused, results_of
from oneshop_connectors.etsy.inventory import current_quantities, listing_readiness, reshape
from oneshop_connectors.etsy.mapping import listing_id_of

if TYPE_CHECKING:
    from oneshop_connectors.etsy import EtsySettings


@dataclass(frozen=True, slots=True, kw_only=True)
class Fresh:
    """One listing as just read: its inventory, its state, the profile to send."""

    inventory: Any
    state: str
    readiness: int | None


def fresh_of(listing: Any, inventory: Any) -> Fresh:
    state = listing.get("state") if isinstance(listing, dict) else None
    return Fresh(inventory=inventory, state=state if isinstance(state, str) else "active",
                 readiness=listing_readiness(listing, inventory))


def read_batch(http: EtsyHttp, listing_ids: list[int]) -> dict[int, Fresh]:
    """getListingsByListingIds with inventories (≤ 100 ids): what it returned, by id."""
    try:
        body = http.get(endpoints.listings_batch(), endpoints.batch_params(listing_ids))
    except EtsyRefused:
        # Refused as a whole (a 404 when none of the ids exists, say): each listing's own
        # read then tells which of them is at fault.
        return {}
    found: dict[int, Fresh] = {}
    for raw in results_of(body):
        listing_id = raw.get("listing_id") if isinstance(raw, dict) else None
        # A listing left out or without an inventory object falls back to the
        # per-listing read, which says why (404, no inventory records, ...).
        if listing_id in listing_ids and isinstance(raw.get("inventory"), dict):
            found[listing_id] = fresh_of(raw, raw["inventory"])
    return found


# Listings read per batch before their writes. Etsy has no compare-and-set, so a sale
# between our read and our PUT is overwritten: the next orders pull books it, but Etsy then
# shows a unit more than we believe until the reconcile. Five keep that window near 0.5 s
# at 10 QPS for 1.2 requests a listing (one read per listing: 0.1 s for 2; the most
# getListingsByListingIds takes, 100: 10 s for 1.01). bench/load_burst_real.py found it.
READ_AHEAD = 5


def push_levels(http: EtsyHttp, settings: EtsySettings, levels: Sequence[StockLevel]
                ) -> list[PushResult]:
    """One result per level, in order; listings are read in batches, written one by one."""
    by_listing: dict[int, list[int]] = defaultdict(list)
    results: dict[int, PushResult] = {}
    for index, level in enumerate(levels):
        try:
            by_listing[listing_id_of(level.listing.external_id)].append(index)
        except InvalidRecord as exc:
            results[index] = _result(level, "failed", None, exc.reason)
    listing_ids = list(by_listing)
    for start in range(0, len(listing_ids), READ_AHEAD):
        # Read a batch just before writing it, not every batch up front: the read a PUT
        # relies on is at most READ_AHEAD writes old.
        batch = listing_ids[start:start + READ_AHEAD]
        fresh = read_batch(http, batch)
        for listing_id in batch:
            indexes = by_listing[listing_id]
            push = ListingPush(http, settings, listing_id, [levels[i] for i in indexes])
            results.update(zip(indexes, push.run(fresh.get(listing_id)), strict=True))
    return [results[i] for i in range(len(levels))]


def _result(level: StockLevel, status: Any, observed: int | None, detail: str = "",
            state: str | None = None) -> PushResult:
    listing = level.listing
    if observed is not None or state is not None:
        listing = replace(listing, quantity=observed if observed is not None
                          else listing.quantity, state=state or listing.state,
                          extra={**listing.extra, "state": state or listing.state})
    return PushResult(external_id=level.listing.external_id, status=status,
                      observed=observed, detail=detail, listing=listing)


class ListingPush:
    """The write of one listing's bound quantities."""

    def __init__(self, http: EtsyHttp, settings: EtsySettings, listing_id: int,
                 levels: list[StockLevel]) -> None:
        self.http, self.settings, self.listing_id, self.levels = http, settings, listing_id, levels

    def read(self) -> Fresh:
        """The per-listing read: for what the batch read did not return, and after a renewal."""
        inventory = self.http.get(endpoints.listing_inventory(self.listing_id),
                                  {"includes": "Listing"})
        return fresh_of(inventory.get("listing") if isinstance(inventory, dict) else None,
                        inventory)

    def run(self, fresh: Fresh | None) -> list[PushResult]:
        try:
            return self._run(fresh or self.read())
        except EtsyRefused as exc:
            return [_result(level, "failed", None, f"Etsy refused: {exc}")
                    for level in self.levels]
        except InvalidRecord as exc:
            return [_result(level, "failed", None, f"unreadable inventory: {exc.reason}")
                    for level in self.levels]

    def _run(self, fresh: Fresh) -> list[PushResult]:
        current = current_quantities(self.listing_id, fresh.inventory, fresh.state)
        early: dict[int, PushResult] = {}
        desired: dict[str, int] = {}
        for i, level in enumerate(self.levels):
            key = level.listing.external_id
            if key not in current:
                early[i] = _result(level, "failed", None, "no such product on the listing")
            elif level.observed is not None and current[key] != level.observed:
                early[i] = _result(level, "stale", current[key], "changed on Etsy")
            else:
                desired[key] = min(max(level.quantity, 0), endpoints.MAX_QUANTITY)
        if not desired:
            return [early[i] for i in range(len(self.levels))]
        if fresh.state == "sold_out" and not self.settings.renew_sold_out:
            # Never a write: a quantity to hold, or nothing to show (already off sale).
            written = (self._held_sold_out(current) if any(desired.values())
                       else self._zero_stock(fresh.state, current))
            return [early.get(i) or written[level.listing.external_id]
                    for i, level in enumerate(self.levels)]
        shaped = reshape(self.listing_id, fresh.inventory, desired,
                         readiness_state_id=fresh.readiness)
        if shaped.on_sale:
            written = self._write(shaped.body, fresh.state)
        else:
            written = self._zero_stock(fresh.state, current)
        return [early.get(i) or written[level.listing.external_id]
                for i, level in enumerate(self.levels)]

    def _held_sold_out(self, current: dict[str, int]) -> dict[str, PushResult]:
        """A sold_out listing without consent to renew: nothing is written.

        Etsy documents only that activating a sold_out listing renews it (a fee); what a
        write to its inventory does is not documented, so none is made. The core holds
        each quantity (`policy`) and pushes it once the listing is on sale again: renewed
        by the seller, or by us when `renew_sold_out = true`.
        """
        return {lv.listing.external_id: _result(
            lv, "policy", current.get(lv.listing.external_id),
            f"sold_out: not renewed (renew_sold_out = false; renewal costs a fee); "
            f"{min(max(lv.quantity, 0), endpoints.MAX_QUANTITY)} held until it is renewed",
            "sold_out") for lv in self.levels}

    def _zero_stock(self, state: str, current: dict[str, int]) -> dict[str, PushResult]:
        """Etsy refuses all offerings at 0: apply the zero-stock policy instead."""
        if self.settings.zero_stock_policy == "leave":
            return {lv.listing.external_id: _result(
                lv, "policy", current.get(lv.listing.external_id),
                "left: all offerings 0 cannot be written") for lv in self.levels}
        if state == "active":
            detail, state = "deactivated", self._set_state("inactive")
        else:
            detail = f"already off sale ({state})"
        return {lv.listing.external_id: _result(lv, "policy", 0, detail, state)
                for lv in self.levels}

    def _write(self, body: dict[str, Any], state: str) -> dict[str, PushResult]:
        # updateListingInventory answers with the inventory as written: that is the
        # read-back, and no sale can land between a write and its own answer.
        written = self.http.call("PUT", endpoints.listing_inventory(self.listing_id),
                                 json_body=body)
        detail, status, state_now = self._after_write_state(state)
        if state == "sold_out" and state_now == "active":
            # A renewal sets quantities of its own ("will update the quantity to 1").
            written = self.read().inventory
        observed = current_quantities(self.listing_id, written, state_now)
        results: dict[str, PushResult] = {}
        for level in self.levels:
            key = level.listing.external_id
            note = detail or ("capped at 999" if level.quantity > endpoints.MAX_QUANTITY else "")
            result_status = status if state_now == "active" else "policy"
            results[key] = _result(level, result_status, observed.get(key), note, state_now)
        return results

    def _after_write_state(self, state: str) -> tuple[str, str, str]:
        """Put a listing back on sale when policy allows; (detail, status, state after)."""
        if state == "active":
            return "", "ok", state
        # The state is the listing's: one level we deactivated and one with stock suffice.
        if state == "inactive" and not (any(lv.may_activate for lv in self.levels)
                                        and any(lv.quantity > 0 for lv in self.levels)):
            return ("quantities written; listing left inactive (not deactivated by oneshop)",
                    "policy", state)
        if state not in ("inactive", "sold_out"):
            return f"quantities written; listing is {state}", "policy", state
        state_now = self._set_state("active")
        return ("renewed (a listing fee applies)" if state == "sold_out" else "reactivated",
                "ok", state_now)

    def _set_state(self, target: str) -> str:
        """updateListing(state); the state its answer (a ShopListing) reports."""
        answer = self.http.call("PATCH", endpoints.update_listing(self.settings.shop_id,
                                                                  self.listing_id),
                                form={"state": target})
        state = answer.get("state") if isinstance(answer, dict) else None
        return state if isinstance(state, str) else target
