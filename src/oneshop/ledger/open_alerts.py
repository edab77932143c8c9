"""The alert episodes still open (oneshop.alerts), as frozen values for the status
page: what the seller has not seen resolved yet, most severe first."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from oneshop.ledger import models as m

SEVERITY_ORDER = {"critical": 0, "error": 1, "warning": 2, "info": 3}


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenAlert:
    event: str
    severity: str
    account: str | None
    sku: str | None
    message: str
    since: datetime
    reminders: int
    fields: dict[str, Any] = field(default_factory=dict)


def open_alerts(s: Session, limit: int = 500) -> list[OpenAlert]:
    """The `limit` newest open episodes, most severe first, then newest first."""
    rows = s.execute(select(m.Alert, m.Sku.sku).outerjoin(m.Sku, m.Sku.id == m.Alert.sku_id)
                     .where(m.Alert.resolved_at.is_(None), m.Alert.episode_key.is_not(None))
                     .order_by(m.Alert.created_at.desc(), m.Alert.id.desc())
                     .limit(limit))
    found = [OpenAlert(event=a.event, severity=a.severity, account=a.account, sku=sku,
                       message=a.message, since=a.created_at, reminders=a.reminders,
                       fields=dict(a.fields or {})) for a, sku in rows]
    return sorted(found, key=lambda a: SEVERITY_ORDER.get(a.severity, len(SEVERITY_ORDER)))
