"""A takeover's reads: orders and listings read until they agree, believed as they are
(no drift folding, no push). `adopt` uses them, and so does an account that joins a shop
already taken over.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from oneshop.ledger import catalog, records, takeover
from oneshop.ledger.db import transaction
from oneshop.sync.notices import report_links
from oneshop.sync.parts import Parts
from oneshop.sync.pull import Pull

log = structlog.get_logger("oneshop.engine")
SETTLE_ROUNDS = 4  # listing reads a takeover makes while sales keep landing between them


class Settle:
    def __init__(self, parts: Parts, pull: Pull) -> None:
        self.parts = parts
        self.pull = pull

    def read_listings(self, account: str) -> int:
        """Read every listing fresh, link by SKU, and believe what each shows."""
        count, clock = 0, self.parts.clock
        for page in self.parts.accounts.connectors[account].fetch_listings():
            now = clock()
            with transaction(self.parts.sessions) as s:
                seen = catalog.upsert_listings(s, account, page.listings, now)
                records.add_rejected(s, account, "listings", page.rejected)
                catalog.believe_reads(s, seen, now)
            count += len(seen)
        with transaction(self.parts.sessions) as s:
            rules = self.parts.accounts.rules[account].listings
            report_links(s, account, catalog.auto_link(s, account, clock(), rules=rules),
                         clock())
        return count

    def read_settled(self, accounts: Sequence[str], counted: Sequence[str]) -> bool:
        """Orders, listings, orders again, until no order moved in between on an account
        whose counts are used: then each listing read reflects exactly the orders booked.

        A sale or a cancellation landing between the two order reads may or may not be in
        the listing read, so those listings are read again. False: still moving after
        SETTLE_ROUNDS reads (a very busy shop); the last reads are used.
        """
        for name in accounts:
            self.pull.book_all(name)
        todo = list(counted)
        for _ in range(SETTLE_ROUNDS):
            for name in todo:
                self.read_listings(name)
            moved = {name for name in accounts if self.pull.book_all(name).summary.movements}
            todo = [name for name in counted if name in moved]
            if not todo:
                return True
        log.warning("takeover.unsettled", accounts=todo, rounds=SETTLE_ROUNDS)
        return False

    def join(self, account: str) -> None:
        """Take over an account added after the shop was taken over: its orders so far
        are history, SKUs nobody adopted yet are adopted from it."""
        self.read_settled([account], [account])
        now = self.parts.clock()
        with transaction(self.parts.sessions) as s:
            adopted = takeover.adopt_unknown(s, account, now)
            takeover.mark_taken_over(s, account, takeover.channel_time(s, account) or now, now)
        if adopted:
            log.info("skus.adopted", account=account, count=len(adopted),
                     skus=sorted(adopted)[:20], why="first seen on this channel")

    def taken_over(self, account: str) -> bool:
        with self.parts.sessions() as s:
            return account in takeover.taken_over(s)
