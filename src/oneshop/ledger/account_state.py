"""Each account's health row: failures, pause, takeover, budget, the bulk-change hold.
Take a Session, never commit."""

from __future__ import annotations

from sqlalchemy.orm import Session

from oneshop.ledger import models as m


def account_state(session: Session, account: str) -> m.AccountState:
    """The account's health row, created on first use."""
    state = session.get(m.AccountState, account)
    if state is None:
        state = m.AccountState(account=account, consecutive_failures=0, last_error="",
                               paused=False)
        session.add(state)
        session.flush()
    return state
