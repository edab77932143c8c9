"""The channel's own pause (Etsy's vacation mode, `protocols.ShopStatus`): read, recorded
in the ledger (`pausing.note_vacation`), told once as the `channel_vacation` episode.

While it holds, the push plan sends nothing to that account (its listings are hidden by
the channel, and what they show will be read again when it is back) and the reconcile
folds in no hand edit (a seller preparing for a vacation may change quantities by hand
that mean nothing about stock). Orders are still pulled and booked.

When it is read: at every reconcile, and, while it holds, at the end of every orders
poll too, so the shop's return is noticed within a poll (one getShop request each) and
the listings are brought in step at once; an open shop costs one request a reconcile.
"""

from __future__ import annotations

import structlog

from oneshop import alerts
from oneshop.ledger import pausing
from oneshop.ledger.db import transaction
from oneshop.protocols import ShopStatus
from oneshop.sync.parts import Parts

log = structlog.get_logger("oneshop.engine")
ACTION = ("nothing to do while you are away: oneshop books orders and pushes nothing to "
          "this shop; when you switch vacation mode off, it brings the listings in step")


class Vacation:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts

    def check(self, account: str) -> bool:
        """Read the channel's own pause and record it; True while it holds."""
        connector = self.parts.accounts.connectors[account]
        if not isinstance(connector, ShopStatus):
            return False
        why = connector.channel_paused()
        now = self.parts.clock()
        with transaction(self.parts.sessions) as s:
            if not pausing.note_vacation(s, account, why is not None, now):
                return why is not None
            if why is not None:
                alerts.raise_alert(s, "channel_vacation", "warning",
                                   f"{account}: {why}; pushes and hand-edit folding are "
                                   "suspended until it is back", now=now, account=account,
                                   remind=False, fields={"action": ACTION})
            else:
                alerts.resolve(s, "channel_vacation", now=now, account=account)
        log.info("channel.vacation", account=account, on=why is not None)
        return why is not None

    def recheck(self, account: str) -> bool:
        """At the end of an orders poll: read again only while the ledger says it holds."""
        with self.parts.sessions() as s:
            if not pausing.on_vacation(s, account):
                return False
        return self.check(account)
