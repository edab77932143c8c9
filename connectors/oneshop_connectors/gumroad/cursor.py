"""The orders cursor: an opaque JSON string the core stores with each page.

    {"v": 2, "since": <newest sale created_at booked>, "rescan_at": <next refund rescan>,
     "long_at": <next long overlap> | absent,
     "units": <the units counted against caps, see units.py> | absent}

A cursor without units (version 1, or the first poll) makes the next poll read the whole
sales history once to count them; one without `long_at` makes it re-read the long overlap.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from oneshop_connectors.gumroad.mapping import parse_time
from oneshop_connectors.gumroad.units import Tally

VERSION = 2


@dataclass(frozen=True, slots=True)
class OrdersCursor:
    since: datetime
    rescan_at: datetime
    tally: Tally | None = None
    long_at: datetime | None = None

    def encode(self) -> str:
        data: dict[str, Any] = {"v": VERSION, "since": self.since.isoformat(),
                                "rescan_at": self.rescan_at.isoformat()}
        if self.long_at is not None:
            data["long_at"] = self.long_at.isoformat()
        if self.tally is not None:
            data["units"] = self.tally.to_json()
        return json.dumps(data, separators=(",", ":"))


def decode(cursor: str | None, *, now: datetime, lookback: timedelta,
           rescan_every: timedelta) -> OrdersCursor:
    """The saved cursor; none, or one we cannot read, starts from the look-back."""
    fresh = OrdersCursor(since=now - lookback, rescan_at=now + rescan_every)
    if not cursor:
        return fresh
    try:
        data = json.loads(cursor)
        if data.get("v") not in (1, VERSION):
            return fresh
        since, rescan_at = parse_time(data["since"]), parse_time(data["rescan_at"])
        long_at = parse_time(data["long_at"]) if data.get("long_at") else None
    except (ValueError, TypeError, KeyError, AttributeError):
        return fresh
    try:
        units = data.get("units")
        tally = Tally.from_json(units) if isinstance(units, dict) else None
    except (ValueError, TypeError, KeyError, AttributeError, IndexError):
        tally = None  # counted again from the whole history; the orders keep their place
    return OrdersCursor(since=since, rescan_at=rescan_at, tally=tally, long_at=long_at)
