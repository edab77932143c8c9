"""What a budget-planned schedule reads from the ledger (oneshop.planning): the catalog's
size, the listings a rolling reconcile reads next, the recent sales rate, and the plan
the service chose (kept on the account's row for `status`)."""

from __future__ import annotations

from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from oneshop.ledger import models as m
from oneshop.ledger.account_state import account_state

CHUNK = 500  # ids in one IN (...)
GroupOf = Callable[[str], str]  # a connector's `write_group`: one read returns the group


@dataclass(frozen=True, slots=True, kw_only=True)
class CatalogSize:
    bound: int  # listings (write groups) with a bound binding: what a reconcile keeps read
    known: int  # bindings of every listing known on the account: what discovery reads


def catalog_size(s: Session, account: str, group_of: GroupOf) -> CatalogSize:
    bound = {group_of(external_id) for external_id in s.scalars(
        select(m.Binding.external_id).where(m.Binding.account == account,
                                            m.Binding.sku_id.is_not(None)))}
    known = s.scalar(select(func.count(m.Binding.id)).where(m.Binding.account == account))
    return CatalogSize(bound=len(bound), known=int(known or 0))


def due_listings(s: Session, account: str, group_of: GroupOf, *, groups: int,
                 read_before: datetime, skip: Container[str] = ()) -> list[str]:
    """Bound listings read longest ago (never read first), up to `groups` write groups,
    none read since `read_before`: what the next slice of a rolling reconcile reads.

    `skip`: groups the channel did not return lately (deleted): asked again every slice,
    they would take the slice's places for good."""
    rows = s.execute(
        select(m.Binding.external_id).where(
            m.Binding.account == account, m.Binding.sku_id.is_not(None),
            or_(m.Binding.read_at.is_(None), m.Binding.read_at < read_before))
        .order_by(m.Binding.read_at.asc().nulls_first(), m.Binding.id))
    chosen: dict[str, str] = {}
    for (external_id,) in rows:  # read lazily: the first `groups` groups are enough
        group = group_of(external_id)
        if group not in chosen and group not in skip:
            chosen[group] = external_id
            if len(chosen) >= groups:
                break
    return list(chosen.values())


def unread_since(s: Session, account: str, external_ids: Sequence[str],
                 since: datetime) -> list[str]:
    """Which of these listings were not read since `since` (the channel left them out)."""
    out: list[str] = []
    for start in range(0, len(external_ids), CHUNK):
        out += s.scalars(select(m.Binding.external_id).where(
            m.Binding.account == account,
            m.Binding.external_id.in_(external_ids[start:start + CHUNK]),
            or_(m.Binding.read_at.is_(None), m.Binding.read_at < since)))
    return out


def sales_per_day(s: Session, now: datetime) -> float:
    """Sale movements (one per SKU an order line sold) a day, on every account: the
    higher of the last hour's rate and the last day's, so a busy hour counts at once."""
    def since(delta: timedelta) -> int:
        return int(s.scalar(select(func.count(m.Movement.id)).where(
            m.Movement.kind == "sale", m.Movement.created_at >= now - delta)) or 0)

    return float(max(24 * since(timedelta(hours=1)), since(timedelta(days=1))))


def note_plan(s: Session, account: str, plan: dict[str, Any] | None) -> None:
    state = account_state(s, account)
    if state.plan != plan:
        state.plan = plan


def plans(s: Session) -> dict[str, dict[str, Any]]:
    """The plan each account runs, as the service last chose it."""
    return {row.account: dict(row.plan) for row in s.scalars(
        select(m.AccountState).where(m.AccountState.plan.is_not(None)))
        if isinstance(row.plan, dict)}
