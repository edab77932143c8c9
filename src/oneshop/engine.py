"""The sync engine: what a job asks for (pull an account's orders, scan its catalog,
push), built from the steps in `oneshop.sync`.

Order of work (DESIGN.md 2.3): pull a channel's orders page by page (records + cursor in
one transaction); every movement that lowers a SKU's stock is pushed at once to every
other bound channel; a channel's quantity is only ever *raised* right after that
channel's own orders were pulled, so it can never be raised over a sale we have not seen.

    sync/pull.py     orders -> booked pages -> stock changed by SKU
    sync/push.py     plan -> send -> apply (sync/results.py), one round of recovery
    sync/scan.py     listings -> hand edits folded, new listings linked
    sync/settle.py   a takeover's reads, and an account joining later
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from sqlalchemy.orm import Session, sessionmaker

from oneshop.accounts import Accounts
from oneshop.guard import BulkGuard
from oneshop.ledger.lowstock import LowStockRules
from oneshop.protocols import Clock, SyncObserver
from oneshop.sync.parts import Parts
from oneshop.sync.pull import Pull, PullSummary, add_into
from oneshop.sync.push import Push
from oneshop.sync.scan import Scan
from oneshop.sync.settle import Settle
from oneshop.sync.vacation import Vacation

__all__ = ["PullSummary", "SyncEngine", "SyncObserver"]

log = structlog.get_logger("oneshop.engine")
PUSH_EVERY_S = 5.0  # within one pull, booked decreases wait at most this long to go out


class SyncEngine:
    def __init__(self, sessions: sessionmaker[Session], accounts: Accounts, *, clock: Clock,
                 adopt_new: bool = True, bulk_guard_share: float = 0.25,
                 observer: SyncObserver | None = None,
                 low_stock: LowStockRules | None = None):
        self.sessions = sessions
        self.accounts = accounts
        self.clock = clock
        self.guard = BulkGuard(self.sessions, share=bulk_guard_share)
        self.parts = Parts(sessions=self.sessions, accounts=accounts, clock=clock,
                           observer=observer, low_stock=low_stock or LowStockRules())
        self.stopping = self.parts.stopping
        self.pull = Pull(self.parts)
        self.push = Push(self.parts, self.pull, self.guard)
        self.settle = Settle(self.parts, self.pull)
        self.vacation = Vacation(self.parts)
        self.scan = Scan(self.parts, self.push, adopt_new=adopt_new, vacation=self.vacation)

    @property
    def observer(self) -> SyncObserver | None:
        return self.parts.observer

    @observer.setter
    def observer(self, observer: SyncObserver | None) -> None:
        """Told around each page of orders booked (the simulation watches through it)."""
        self.parts.observer = observer

    def pull_orders(self, account: str) -> PullSummary:
        """Ingest new/changed orders; push decreases at once, then this channel's raises."""
        summary = PullSummary()
        changed: dict[int, int] = {}
        last_push = self.clock()
        try:
            for page in self.pull.pages(account):
                add_into(changed, self.pull.book(account, page, summary))
                # A long pull (a backlog, a busy shop) books pages that come quickly
                # before pushing: pushes between pages would delay the later pages' sales
                # and push a SKU sold on several pages several times.
                if changed and (self.clock() - last_push).total_seconds() >= PUSH_EVERY_S:
                    summary.pushed += self.push.skus(changed)
                    changed, last_push = {}, self.clock()
        except Exception:
            # A later page failed, but the earlier ones are booked: their decreases go out
            # now, or the other channels sell those units until their own next pull
            # (simulation seed 123251). The failure is still this job's.
            if changed:
                self.push.skus(changed)
            raise
        if changed:
            summary.pushed += self.push.skus(changed)
        self.vacation.recheck(account)  # a shop back from vacation is brought in step now
        summary.pushed += self.push.account(account)
        # The job's summary line (`sync.done`) carries these numbers; this is for -v.
        log.debug("orders.pulled", account=account, pages=summary.pages, orders=summary.orders,
                  new=summary.new_orders, movements=summary.movements, pushed=summary.pushed)
        return summary

    def scan_catalog(self, account: str, *, link: bool) -> int:
        """Read every listing: record it, fold in hand edits, optionally link by SKU. An
        account not taken over yet joins the shop instead (`Settle.join`)."""
        if link and not self.settle.taken_over(account):
            self.settle.join(account)
            self.push.marks.forget(account)
            return self.push.account(account)
        return self.scan.catalog(account, link=link)

    def scan_slice(self, account: str, external_ids: Sequence[str]) -> int:
        """Read these bound listings only (a rolling reconcile's slice), as a reconcile."""
        return self.scan.slice(account, external_ids)

    def read_settled(self, accounts: Sequence[str], counted: Sequence[str]) -> bool:
        return self.settle.read_settled(accounts, counted)
