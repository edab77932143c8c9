"""Read-only views of the ledger for status, reports and metrics, as frozen values.
Take a Session, never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oneshop.ledger import models as m
from oneshop.ledger import stock_models


@dataclass(frozen=True, slots=True, kw_only=True)
class SkuView:
    id: int
    sku: str
    on_hand: int
    adopted_at: datetime | None
    reserve: int | None  # the SKU's own override of the account's
    cap: int | None  # the SKU's own override of the account's
    # The stock model (ledger/stock_models.py) and its keys, from the config file.
    stock_model: str = "tracked"
    advertise: int | None = None
    capacity_per_week: int | None = None
    backorder: int = 0
    capacity_full: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ListingView:
    """A bound listing: what its last read showed, what we believe it shows."""

    account: str
    external_id: str
    state: str
    read_qty: int | None
    read_at: datetime | None
    observed_qty: int | None
    observed_at: datetime | None
    pushed_at: datetime | None
    held_qty: int | None
    drift_seen: int | None = None  # a differing read waiting for its second sighting


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    at: datetime
    kind: str
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "kind": self.kind, "detail": self.detail}


def _sku(row: m.Sku) -> SkuView:
    return SkuView(id=row.id, sku=row.sku, on_hand=row.on_hand, adopted_at=row.adopted_at,
                   reserve=row.reserve, cap=row.cap, stock_model=row.stock_model,
                   advertise=row.advertise, capacity_per_week=row.capacity_per_week,
                   backorder=row.backorder, capacity_full=row.capacity_full)


def find_sku(s: Session, sku: str) -> SkuView | None:
    row = s.scalar(select(m.Sku).where(m.Sku.sku == sku))
    return None if row is None else _sku(row)


def bound_listings(s: Session, limit: int) -> list[tuple[SkuView, ListingView]]:
    """Bound listings with their SKUs, by SKU then account (at most `limit`)."""
    rows = s.execute(select(m.Sku, m.Binding).join(m.Binding, m.Binding.sku_id == m.Sku.id)
                     .order_by(m.Sku.sku, m.Binding.account).limit(limit))
    return [(_sku(sku), ListingView(
        account=b.account, external_id=b.external_id, state=b.state, read_qty=b.read_qty,
        read_at=b.read_at, observed_qty=b.observed_qty, observed_at=b.observed_at,
        pushed_at=b.pushed_at, held_qty=b.held_qty, drift_seen=b.drift_seen))
        for sku, b in rows]


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
    events += bundle_events(s, row, limit)
    events += [Event(at=p.created_at, kind="push",
                     detail=f"{p.account} {p.observed_before}->{p.quantity} {p.status}"
                     + (f" ({p.detail})" if p.detail else ""))
               for p in s.scalars(select(m.Push).where(m.Push.sku_id == row.id)
                                  .order_by(m.Push.id.desc()).limit(limit))]
    events += [Event(at=a.created_at, kind=f"alert:{a.event}", detail=a.message)
               for a in s.scalars(select(m.Alert).where(m.Alert.sku_id == row.id)
                                  .order_by(m.Alert.id.desc()).limit(limit))]
    return sorted(events, key=lambda e: e.at)


def push_counts(s: Session) -> list[tuple[str, str, int]]:
    """(account, status, pushes) for every push outcome recorded."""
    return [(account, status, int(n)) for account, status, n in s.execute(
        select(m.Push.account, m.Push.status, func.count())
        .group_by(m.Push.account, m.Push.status))]


def alert_counts(s: Session) -> dict[str, int]:
    """Alerts stored, by event."""
    return {event: int(n) for event, n in s.execute(
        select(m.Alert.event, func.count()).group_by(m.Alert.event))}


def all_skus(s: Session) -> dict[int, SkuView]:
    return {row.id: _sku(row) for row in s.scalars(select(m.Sku))}


def bindings(s: Session) -> dict[tuple[str, str], int | None]:
    """Every listing we know, (account, external id) -> the SKU id it is bound to."""
    return {(account, ext): sku_id for account, ext, sku_id in s.execute(
        select(m.Binding.account, m.Binding.external_id, m.Binding.sku_id))}


def unadopted_bound_skus(s: Session) -> list[str]:
    """SKUs bound to some listing but not adopted yet."""
    return list(s.scalars(select(m.Sku.sku).join(m.Binding, m.Binding.sku_id == m.Sku.id)
                          .where(m.Sku.adopted_at.is_(None)).distinct()))


def bound_quantities(s: Session) -> list[tuple[int, str, bool, str, int | None, str]]:
    """(sku id, sku, adopted, account, believed quantity, listing state) of every bound
    listing."""
    return [(sku_id, sku, adopted_at is not None, account, qty, state)
            for sku_id, sku, adopted_at, account, qty, state in s.execute(
                select(m.Sku.id, m.Sku.sku, m.Sku.adopted_at, m.Binding.account,
                       m.Binding.observed_qty, m.Binding.state)
                .join(m.Binding, m.Binding.sku_id == m.Sku.id))]


class Overrides(Protocol):
    """A SKU's own reserve and cap (None: the account's)."""

    @property
    def reserve(self) -> int | None: ...
    @property
    def cap(self) -> int | None: ...


def published(on_hand: int, sku: Overrides | None, rules: Any) -> int | None:
    """clamp(on_hand - reserve, 0, cap), the SKU's overrides first, by its stock model
    (as `catalog.published_expr`); None: never pushed (unlimited)."""
    return stock_models.published(on_hand, sku, rules)


def listing_links(s: Session, account: str) -> dict[str, tuple[str | None, str | None]]:
    """The account's listings: external id -> (the SKU bound, how: auto, manual, unlinked)."""
    rows = s.execute(select(m.Binding.external_id, m.Sku.sku, m.Binding.bound_by)
                     .outerjoin(m.Sku, m.Sku.id == m.Binding.sku_id)
                     .where(m.Binding.account == account))
    return {ext: (sku, how) for ext, sku, how in rows}


