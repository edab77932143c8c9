"""Reading an account's catalog: record every listing, fold in hand edits by the
account's policy, link new listings by SKU; then push what the edits changed."""

from __future__ import annotations

from collections.abc import Mapping

import structlog
from sqlalchemy.orm import Session, sessionmaker

from oneshop import alerts
from oneshop.ledger import catalog, stock
from oneshop.ledger.db import transaction
from oneshop.ledger.drift import fold_drift
from oneshop.ledger.oversell import check_oversells
from oneshop.sync.notices import report_links, report_unadopted
from oneshop.sync.parts import Parts
from oneshop.sync.pull import add_into
from oneshop.sync.push import Push

log = structlog.get_logger("oneshop.engine")


class Scan:
    def __init__(self, parts: Parts, push: Push, *, adopt_new: bool) -> None:
        self.parts = parts
        self.push = push
        self.adopt_new = adopt_new  # `adopt_new = "first_seen"`

    def catalog(self, account: str, *, link: bool) -> int:
        """Read every listing, a page per transaction; how many were read."""
        count, edits = self._fold_pages(account)
        if link:
            edits.update(self._link(account))
        if edits:
            self.push.skus(edits)
        # Only decreases here: raising this channel waits for its next orders pull.
        self.push.account(account, decreases_only=True)
        log.debug("catalog.scanned", account=account, listings=count, edits=len(edits))
        return count

    def _fold_pages(self, account: str) -> tuple[int, dict[int, int]]:
        """How many listings were read, and the hand edits folded in by SKU id."""
        edits: dict[int, int] = {}
        count = 0
        rules = self.parts.accounts.rules[account]
        for page in self.parts.accounts.connectors[account].fetch_listings():
            now = self.parts.clock()
            with transaction(self.parts.sessions) as s:
                seen = catalog.upsert_listings(s, account, page.listings, now)
                alerts.reject(s, account, "listings", page.rejected, now)
                adopted = fold_drift(s, account, seen, rules, now)
                # An adopted edit can take a SKU below 0 too (sales it did not know of).
                check_oversells(s, adopted, now)
                add_into(edits, adopted)
            count += len(seen)
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
