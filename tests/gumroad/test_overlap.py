"""The sales overlap: a short re-read on every poll, the long one every few minutes.

Gumroad's sales list has no cheap listing (ids and times only), so the overlap is paid in
pages of ten sales; docs/connectors/gumroad.md has the trade-off.
"""

from __future__ import annotations

import json
from datetime import timedelta

from oneshop_connectors.gumroad.orders import (
    LONG_ORDER_OVERLAP,
    LONG_OVERLAP_EVERY,
    ORDER_OVERLAP,
)

from .conftest import Rig


def busy(rig: Rig, minutes: int, per_minute: int = 20) -> str:
    product = rig.sandbox.seed_listing("STICKER", 100_000)
    for _ in range(minutes * per_minute):
        rig.sandbox.sell(product)
        rig.clock.advance(seconds=60 / per_minute)
    return product


def test_short_polls_re_read_two_minutes_and_every_fifth_minute_fifteen(rig: Rig) -> None:
    assert timedelta(minutes=2) == ORDER_OVERLAP
    assert timedelta(minutes=15) == LONG_ORDER_OVERLAP
    assert timedelta(minutes=5) == LONG_OVERLAP_EVERY
    product = busy(rig, 20)
    rig.pull()
    used = []
    for _ in range(10):  # a poll a minute, 20 sales a minute
        for _ in range(20):
            rig.sandbox.sell(product)
            rig.clock.advance(seconds=3)
        _, n = rig.requests_for(rig.pull)
        used.append(n)
    # A short poll: 20 new sales + 40 re-read, 10 a page (and the page that reaches below
    # the floor); the long one every fifth minute: 20 new + 300 re-read.
    short, long = [n for n in used if n <= 7], [n for n in used if n > 7]
    assert len(short) == 8 and len(long) == 2 and min(long) >= 29, used

def test_a_sale_late_by_more_than_the_short_overlap_is_booked_by_the_long_one(
        rig: Rig) -> None:
    product = rig.sandbox.seed_listing("KIT", 50)
    rig.sandbox.sell(product)
    rig.pull()  # a first poll re-reads the long overlap and sets the next one 5 min on
    rig.clock.advance(minutes=1)
    newest = rig.sandbox.sell(product)
    rig.pull()
    now = rig.clock()
    rig.clock.set(now - ORDER_OVERLAP * 3)  # its charge took six minutes
    late = rig.sandbox.sell(product)
    rig.clock.set(now)
    seen = {newest}
    while rig.clock() < now + LONG_OVERLAP_EVERY:
        rig.clock.advance(minutes=1)
        booked = {o.external_id for o in rig.pull()}
        seen |= booked
        if late in booked:
            break
    assert late in seen, "a sale inside the long overlap was missed"
    assert rig.clock() - now <= LONG_OVERLAP_EVERY


def test_a_cursor_without_long_at_reads_the_long_overlap(rig: Rig) -> None:
    product = rig.sandbox.seed_listing("LAMP", 50)
    rig.sandbox.sell(product)
    rig.pull()
    assert rig.cursor is not None and "long_at" in json.loads(rig.cursor)
    rig.clock.advance(minutes=1)
    now = rig.clock()
    rig.clock.set(now - ORDER_OVERLAP * 4)
    late = rig.sandbox.sell(product)
    rig.clock.set(now)
    older = json.loads(rig.cursor)
    del older["long_at"]
    rig.cursor = json.dumps(older)
    assert late in {o.external_id for o in rig.pull()}
