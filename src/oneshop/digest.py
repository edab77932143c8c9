"""The daily low-stock digest (`[service] low_stock_digest_hour`): one line a day listing
every SKU at or below its threshold, sent by the service's housekeeping.

Which day was sent is remembered here (no query on the other ticks of the day) and in
the ledger (the line's dedupe key), so a restart or a second instance never sends a
day's digest twice.
"""

from __future__ import annotations

from datetime import date

from oneshop.app import App
from oneshop.ledger.db import transaction
from oneshop.ledger.lowstock import Low, send_digest


class DailyDigest:
    def __init__(self, app: App) -> None:
        self.app = app
        self.sent_day: date | None = None

    def tick(self) -> list[Low]:
        """Send today's digest if its hour has come and it was not sent; what it listed."""
        rules = self.app.engine.parts.low_stock
        if rules.digest_hour is None or not rules.active:
            return []
        now = self.app.clock()
        if now.hour < rules.digest_hour or self.sent_day == now.date():
            return []
        with transaction(self.app.sessions) as s:
            lows = send_digest(s, rules, now)
        self.sent_day = now.date()
        return lows
