"""Append-only records beside the stock: records a channel sent that we could not read,
and alerts. Take a Session, never commit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from oneshop.ledger import bulk
from oneshop.ledger import models as m
from oneshop.values import Rejected


def add_rejected(session: Session, account: str, stream: str,
                 records: Iterable[Rejected]) -> int:
    rows = [{"account": account, "stream": stream, "external_id": r.external_id,
             "reason": r.reason, "raw": r.raw} for r in records]
    if rows:
        session.execute(bulk.insert(session, m.RejectedRecord), rows)
    return len(rows)


def add_alert(session: Session, *, event: str, severity: str, message: str,
              account: str | None = None, sku_id: int | None = None,
              dedupe_key: str | None = None, fields: Mapping[str, Any] | None = None,
              now: datetime) -> bool:
    """Store an alert; False when one with the same dedupe key exists already."""
    stmt = bulk.insert(session, m.Alert).values(
        event=event, severity=severity, message=message, account=account, sku_id=sku_id,
        dedupe_key=dedupe_key, fields=dict(fields or {}), created_at=now,
    ).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(m.Alert.id)
    return session.execute(stmt).first() is not None
