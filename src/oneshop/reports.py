"""Read-only views for the CLI: status, history, health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from oneshop.alerts import credential_advice
from oneshop.config import Config
from oneshop.ledger import models as m


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    at: datetime
    kind: str
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "kind": self.kind, "detail": self.detail}


def history(s: Session, sku: str, limit: int = 500) -> list[Event] | None:
    """The SKU's timeline: movements, pushes and alerts in time order (None: unknown SKU)."""
    row = s.scalar(select(m.Sku).where(m.Sku.sku == sku))
    if row is None:
        return None
    events = [Event(at=mv.created_at, kind=mv.kind,
                    detail=f"{mv.delta:+d}" + (f" {mv.account}" if mv.account else "")
                    + (f" order {mv.order_external_id}" if mv.order_external_id else "")
                    + (f" ({mv.reason})" if mv.reason else ""))
              for mv in s.scalars(select(m.Movement).where(m.Movement.sku_id == row.id)
                                  .order_by(m.Movement.id.desc()).limit(limit))]
    events += [Event(at=p.created_at, kind="push",
                     detail=f"{p.account} {p.observed_before}->{p.quantity} {p.status}"
                     + (f" ({p.detail})" if p.detail else ""))
               for p in s.scalars(select(m.Push).where(m.Push.sku_id == row.id)
                                  .order_by(m.Push.id.desc()).limit(limit))]
    events += [Event(at=a.created_at, kind=f"alert:{a.event}", detail=a.message)
               for a in s.scalars(select(m.Alert).where(m.Alert.sku_id == row.id)
                                  .order_by(m.Alert.id.desc()).limit(limit))]
    return sorted(events, key=lambda e: e.at)


def channels(s: Session, config: Config, now: datetime) -> list[dict[str, Any]]:
    out = []
    for name, account in config.accounts.items():
        state = s.get(m.AccountState, name)
        last = state.last_success_at if state else None
        out.append({
            "account": name, "kind": account.config.kind, "enabled": account.config.enabled,
            "last_success": last.isoformat() if last else None,
            "lag_s": round((now - last).total_seconds()) if last else None,
            "failures": state.consecutive_failures if state else 0,
            "paused": bool(state and state.paused),
            "budget_left": state.budget_remaining if state else None,
            "last_error": state.last_error if state else "",
        })
    return out


def skus(s: Session, limit: int = 200) -> list[dict[str, Any]]:
    rows = s.execute(select(m.Sku.id, m.Sku.sku, m.Sku.on_hand).order_by(m.Sku.sku).limit(limit))
    out: dict[int, dict[str, Any]] = {
        sid: {"sku": sku, "on_hand": on_hand, "channels": {}} for sid, sku, on_hand in rows}
    for b in s.scalars(select(m.Binding).where(m.Binding.sku_id.in_(list(out)))):
        assert b.sku_id is not None
        out[b.sku_id]["channels"][b.account] = {
            "quantity": b.observed_qty, "drift": b.drift_seen is not None, "state": b.state}
    return list(out.values())


def health(s: Session, config: Config, now: datetime) -> tuple[bool, str]:
    """Healthy when every enabled account had a successful poll recently and is not paused."""
    problems = []
    for name, account in config.accounts.items():
        if not account.config.enabled:
            continue
        state = s.get(m.AccountState, name)
        limit = timedelta(seconds=account.config.poll_seconds * 3 + 30)
        if state is not None and state.paused:  # the why first: it says what to do
            problems.append(f"{name}: paused ({state.last_error[:120]}); "
                            f"{credential_advice(config, name)}")
        elif state is None or state.last_success_at is None:
            problems.append(f"{name}: no successful poll yet")
        elif now - state.last_success_at > limit:
            problems.append(f"{name}: last successful poll "
                            f"{int((now - state.last_success_at).total_seconds())} s ago")
    if problems:
        return False, "; ".join(problems)
    return True, f"ok: {len(config.accounts)} account(s) polled recently"
