"""The orders cursor: an opaque JSON string the core stores with each page.

    {"v": 1, "since": <newest sale created_at booked>, "rescan_at": <next refund rescan>}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from oneshop_connectors.gumroad.mapping import parse_time

VERSION = 1


@dataclass(frozen=True, slots=True)
class OrdersCursor:
    since: datetime
    rescan_at: datetime

    def encode(self) -> str:
        return json.dumps({"v": VERSION, "since": self.since.isoformat(),
                           "rescan_at": self.rescan_at.isoformat()})


def decode(cursor: str | None, *, now: datetime, lookback: timedelta,
           rescan_every: timedelta) -> OrdersCursor:
    """The saved cursor; none, or one we cannot read, starts from the look-back."""
    fresh = OrdersCursor(since=now - lookback, rescan_at=now + rescan_every)
    if not cursor:
        return fresh
    try:
        data = json.loads(cursor)
        if data.get("v") != VERSION:
            return fresh
        return OrdersCursor(since=parse_time(data["since"]),
                            rescan_at=parse_time(data["rescan_at"]))
    except (ValueError, TypeError, KeyError, AttributeError):
        return fresh