def knows_listing(s: Session, account: str, external_id: str) -> bool:
    return s.scalar(select(m.Binding.id).where(m.Binding.account == account,
                                               m.Binding.external_id == external_id)) is not None


def bound_sku(s: Session, account: str, external_id: str) -> str | None:
    """The SKU the listing is bound to."""
    return s.scalar(select(m.Sku.sku).join(m.Binding, m.Binding.sku_id == m.Sku.id)
                    .where(m.Binding.account == account,
                           m.Binding.external_id == external_id))


def bundle_events(s: Session, row: m.Sku, limit: int) -> list[Event]:
    """A bundle has no movements of its own: its timeline shows what it is made of and
    each sale or return of it, as the component movements it booked."""
    parts = s.execute(select(m.Sku.sku, m.BundleComponent.quantity)
                      .join(m.BundleComponent, m.BundleComponent.component_id == m.Sku.id)
                      .where(m.BundleComponent.bundle_id == row.id).order_by(m.Sku.sku)).all()
    if not parts:
        return []
    made = " + ".join(f"{q} x {sku}" for sku, q in parts)
    events = [Event(at=row.created_at, kind="bundle", detail=f"made of {made}")]
    tags = [f"sold as {row.sku}", f"returned as {row.sku}"]
    rows = s.execute(select(m.Movement, m.Sku.sku).join(m.Sku, m.Sku.id == m.Movement.sku_id)
                     .where(m.Movement.reason.in_(tags))
                     .order_by(m.Movement.id.desc()).limit(limit))
    events += [Event(at=mv.created_at, kind=mv.kind,
                     detail=f"{sku} {mv.delta:+d} {mv.account} order {mv.order_external_id}"
                     f" ({mv.reason})") for mv, sku in rows]
    return events
