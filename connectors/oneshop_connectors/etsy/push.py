"""Publishing quantities: read the inventory fresh, reshape it whole, PUT, re-read.

Etsy has no compare-and-set: the fresh read stands in for it (a quantity that moved since
the core last observed it is reported `stale`, not overwritten). Zero stock and listing
states follow the account's policy (DESIGN.md 2.2).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from oneshop.errors import InvalidRecord
from oneshop.values import PushResult, StockLevel
from oneshop_connectors.etsy import endpoints
from oneshop_connectors.etsy.client import EtsyHttp, EtsyRefused
from oneshop_connectors.etsy.inventory import current_quantities, reshape
from oneshop_connectors.etsy.mapping import listing_id_of

if TYPE_CHECKING:
    from oneshop_connectors.etsy import EtsySettings


def push_levels(http: EtsyHttp, settings: EtsySettings, levels: Sequence[StockLevel]
                ) -> list[PushResult]:
    """One result per level, in order; listings are written one at a time."""
    by_listing: dict[int, list[int]] = defaultdict(list)
    results: dict[int, PushResult] = {}
    for index, level in enumerate(levels):
        try:
            by_listing[listing_id_of(level.listing.external_id)].append(index)
        except InvalidRecord as exc:
            results[index] = _result(level, "failed", None, exc.reason)
    for listing_id, indexes in by_listing.items():
        group = [levels[i] for i in indexes]
        pushed = ListingPush(http, settings, listing_id, group).run()
        results.update(zip(indexes, pushed, strict=True))
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

    def read(self) -> tuple[Any, str, int | None]:
        inventory = self.http.get(endpoints.listing_inventory(self.listing_id),
                                  {"includes": "Listing"})
        listing = inventory.get("listing") if isinstance(inventory, dict) else None
        state = listing.get("state") if isinstance(listing, dict) else None
        readiness = listing.get("readiness_state_id") if isinstance(listing, dict) else None
        return inventory, state if isinstance(state, str) else "active", (
            readiness if isinstance(readiness, int) else None)

    def run(self) -> list[PushResult]:
        try:
            return self._run()
        except EtsyRefused as exc:
            return [_result(level, "failed", None, f"Etsy refused: {exc}")
                    for level in self.levels]
        except InvalidRecord as exc:
            return [_result(level, "failed", None, f"unreadable inventory: {exc.reason}")
                    for level in self.levels]

    def _run(self) -> list[PushResult]:
        inventory, state, readiness = self.read()
        current = current_quantities(self.listing_id, inventory, state)
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
        shaped = reshape(self.listing_id, inventory, desired, readiness_state_id=readiness)
        if shaped.on_sale:
            written = self._write(shaped.body, state)
        else:
            written = self._zero_stock(state, current)
        return [early.get(i) or written[level.listing.external_id]
                for i, level in enumerate(self.levels)]

    def _zero_stock(self, state: str, current: dict[str, int]) -> dict[str, PushResult]:
        """Etsy refuses all offerings at 0: apply the zero-stock policy instead."""
        if self.settings.zero_stock_policy == "leave":
            return {lv.listing.external_id: _result(
                lv, "policy", current.get(lv.listing.external_id),
                "left: all offerings 0 cannot be written") for lv in self.levels}
        if state == "active":
            self.http.call("PATCH", endpoints.update_listing(self.settings.shop_id,
                                                             self.listing_id),
                           form={"state": "inactive"})
            detail, state = "deactivated", "inactive"
        else:
            detail = f"already off sale ({state})"
        return {lv.listing.external_id: _result(lv, "policy", 0, detail, state)
                for lv in self.levels}

    def _write(self, body: dict[str, Any], state: str) -> dict[str, PushResult]:
        self.http.call("PUT", endpoints.listing_inventory(self.listing_id), json_body=body)
        detail, status = self._after_write_state(state)
        inventory, state_now, _ = self.read()
        observed = current_quantities(self.listing_id, inventory, state_now)
        results: dict[str, PushResult] = {}
        for level in self.levels:
            key = level.listing.external_id
            seen = observed.get(key)
            note = detail or ("capped at 999" if level.quantity > endpoints.MAX_QUANTITY else "")
            # The PUT took effect; a read-back below it is a sale that landed in between
            # (Etsy has no compare-and-set), which the next orders pull books.
            result_status = status
            if state_now != "active" and status != "policy":
                result_status = "policy"
            results[key] = _result(level, result_status, seen, note, state_now)
        return results

    def _after_write_state(self, state: str) -> tuple[str, str]:
        """Put a listing back on sale when policy allows; (detail, status)."""
        if state == "active":
            return "", "ok"
        if state == "sold_out" and not self.settings.renew_sold_out:
            return "sold_out: not renewed (renew_sold_out = false; renewal costs a fee)", "policy"
        # The state is the listing's: one level we deactivated and one with stock suffice.
        if state == "inactive" and not (any(lv.may_activate for lv in self.levels)
                                        and any(lv.quantity > 0 for lv in self.levels)):
            return "quantities written; listing left inactive (not deactivated by oneshop)", (
                "policy")
        if state not in ("inactive", "sold_out"):
            return f"quantities written; listing is {state}", "policy"
        self.http.call("PATCH", endpoints.update_listing(self.settings.shop_id, self.listing_id),
                       form={"state": "active"})
        return ("renewed (a listing fee applies)" if state == "sold_out" else "reactivated"), "ok"
