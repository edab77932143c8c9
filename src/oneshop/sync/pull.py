"""Pulling an account's orders: pages from the saved cursor, each booked in one
transaction with the cursor, and what the booking changed (stock deltas by SKU).

Nothing here pushes; `engine.SyncEngine.pull_orders` decides when what changed goes out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from oneshop import alerts
from oneshop.ledger import booking, cursors, history
from oneshop.ledger.db import transaction
from oneshop.ledger.drift import ChannelRestocks
from oneshop.ledger.lowstock import check_low_stock
from oneshop.ledger.oversell import check_oversells
from oneshop.sync.notices import report_unlinked_sales
from oneshop.sync.parts import Parts
from oneshop.values import OrdersPage

ORDERS = "orders"


@dataclass(slots=True, kw_only=True)
class PullSummary:
    pages: int = 0
    orders: int = 0
    new_orders: int = 0
    movements: int = 0
    rejected: int = 0
    pushed: int = 0


@dataclass(slots=True, kw_only=True)
class Booked:
    """What a pull booked: its counts, and the stock it changed by SKU id."""

    summary: PullSummary = field(default_factory=PullSummary)
    changed: dict[int, int] = field(default_factory=dict)


class Pull:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts
        self._cutoffs: dict[str, history.Cutoffs] = {}  # per account, read at each pull

    def book_all(self, account: str) -> Booked:
        """Every page from the cursor to the end, booked; nothing pushed."""
        booked = Booked()
        for page in self.pages(account):
            add_into(booked.changed, self.book(account, page, booked.summary))
        return booked

    def pages(self, account: str) -> Iterator[OrdersPage]:
        """Pages from the saved cursor, until the end or until a stop was asked for."""
        with transaction(self.parts.sessions) as s:
            cursor = cursors.load_cursor(s, account, ORDERS)
            # Read once a pull: it changes only at a takeover or a discovery, which
            # never run inside this account's pull.
            self._cutoffs[account] = history.account_cutoffs(s, account)
        for page in self.parts.accounts.connectors[account].fetch_orders(cursor):
            yield page
            if self.parts.stopping.is_set():
                return

    def book(self, account: str, page: OrdersPage, summary: PullSummary) -> dict[int, int]:
        """Book one page with its cursor in one transaction; the stock it changed."""
        observer = self.parts.observer
        if observer is not None:
            observer.page_started(account)
        now = self.parts.clock()
        with transaction(self.parts.sessions) as s:
            restocks = ChannelRestocks.before(s, account, page.orders)
            rules = self.parts.accounts.rules[account].listings
            booked = booking.record_orders(s, account, page.orders,
                                           blind_writes=self._blind_writes(account),
                                           cutoffs=self._cutoffs.get(account), now=now,
                                           ignores=rules.ignores)
            restocks.after(s)
            alerts.reject(s, account, ORDERS, page.rejected, now)
            cursors.save_cursor(s, account, ORDERS, page.cursor, now)
            check_oversells(s, booked.sku_deltas, now)
            check_low_stock(s, self.parts.low_stock, booked.sku_deltas, now)
            report_unlinked_sales(s, account, booked.unlinked, rules, now)
        if observer is not None:
            observer.page_booked(account)
        summary.pages += 1
        summary.orders += len(page.orders)
        summary.new_orders += booked.new_orders
        summary.movements += booked.movements
        summary.rejected += len(page.rejected)
        return booked.sku_deltas

    def _blind_writes(self, account: str) -> Callable[[str], str] | None:
        """For a connector that writes stock without compare-and-set: which listings one
        write replaces (see `StockTarget`)."""
        connector = self.parts.accounts.connectors[account]
        return connector.write_group if connector.blind_writes else None


def add_into(total: dict[int, int], more: Mapping[int, int]) -> None:
    for sku_id, delta in more.items():
        total[sku_id] = total.get(sku_id, 0) + delta
