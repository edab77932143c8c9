"""Pulling sales from /v2/sales: orders since the cursor, and the units counted against caps.

A poll reads newest first down to its floor: the newest sale booked, less ORDER_OVERLAP
(less LONG_ORDER_OVERLAP every LONG_OVERLAP_EVERY). Once an hour (and on the first poll)
it reads back over the refund window instead, which also recounts the units of that
window (units.py); the very first poll, or one whose cursor holds no units, reads the
whole history once to count them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from oneshop.errors import RetryableError
from oneshop.values import OrdersPage
from oneshop_connectors.gumroad import endpoints
from oneshop_connectors.gumroad import mapping as m
from oneshop_connectors.gumroad.cursor import OrdersCursor, decode
from oneshop_connectors.gumroad.units import Counted, Tally, counted_sale, recount

if TYPE_CHECKING:
    from oneshop_connectors.gumroad.account import GumroadConnector

# /v2/sales lists only completed sales, stamped with the time the purchase *started*: a
# purchase still being charged when we poll shows up later with an older created_at.
# Re-reading before the newest sale we booked catches those; the ledger dedupes, and the
# units tally remembers the ids of what it counted in the longest span. The sales list
# has no cheap listing (ids and times only), so the re-read is paid in whole pages: every
# poll re-reads ORDER_OVERLAP, which a card charge fits in; every LONG_OVERLAP_EVERY, a
# poll re-reads LONG_ORDER_OVERLAP, for the slow ones (3-D Secure, PayPal), which are then
# booked up to LONG_OVERLAP_EVERY later than a 15-minute overlap on every poll would.
ORDER_OVERLAP = timedelta(minutes=2)
LONG_ORDER_OVERLAP = timedelta(minutes=15)
LONG_OVERLAP_EVERY = timedelta(minutes=5)
# The `after` filter takes whole dates, read in the seller's time zone, not UTC: starting
# a day earlier than the UTC date keeps every zone inside the window.
DATE_FILTER_SLACK = timedelta(days=1)
# Refunds do not change a sale's date, so older sales are re-read for refunds on this
# slower schedule (kept in the cursor); the polls between stay at one request.
REFUND_RESCAN_EVERY = timedelta(hours=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """What one fetch reads: orders from `order_floor`, sales from `read_floor`."""

    started: datetime
    rescan: bool
    long: bool  # the long overlap (else the short one)
    order_floor: datetime
    read_floor: datetime
    window_from: datetime


def plan(state: OrdersCursor, started: datetime, rescan_days: int) -> Plan:
    window_from = started - timedelta(days=rescan_days)
    rescan = state.tally is None or started >= state.rescan_at
    long = rescan or state.long_at is None or started >= state.long_at
    order_floor = state.since - (LONG_ORDER_OVERLAP if long else ORDER_OVERLAP)
    if rescan:
        order_floor = min(order_floor, window_from)
    if state.tally is None:
        read_floor = EPOCH  # no units counted yet: the whole history, once
    elif rescan:
        read_floor = min(order_floor, state.tally.window_from)
    else:
        read_floor = order_floor
    return Plan(started=started, rescan=rescan, long=long, order_floor=order_floor,
                read_floor=read_floor, window_from=window_from)


def fetch_orders(connector: GumroadConnector, cursor: str | None) -> Iterator[OrdersPage]:
    settings = connector.settings
    started = connector.clock()
    state = decode(cursor, now=started, lookback=timedelta(days=settings.order_lookback_days),
                   rescan_every=REFUND_RESCAN_EVERY)
    # The cursor holds what the ledger has booked, so its units are the ones to trust.
    connector.tally = state.tally.pruned(state.tally.ids_from) if state.tally else None
    p = plan(state, started, settings.refund_rescan_days)
    after = None if p.read_floor == EPOCH else (p.read_floor - DATE_FILTER_SLACK).date()
    newest, seen = state.since, set[str]()
    counted: list[Counted] = []
    page_key: str | None = None
    try:
        while True:
            body = connector.list_or_retry(endpoints.sales(), endpoints.sales_params(
                after=after, page_key=page_key))
            fresh, reached_floor = new_sales(body.get("sales"), p.read_floor, seen)
            wanted = [raw for raw in fresh if wanted_order(raw, p.order_floor)]
            newest = max([newest, *(t for t in (created_of(s) for s in wanted) if t)])
            orders, rejected = connector.map_sales(wanted)
            page = [c for c in map(counted_sale, fresh) if c is not None]
            counted += page if p.rescan else ()
            page_key = next_key(body)
            if not (reached_floor or page_key is None):
                # Counted as the page is handed over, so a push the core makes once it
                # has booked the page (mid-pull) sees the units the ledger then holds.
                count_booked(connector.tally, page)
                yield OrdersPage(orders=orders, rejected=rejected, cursor=replace(
                    state, tally=connector.tally).encode())
                continue
            since = min(newest, started)
            connector.tally = final_tally(connector.tally, state.tally,
                                          counted if p.rescan else page, p,
                                          ids_from=since - LONG_ORDER_OVERLAP)
            done = OrdersCursor(since=since, tally=connector.tally,
                                rescan_at=started + REFUND_RESCAN_EVERY if p.rescan
                                else state.rescan_at,
                                long_at=started + LONG_OVERLAP_EVERY if p.long
                                else state.long_at)
            yield OrdersPage(orders=orders, rejected=rejected, cursor=done.encode())
            return
    except GeneratorExit:
        # Left mid-way (the page may not have been booked): trust no units ahead of the
        # ledger. The next pull loads them from the cursor the core saved.
        connector.tally = None
        raise


def count_booked(tally: Tally | None, sales: list[Counted]) -> None:
    if tally is not None:
        for sale in sales:
            tally.add(sale)


def final_tally(working: Tally | None, saved: Tally | None, sales: list[Counted], p: Plan,
                *, ids_from: datetime) -> Tally:
    """The units once this fetch is booked: a rescan recounts its window from every sale
    it read; a poll adds its last page to what its earlier pages added."""
    if p.rescan or working is None:
        return recount(saved, sales, window_from=p.window_from, ids_from=ids_from)
    tally = working.pruned(working.ids_from)
    count_booked(tally, sales)
    return tally.pruned(ids_from)


def wanted_order(raw: object, order_floor: datetime) -> bool:
    created = created_of(raw)
    return created is None or created >= order_floor  # unreadable: a rejected record


def created_of(raw: object) -> datetime | None:
    if not isinstance(raw, Mapping):
        return None
    try:
        return m.parse_time(raw.get("created_at"))
    except ValueError:
        return None


def new_sales(raws: object, floor: datetime, seen: set[str]) -> tuple[list[Any], bool]:
    """This page's sales at or after `floor`, not yet seen in this fetch; and whether the
    page reached below the floor (newest-first order: every later page is older)."""
    if not isinstance(raws, list):
        raise RetryableError("gumroad GET sales: answer has no sales list")
    fresh: list[Any] = []
    reached = False
    for raw in raws:
        created = created_of(raw)
        if created is not None and created < floor:
            reached = True
            continue
        sale_id = raw.get("id") if isinstance(raw, Mapping) else None
        if isinstance(sale_id, str):
            if sale_id in seen:
                continue
            seen.add(sale_id)
        fresh.append(raw)
    return fresh, reached


def next_key(body: Mapping[str, Any]) -> str | None:
    key = body.get("next_page_key")
    return key if isinstance(key, str) and key else None
