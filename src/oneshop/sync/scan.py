"""Reading an account's catalog: record every listing, fold in hand edits by the
account's policy, link new listings by SKU; then push what the edits changed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import structlog
from sqlalchemy.orm import Session, sessionmaker

from oneshop import alerts
from oneshop.ledger import backorder_policy, catalog, pausing, stock
from oneshop.ledger.db import transaction
from oneshop.ledger.drift import fold_drift
from oneshop.ledger.lowstock import check_low_stock
from oneshop.ledger.oversell import check_oversells
from oneshop.protocols import RollingCatalog
from oneshop.sync.notices import report_links, report_unadopted
from oneshop.sync.parts import Parts
from oneshop.sync.pull import add_into
from oneshop.sync.push import Push
from oneshop.sync.vacation import Vacation
from oneshop.values import ListingsPage

log = structlog.get_logger("oneshop.engine")


class Scan:
    def __init__(self, parts: Parts, push: Push, *, adopt_new: bool,
                 vacation: Vacation | None = None) -> None:
        self.parts = parts
        self.push = push
        self.adopt_new = adopt_new  # `adopt_new = "first_seen"`
        self.vacation = vacation

    def catalog(self, account: str, *, link: bool) -> int:
        """Read every listing, a page per transaction; how many were read. While the
        channel holds the shop off sale itself (vacation), no hand edit is folded in."""
        away = self.vacation.check(account) if self.vacation is not None else False
        count, edits = self._fold_pages(account, fold=not away)
        self.push.marks.forget(account)  # what was read may be out of step anywhere
        if link:
            edits.update(self._link(account))
        if edits:
            self.push.skus(edits)
        # Only decreases here: raising this channel waits for its next orders pull.
        self.push.account(account, decreases_only=True)
        log.debug("catalog.scanned", account=account, listings=count, edits=len(edits))
        return count

    def slice(self, account: str, external_ids: Sequence[str]) -> int:
        """Read these listings only (a rolling reconcile's slice, oneshop.planning), fold
        their hand edits as a whole read would; how many listings were read. A listing
        not read keeps its belief and its sighting: unread is not drift."""
        connector = self.parts.accounts.connectors[account]
        assert isinstance(connector, RollingCatalog)
        # The vacation state the last whole read or poll recorded (a slice costs no
        # getShop request; its budget is planned).
        with self.parts.sessions() as s:
            away = pausing.on_vacation(s, account)
        read: set[int] = set()
        count, edits = self._fold_pages(account, connector.fetch_listings_by_ids(external_ids),
                                        fold=not away, read=read)
        # What was read may be out of step: those SKUs only (a slice is a small part).
        self.push.marks.touch(account, read)
        if edits:
            self.push.skus(edits)
        if read:
            self.push.account(account, sku_ids=sorted(read), decreases_only=True)
        log.debug("catalog.sliced", account=account, asked=len(external_ids),
                  listings=count, edits=len(edits))
        return count

    def _fold_pages(self, account: str, pages: Iterable[ListingsPage] | None = None, *,
                    fold: bool = True, read: set[int] | None = None
                    ) -> tuple[int, dict[int, int]]:
        """How many listings were read, and the hand edits folded in by SKU id; `read`
        collects the SKUs of the bound listings read."""
        edits: dict[int, int] = {}
        count = 0
        rules = self.parts.accounts.rules[account]
        if pages is None:
            pages = self.parts.accounts.connectors[account].fetch_listings()
        for page in pages:
            now = self.parts.clock()
            with transaction(self.parts.sessions) as s:
                seen = catalog.upsert_listings(s, account, page.listings, now)
                alerts.reject(s, account, "listings", page.rejected, now)
                backorder_policy.check_page(s, account, page.listings,
                                            {i.external_id: i.sku_id for i in seen}, now)
                adopted = fold_drift(s, account, seen, rules, now) if fold else {}
                # An adopted edit can take a SKU below 0 too (sales it did not know of).
                check_oversells(s, adopted, now)
                check_low_stock(s, self.parts.low_stock, adopted, now)
                add_into(edits, adopted)
            count += len(seen)
            if read is not None:
                read.update(i.sku_id for i in seen if i.sku_id is not None)
        return count, edits

    def _link(self, account: str) -> dict[int, int]:
        """Bind new listings by SKU; the SKUs adopted from this channel (to push)."""
        now = self.parts.clock()
        with transaction(self.parts.sessions) as s:
            linked = catalog.auto_link(s, account, now, adopt_new=self.adopt_new,
                                       rules=self.parts.accounts.rules[account].listings)
            report_links(s, account, linked, now)
            if linked.created and not linked.adopted and not self.adopt_new:
                report_unadopted(s, account, linked.created, now)
        if not linked.adopted:
            return {}
        # A SKU listed after the takeover: its count is what this channel shows.
        log.info("skus.adopted", account=account, skus=sorted(linked.adopted)[:20],
                 count=len(linked.adopted), why="first seen on this channel")
        return dict.fromkeys(sku_ids_of(self.parts.sessions, linked.adopted), 0)


def sku_ids_of(sessions: sessionmaker[Session], skus: Mapping[str, int]) -> list[int]:
    with sessions() as s:
        return list(stock.sku_ids(s, skus).values())
