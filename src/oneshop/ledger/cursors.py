"""Where each account's streams resume: an opaque cursor per (account, stream), stored
in the transaction of the page it follows. Take a Session, never commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from oneshop.ledger import bulk
from oneshop.ledger import models as m


def load_cursor(session: Session, account: str, stream: str) -> str | None:
    return session.scalar(select(m.Cursor.value).where(
        m.Cursor.account == account, m.Cursor.stream == stream))


def save_cursor(session: Session, account: str, stream: str, value: str | None,
                now: datetime) -> None:
    stmt = bulk.insert(session, m.Cursor).values(account=account, stream=stream,
                                                 value=value, updated_at=now)
    session.execute(stmt.on_conflict_do_update(
        index_elements=["account", "stream"], set_={"value": value, "updated_at": now}))
