"""Conditions the service watches between jobs: an account's API budget running low and
a channel gone stale (each an alert episode, oneshop.alerts), and oversells that ended
by a way the pulls do not see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from oneshop import alerts
from oneshop.app import App
from oneshop.ledger import account_state, oversell
from oneshop.ledger.db import transaction

DEFAULT_BUDGET_LOW_SHARE = 0.2  # for a connector whose settings name no `budget_low_share`


def budget_low_share(app: App, account: str) -> float:
    """The account's own setting (documented per connector), else the default."""
    share = getattr(app.config.accounts[account].settings, "budget_low_share", None)
    return float(share) if isinstance(share, int | float) else DEFAULT_BUDGET_LOW_SHARE


def note_budget(app: App, account: str) -> None:
    """Keep the API budget the connector last saw; `budget_low` while it runs low."""
    budget = app.accounts.connectors[account].budget()
    if not budget.daily:
        return
    now = app.clock()
    with transaction(app.sessions) as s:
        # What `status`, `health` and the poll stretching read.
        account_state.note_budget(s, account, budget.remaining, budget.limit)
        if budget.remaining is None or not budget.limit:
            return
        share = budget_low_share(app, account)
        if budget.remaining < budget.limit * share:
            alerts.raise_alert(s, "budget_low", "warning", "API budget running low; "
                               "polling is stretched", now=now, account=account,
                               fields={"remaining": budget.remaining,
                                       "limit": budget.limit, "share": share})
        else:
            alerts.resolve(s, "budget_low", now=now, account=account)


def budget_allows(app: App, account: str) -> bool:
    """Stretch polling so the rest of the day's API budget lasts until midnight UTC."""
    with app.sessions() as s:
        state = account_state.recorded_health(s, account)
    if state is None or not state.budget_limit or state.budget_remaining is None:
        return True
    if state.budget_remaining >= state.budget_limit * budget_low_share(app, account):
        return True
    now = app.clock()
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    polls_left = max(1, state.budget_remaining // 4)  # a poll costs a few requests
    gap_s = (midnight - now).total_seconds() / polls_left
    last = state.last_attempt_at or datetime.min.replace(tzinfo=UTC)
    return (now - last).total_seconds() >= gap_s


def check_stale(app: App, started_at: datetime) -> None:
    """`channel_stale` while an account has had no successful poll for
    `stale_after_polls` intervals, counted from the later of this service's start and
    its last success, and only once a poll was tried since the start: downtime before
    a restart is not the channel's fault."""
    now = app.clock()
    with transaction(app.sessions) as s:
        for name, account in app.config.accounts.items():
            if not account.config.enabled:
                continue
            limit = timedelta(seconds=account.config.poll_seconds *
                              account.config.stale_after_polls)
            state = account_state.health(s, name)
            since = max(state.last_success_at or started_at, started_at)
            tried = state.last_attempt_at is not None and \
                state.last_attempt_at >= started_at
            if state.paused and tried:
                # Paused accounts run no jobs: remind of the refused credentials here.
                alerts.raise_alert(s, "auth_failed", "critical", "credentials refused; "
                                   "the account is paused until they work again",
                                   now=now, account=name,
                                   fields={"error": state.last_error,
                                           "action": alerts.advice(name)})
            if state.paused or not tried or now - since <= limit:
                continue
            last = state.last_success_at.isoformat() if state.last_success_at else None
            alerts.raise_alert(s, "channel_stale", "error", f"no successful poll of "
                               f"{name} for too long", now=now, account=name,
                               fields={"last_success": last,
                                       "last_error": state.last_error[:500]})
        oversell.sweep(s, now)
