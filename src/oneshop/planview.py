"""`oneshop status`: the schedule each budget-planned account runs (oneshop.planning),
as the service last chose it, with today's budget left as last recorded."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy.orm import Session

from oneshop.config import Config
from oneshop.ledger import rolling
from oneshop.ledger.account_state import recorded_health
from oneshop.plan import Plan

FIELDS = {f.name for f in dataclasses.fields(Plan)}


def plans(s: Session, config: Config) -> list[dict[str, Any]]:
    """One entry per configured account that runs a plan: the plan's fields, `describe`
    ("polling every 14 s, full reconcile every 3.2 h, 62 % of today's budget left")."""
    stored = rolling.plans(s)
    out = []
    for name in config.accounts:
        raw = stored.get(name)
        if raw is None or not raw.keys() >= FIELDS:
            continue  # none, or written by another version: nothing sure to show
        chosen = Plan(**{key: raw[key] for key in FIELDS})
        state = recorded_health(s, name)
        if state is not None and state.budget_remaining is not None and state.budget_limit:
            # The budget moves with every job; the plan is re-made every few minutes.
            chosen = dataclasses.replace(
                chosen, share_left=max(0.0, state.budget_remaining / state.budget_limit))
        out.append({"account": name, **chosen.as_dict(),
                    **({} if chosen.meets else {"shortfall": chosen.shortfall()})})
    return out


def render(entries: list[dict[str, Any]]) -> None:
    import click

    for entry in entries:
        click.echo(f"{entry['account']}: {entry['describe']}")
        if "shortfall" in entry:
            click.echo(f"{entry['account']}: cannot read every listing within "
                       f"reconcile_seconds: {entry['shortfall']}")
