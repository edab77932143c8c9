"""The Etsy adapter (`connector` is the factory in __init__): catalog, orders, pushes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from oneshop.protocols import ConnectorContext
from oneshop.values import (
    Budget,
    Listing,
    ListingsPage,
    Order,
    OrdersPage,
    PushResult,
    Rejected,
    StockLevel,
)
from oneshop_connectors.etsy import endpoints
from oneshop_connectors.etsy.client import EtsyHttp, EtsyRefused, results_of
from oneshop_connectors.etsy.mapping import map_listing, map_receipt, updated_ts
from oneshop_connectors.etsy.push import push_levels

if TYPE_CHECKING:
    from oneshop_connectors.etsy import EtsySettings

T = TypeVar("T")
log = structlog.get_logger()
# Etsy's receipt search trails its writes and our clock may trail Etsy's: re-read this
# much before the last change we saw. Overlap is harmless, the ledger dedupes by
# order id + line id.
ORDERS_OVERLAP = timedelta(minutes=5)
# When the daily budget runs low, the cancellation rescan runs this many times less often.
LOW_BUDGET_STRETCH = 4
DAY_S = 86_400.0


def encode_cursor(since: datetime, rescanned: datetime | None) -> str:
    rs = str(int(rescanned.timestamp())) if rescanned else "-"
    return f"v1:{int(since.timestamp())}:{rs}"


def decode_cursor(cursor: str | None) -> tuple[datetime, datetime | None] | None:
    """(min_last_modified, last rescan) or None for an absent or unreadable cursor."""
    parts = (cursor or "").split(":")
    if len(parts) != 3 or parts[0] != "v1" or not parts[1].isdigit():
        return None
    rescanned = datetime.fromtimestamp(int(parts[2]), UTC) if parts[2].isdigit() else None
    return datetime.fromtimestamp(int(parts[1]), UTC), rescanned


def lookahead(items: Iterable[T]) -> Iterator[tuple[T, bool]]:
    """Each item with whether it is the last one."""
    iterator = iter(items)
    try:
        current = next(iterator)
    except StopIteration:
        return
    for following in iterator:
        yield current, False
        current = following
    yield current, True


class EtsyConnector:
    """Satisfies `oneshop.protocols.Connector` for one Etsy shop."""

    # updateListingInventory replaces the quantities without compare-and-set: a sale
    # landing between our read and our write is erased by it (see push.py).
    blind_writes = True

    @staticmethod
    def write_group(external_id: str) -> str:
        """One inventory PUT rewrites every variant of the listing: "{listing_id}:"."""
        return external_id.partition(":")[0] + ":"

    def __init__(self, settings: EtsySettings, ctx: ConnectorContext) -> None:
        self._settings, self._ctx = settings, ctx
        self._http = EtsyHttp(ctx, base_url=settings.base_url, keystring=settings.keystring,
                              shared_secret=settings.shared_secret.get_secret_value())
        self._budget_low = False

    # -- catalog -----------------------------------------------------------------------
    def fetch_listings(self) -> Iterator[ListingsPage]:
        seen: set[str] = set()
        for state in endpoints.LISTING_STATES:
            offset = 0
            while True:
                body = self._http.get(endpoints.shop_listings(self._settings.shop_id),
                                      endpoints.listings_params(state, offset))
                results = results_of(body)
                yield self._listings_page(results, seen)
                offset += len(results)
                if len(results) < endpoints.PAGE_LIMIT:
                    break

    def _listings_page(self, results: list[Any], seen: set[str]) -> ListingsPage:
        listings: list[Listing] = []
        rejected: list[Rejected] = []
        for raw in results:
            found, bad = map_listing(raw)
            listings.extend(li for li in found if li.external_id not in seen)
            seen.update(li.external_id for li in found)
            rejected.extend(bad)
        return ListingsPage(listings=tuple(listings), rejected=tuple(rejected))

    # -- rolling reconcile (oneshop.protocols.RollingCatalog) ---------------------------
    listings_per_read = endpoints.BATCH_SIZE

    def fetch_listings_by_ids(self, external_ids: Sequence[str]) -> Iterator[ListingsPage]:
        """getListingsByListingIds (100 a request, with inventories): every variant of
        the listings these bindings belong to. A listing Etsy leaves out (deleted) is
        not in the pages."""
        ids = sorted({int(head) for head, _, _ in (e.partition(":") for e in external_ids)
                      if head.isdigit()})
        seen: set[str] = set()
        for start in range(0, len(ids), endpoints.BATCH_SIZE):
            chunk = ids[start:start + endpoints.BATCH_SIZE]
            try:
                body = self._http.get(endpoints.listings_batch(), endpoints.batch_params(chunk))
            except EtsyRefused:
                # Refused as a whole (a 404 when none of the ids exists any more): none of
                # them was read, which is what an empty page says.
                yield ListingsPage(listings=(), rejected=())
                continue
            yield self._listings_page(results_of(body), seen)

    def full_read_requests(self, listings: int) -> int:
        """getListingsByShop pages each state apart: one page more per extra state."""
        pages = -(-max(0, listings) // endpoints.PAGE_LIMIT)
        return pages + len(endpoints.LISTING_STATES) - 1

    def own_requests_per_day(self) -> float:
        """The cancellation rescan: one page of cancelled receipts per run."""
        return DAY_S / float(self._settings.cancellation_rescan_every_s)

    # -- orders ------------------------------------------------------------------------
    def fetch_orders(self, cursor: str | None) -> Iterator[OrdersPage]:
        started = self._ctx.clock()
        decoded = decode_cursor(cursor)
        since, rescanned = decoded or (
            started - timedelta(days=self._settings.order_lookback_days), None)
        final = max(since, started - ORDERS_OVERLAP)
        seen: set[str] = set()
        high = since
        for raw, last in lookahead(self._changed_receipts(since)):
            stamps = [ts for ts in map(updated_ts, raw) if ts is not None]
            if stamps:
                high = max(high, datetime.fromtimestamp(max(stamps), UTC) - ORDERS_OVERLAP)
            mark = final if last else min(high, final)
            yield self._orders_page(raw, seen, encode_cursor(mark, rescanned))
        if not self._rescan_due(started, rescanned):
            return
        window_start = started - timedelta(hours=self._settings.cancellation_rescan_hours)
        for raw, last in lookahead(self._canceled_receipts(window_start)):
            done = started if last else rescanned
            yield self._orders_page(raw, seen, encode_cursor(final, done))

    def _rescan_due(self, now: datetime, rescanned: datetime | None) -> bool:
        every_s = float(self._settings.cancellation_rescan_every_s)
        if self._check_budget():
            every_s *= LOW_BUDGET_STRETCH
        return rescanned is None or (now - rescanned).total_seconds() >= every_s

    def _changed_receipts(self, since: datetime) -> Iterator[list[Any]]:
        """Receipts changed since `since`, paged by moving min_last_modified forward."""
        floor, offset = int(since.timestamp()), 0
        while True:
            body = self._http.get(endpoints.shop_receipts(self._settings.shop_id),
                                  endpoints.changed_receipts_params(floor, offset))
            results = results_of(body)
            yield results
            if len(results) < endpoints.PAGE_LIMIT:
                return
            top = max((ts for ts in map(updated_ts, results) if ts is not None), default=floor)
            # Keyset paging survives receipts moving while we read; a full page sharing
            # one timestamp falls back to the offset.
            floor, offset = (top, 0) if top > floor else (floor, offset + len(results))

    def _canceled_receipts(self, window_start: datetime) -> Iterator[list[Any]]:
        # Cancellations do not move last_modified (etsy/open-api#604): look them up by
        # creation time over the look-back window instead.
        offset = 0
        while True:
            body = self._http.get(endpoints.shop_receipts(self._settings.shop_id),
                                  endpoints.canceled_receipts_params(
                                      int(window_start.timestamp()), offset))
            results = results_of(body)
            yield results
            offset += len(results)
            if len(results) < endpoints.PAGE_LIMIT:
                return

    def _orders_page(self, results: list[Any], seen: set[str], cursor: str) -> OrdersPage:
        orders: list[Order] = []
        rejected: list[Rejected] = []
        for raw in results:
            mapped = map_receipt(raw)
            key = mapped.external_id
            if key is not None and key in seen:
                continue
            if key is not None:
                seen.add(key)
            if isinstance(mapped, Rejected):
                rejected.append(mapped)
            else:
                orders.append(mapped)
        return OrdersPage(orders=tuple(orders), cursor=cursor, rejected=tuple(rejected))

    # -- stock, budget -----------------------------------------------------------------
    def push_stock(self, levels: Sequence[StockLevel]) -> Sequence[PushResult]:
        return push_levels(self._http, self._settings, levels)

    def _check_budget(self) -> bool:
        """Whether the day's budget is below the configured share (polling is stretched)."""
        share = self._http.gauge.share_left()
        low = share is not None and share < self._settings.budget_low_share
        if low and not self._budget_low:
            # The core raises the `budget_low` alert from budget(); this marks the stretch.
            log.info("budget.stretched", account=self._ctx.account,
                     share_left=round(share or 0.0, 3))
        self._budget_low = low
        return low

    def budget(self) -> Budget:
        return self._http.gauge.budget()

    # -- the shop ----------------------------------------------------------------------
    def channel_paused(self) -> str | None:
        """getShop's `is_vacation` ("When true, this shop is not accepting purchases"):
        Etsy's vacation mode, which the API can read but not set (updateShop has no such
        field). Anything but a literal true reads as open: the conservative reading of a
        field Etsy may leave out is that the shop sells (pushes keep it right)."""
        body = self._http.get(endpoints.shop(self._settings.shop_id))
        if isinstance(body, dict) and body.get("is_vacation") is True:
            return "Etsy vacation mode is on (getShop is_vacation)"
        return None

    def close(self) -> None:
        self._http.close()
