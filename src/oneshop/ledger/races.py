"""Sales that raced one of our blind writes (a channel without compare-and-set).

On such a channel a write most likely replaced the quantity a sale had just lowered, so
the channel still shows that unit: taking the sale off our belief as well would leave
the belief a unit below the channel, every later push refused as stale and the unit on
sale. Such a sale is left on the belief instead, and the binding's raced_qty
(`binding.note_raced_sales`) lets the next read settle which it was.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from oneshop.ledger import bulk
from oneshop.ledger import models as m

# A sale this close to one of our blind writes to its listing may have been erased by
# it: Etsy stamps receipts in whole seconds, and its clock is not quite ours.
RACE_SLACK_S = 2.0
# A write whose answer never came (the process died, the connection dropped) landed, if
# it landed, within this long of being sent.
UNANSWERED_WRITE_S = 60.0


def raced(session: Session, account: str, group: Callable[[str], str],
          sales: Mapping[str, tuple[str, datetime]]) -> set[str]:
    """Sales (source_key -> (listing external id, made at)) made while a write of ours to
    the same listing was in flight, between its read and its answer. A write replaces
    every listing sharing its `group` prefix (an Etsy listing's variants, though we
    wrote only one of them)."""
    if not sales:
        return set()
    slack = timedelta(seconds=RACE_SLACK_S)
    # A write is a candidate when its window can reach the earliest sale: answered at or
    # after it (however long its retries took: a 429 can hold one write a minute and
    # more), or unanswered and sent within UNANSWERED_WRITE_S of it.
    since = min(at for _, at in sales.values()) - slack
    unanswered_since = since - timedelta(seconds=UNANSWERED_WRITE_S)
    p, b = bulk.table_of(m.Push), bulk.table_of(m.Binding)
    prefixes = sorted({group(ext) for ext, _ in sales.values()})
    same = or_(*(b.c.external_id.startswith(pre, autoescape=True) for pre in prefixes))
    windows: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    rows: Any = session.execute(
        select(b.c.external_id, p.c.created_at, p.c.completed_at)
        .join(b, b.c.id == p.c.binding_id)
        .where(b.c.account == account, same, p.c.status != "stale",
               or_(p.c.completed_at >= since,
                   and_(p.c.completed_at.is_(None), p.c.created_at >= unanswered_since))))
    for ext, sent, answered in rows:
        end = answered or sent + timedelta(seconds=UNANSWERED_WRITE_S)
        windows[group(ext)].append((sent - slack, end + slack))
    return {key for key, (ext, at) in sales.items()
            if any(start <= at <= end for start, end in windows.get(group(ext), ()))}

