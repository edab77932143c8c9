"""Read-only views for the CLI: channels, health, and a SKU's history (`ledger.views`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from oneshop.alerts import credential_advice
from oneshop.config import Config
from oneshop.ledger.account_state import recorded_health
from oneshop.ledger.pausing import pause_of
from oneshop.ledger.views import Event as Event
from oneshop.ledger.views import history as history


def channels(s: Session, config: Config, now: datetime) -> list[dict[str, Any]]:
    out = []
    for name, account in config.accounts.items():
        state = recorded_health(s, name)
        last = state.last_success_at if state else None
        out.append({
            "account": name, "kind": account.config.kind, "enabled": account.config.enabled,
            "last_success": last.isoformat() if last else None,
            "lag_s": round((now - last).total_seconds()) if last else None,
            "failures": state.consecutive_failures if state else 0,
            "paused": bool(state and state.paused),
            "budget_left": state.budget_remaining if state else None,
            "last_error": state.last_error if state else "",
            **_pause(s, name),
        })
    return out


def _pause(s: Session, account: str) -> dict[str, Any]:
    """Which pauses hold the account, why and until when (ledger/pausing.py)."""
    p = pause_of(s, account)
    return {"pause": p.why(), "pause_until": p.until.isoformat() if p.until else None}


def health(s: Session, config: Config, now: datetime) -> tuple[bool, str]:
    """Healthy when every enabled account had a successful poll recently and is not paused."""
    problems = []
    for name, account in config.accounts.items():
        if not account.config.enabled:
            continue
        state = recorded_health(s, name)
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
