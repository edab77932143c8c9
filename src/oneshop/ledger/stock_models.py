"""Stock models (docs/stock-models.md): what a SKU's channels are told and when it is
oversold, per the model the config file gives it.

| model         | channels are told                                | oversold when        |
| ------------- | ------------------------------------------------ | -------------------- |
| tracked       | clamp(on_hand + backorder − reserve, 0, cap)     | on_hand < −backorder |
| unlimited     | nothing: never pushed, never reconciled          | never                |
| made_to_order | clamp(advertise, 0, cap); 0 while the ISO week's | never (capacity_     |
|               | sales (UTC) fill capacity_per_week               | reached instead)     |

Sales of every model are booked (the order book, `history`); on an unlimited or
made-to-order SKU their movements only count (on_hand has no shelf behind it).
The SQL (`published_expr`) and the Python (`published`) say the same; the planner uses
the first, status and the dry run the second. Store functions: take a Session, never
commit.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, case, func, literal, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from oneshop import alerts
from oneshop.ledger import models as m
from oneshop.ledger.stock import record_movement

TRACKED = "tracked"
UNLIMITED = "unlimited"
MADE_TO_ORDER = "made_to_order"
NOT_COUNTED = (UNLIMITED, MADE_TO_ORDER)  # no count to adopt, nothing to oversell
CAPACITY_EVENT = "capacity_reached"
# Movements a made-to-order week counts: its sales, less what cancellations gave back.
WEEK_KINDS = ("sale", "restock")


class SkuRules(Protocol):
    """A SKU's row as far as publishing goes (m.Sku, views.SkuView)."""

    @property
    def reserve(self) -> int | None: ...
    @property
    def cap(self) -> int | None: ...


def _attr(sku: Any, name: str, default: Any) -> Any:
    value = getattr(sku, name, default) if sku is not None else default
    return default if value is None else value


def published(on_hand: int, sku: SkuRules | None, rules: Any) -> int | None:
    """What a channel with these account rules is told; None: never pushed (unlimited)."""
    model = _attr(sku, "stock_model", TRACKED)
    if model == UNLIMITED:
        return None
    cap = sku.cap if sku is not None and sku.cap is not None else rules.cap
    if model == MADE_TO_ORDER:
        value = 0 if _attr(sku, "capacity_full", False) else int(_attr(sku, "advertise", 0))
    else:
        reserve = sku.reserve if sku is not None and sku.reserve is not None else rules.reserve
        value = max(0, on_hand + int(_attr(sku, "backorder", 0)) - reserve)
    return value if cap is None else min(value, cap)


def published_expr(reserve: int, cap: int | None) -> Any:
    """SQL for `published` of a bound, publishable SKU (joined as m.Sku)."""
    raw = case((m.Sku.stock_model == MADE_TO_ORDER,
                case((m.Sku.capacity_full.is_(True), 0),
                     else_=func.coalesce(m.Sku.advertise, 0))),
               else_=m.Sku.on_hand + m.Sku.backorder - func.coalesce(m.Sku.reserve, reserve))
    cap_col = func.coalesce(m.Sku.cap, literal(cap) if cap is not None else None)
    return case((raw < 0, 0), (and_(cap_col.is_not(None), raw > cap_col), cap_col), else_=raw)


def publishable() -> ColumnElement[bool]:
    """SKUs whose channels are told a quantity: counted ones once adopted (an unknown
    count is never published, not even 0), made-to-order ones always, unlimited never."""
    return and_(m.Sku.stock_model != UNLIMITED,
                or_(m.Sku.adopted_at.is_not(None), m.Sku.stock_model == MADE_TO_ORDER))


def oversell_floor(sku: Any) -> int | None:
    """How low on_hand may go before it is an oversell; None: never (not counted)."""
    if _attr(sku, "stock_model", TRACKED) in NOT_COUNTED:
        return None
    return -int(_attr(sku, "backorder", 0))


def not_counted(s: Session, sku_ids: Iterable[int | None]) -> dict[int, str]:
    """Of these SKUs, those without a count (unlimited, made to order): id -> model."""
    ids = sorted({i for i in sku_ids if i is not None})
    if not ids:
        return {}
    rows = s.execute(select(m.Sku.id, m.Sku.stock_model).where(
        m.Sku.id.in_(ids), m.Sku.stock_model.in_(NOT_COUNTED)))
    return {int(i): str(model) for i, model in rows}


def week_of(now: datetime) -> tuple[datetime, str]:
    """The ISO week (UTC) holding `now`: its Monday 00:00 and its name (2026-W49)."""
    day = now.astimezone(UTC)
    start = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(days=day.weekday())
    year, week, _ = day.isocalendar()
    return start, f"{year}-W{week:02d}"


def week_sales(s: Session, sku_ids: Collection[int], now: datetime) -> dict[int, int]:
    """Units sold this ISO week (by the order's time; a sale with no order row, e.g. one
    booked when its listing was linked, by when it was booked), less cancellations."""
    if not sku_ids:
        return {}
    start, _ = week_of(now)
    at = func.coalesce(m.Order.created_at, m.Movement.created_at)
    rows = s.execute(
        select(m.Movement.sku_id, func.sum(m.Movement.delta))
        .outerjoin(m.Order, and_(m.Order.account == m.Movement.account,
                                 m.Order.external_id == m.Movement.order_external_id))
        .where(m.Movement.sku_id.in_(list(sku_ids)), m.Movement.kind.in_(WEEK_KINDS),
               at >= start, at < start + timedelta(days=7))
        .group_by(m.Movement.sku_id))
    return {int(sku_id): max(0, -int(total or 0)) for sku_id, total in rows}


def refresh_capacity(s: Session, now: datetime) -> dict[int, int]:
    """Mark the made-to-order SKUs whose week is full (channels show 0) or no longer
    (a new week, a cancellation: channels show `advertise` again), with one
    `capacity_reached` episode per SKU and week; returns the SKUs that changed (id -> 0,
    for the push)."""
    # Every push plan runs this: two indexed reads (skus.stock_model, alerts.event), so a
    # shop without made-to-order SKUs pays next to nothing.
    skus = list(s.scalars(select(m.Sku).where(m.Sku.stock_model == MADE_TO_ORDER,
                                              m.Sku.capacity_per_week.is_not(None))))
    open_episodes = open_subjects(s, CAPACITY_EVENT)
    if not skus and not open_episodes:
        return {}
    sold = week_sales(s, [sku.id for sku in skus], now)
    _, week = week_of(now)
    changed: dict[int, int] = {}
    full_ids: set[str] = set()
    for sku in skus:
        assert sku.capacity_per_week is not None
        full = sold.get(sku.id, 0) >= sku.capacity_per_week
        if full != sku.capacity_full:
            s.execute(update(m.Sku).where(m.Sku.id == sku.id).values(capacity_full=full))
            _note_week(s, sku, week, full, sold.get(sku.id, 0))
            changed[sku.id] = 0
        if full:
            full_ids.add(str(sku.id))
            _raise_capacity(s, sku, sold.get(sku.id, 0), week, now)
    for subject in set(open_episodes) - full_ids:
        alerts.resolve(s, CAPACITY_EVENT, now=now, subject=subject)
    return changed


def _note_week(s: Session, sku: m.Sku, week: str, full: bool, sold: int) -> None:
    """A zero movement in the SKU's history (`history` says why channels show 0 or
    `advertise`), and a movement of the SKU, which is what tells every account's push plan
    to look at it again (a new week has no sale to do so). Once per SKU, week and state."""
    state = "full" if full else "open"
    record_movement(s, sku_id=sku.id, kind="capacity", delta=0,
                    source_key=f"capacity:{sku.id}:{week}:{state}",
                    reason=f"week {week}: {sold}/{sku.capacity_per_week} sold, "
                           + ("channels show 0" if full else f"channels show {sku.advertise}"))


def open_subjects(s: Session, event: str, account: str | None = None) -> set[str]:
    """Subjects of the open episodes of `event` (for `account`), read by the alerts'
    event index (`alerts.open_subjects` matches a key prefix, which SQLite's LIKE scans)."""
    prefix = alerts.key_of(event, account)
    keys = s.scalars(select(m.Alert.episode_key).where(m.Alert.event == event,
                                                       m.Alert.resolved_at.is_(None)))
    return {str(k)[len(prefix):] for k in keys if str(k).startswith(prefix)}


def _raise_capacity(s: Session, sku: m.Sku, sold: int, week: str, now: datetime) -> None:
    fields = {"sku": sku.sku, "week": week, "sold": sold,
              "capacity_per_week": sku.capacity_per_week,
              "action": (f"channels show 0 until next Monday (UTC); raise "
                         f"skus.{sku.sku}.capacity_per_week to take more orders this week")}
    # Told once per SKU and week (remind=False; the dedupe key): a cancellation that
    # frees a slot and a sale that fills it again are the same week's news.
    alerts.raise_alert(s, CAPACITY_EVENT, "warning",
                       f"{sku.sku}: this week's made-to-order capacity is used up",
                       now=now, subject=str(sku.id), sku_id=sku.id, fields=fields,
                       remind=False, dedupe_key=f"{CAPACITY_EVENT}:{sku.id}:{week}")


def apply_config(s: Session, models: Mapping[str, tuple[str, int | None, int | None, int]],
                 ids: Mapping[str, int], *, now: datetime) -> None:
    """The stock models of the config file's [skus.X] tables (sku -> (stock, advertise,
    capacity_per_week, backorder)); every other SKU is tracked, with no backorder.

    An unlimited or made-to-order SKU has no count to adopt: it is known from the config
    (adopted_at set), so its sales are never waiting for `oneshop adopt`."""
    for row in s.scalars(select(m.Sku).where(or_(m.Sku.stock_model != TRACKED,
                                                 m.Sku.backorder != 0))):
        if row.sku not in models:
            row.stock_model, row.advertise, row.capacity_per_week = TRACKED, None, None
            row.backorder, row.capacity_full = 0, False
    for name, (model, advertise, capacity, backorder) in models.items():
        sku = s.get(m.Sku, ids[name])
        assert sku is not None
        sku.stock_model, sku.advertise, sku.backorder = model, advertise, backorder
        sku.capacity_per_week = capacity
        if model != MADE_TO_ORDER or capacity is None:
            sku.capacity_full = False
        if model in NOT_COUNTED and sku.adopted_at is None:
            sku.adopted_at = now


# A listing with no quantity in these states is one the channel does not count: a
# Gumroad product with no max_purchase_count, a Shopify variant whose inventory is not
# tracked (a tracked one not stocked at the location is "unstocked", not a candidate).
CANDIDATE_STATES = frozenset({"active", "inactive", "untracked"})


def is_unlimited_candidate(quantity: int | None, state: str) -> bool:
    return quantity is None and state in CANDIDATE_STATES


def split_unlimited_candidates(s: Session, rows: Sequence[Any]) -> tuple[list[Any], list[str]]:
    """Unbound binding rows (id, external_id, channel_sku, …) to bind by SKU, and the
    external ids of unlimited candidates kept unbound: their SKU is not unlimited, and
    binding them to a counted SKU would push a count (a cap) onto an item sold without
    one."""
    ids = [r.id for r in rows]
    if not ids:
        return [], []
    uncounted = {int(i) for i, in s.execute(select(m.Binding.id).where(
        m.Binding.id.in_(ids), m.Binding.read_qty.is_(None),
        m.Binding.state.in_(CANDIDATE_STATES)))}
    if not uncounted:
        return list(rows), []
    names = {r.channel_sku for r in rows if r.id in uncounted}
    unlimited = set(s.scalars(select(m.Sku.sku).where(m.Sku.sku.in_(names),
                                                      m.Sku.stock_model == UNLIMITED)))
    keep = [r for r in rows if r.id not in uncounted or r.channel_sku in unlimited]
    return keep, [r.external_id for r in rows if r.id in uncounted
                  and r.channel_sku not in unlimited]


def unlimited_candidates(s: Session) -> list[tuple[str, str, str | None, str]]:
    """Unbound listings the channel does not count: (account, external id, channel SKU,
    title), for `status`."""
    rows = s.execute(select(m.Binding.account, m.Binding.external_id, m.Binding.channel_sku,
                            m.Binding.title)
                     .where(m.Binding.sku_id.is_(None), m.Binding.read_qty.is_(None),
                            m.Binding.state.in_(CANDIDATE_STATES))
                     .order_by(m.Binding.account, m.Binding.external_id))
    return [(str(a), str(e), sku, str(t)) for a, e, sku, t in rows]


def describe(sku: Any) -> str:
    """The SKU's stock model in words ('' for a plain tracked SKU), for `history`."""
    model = _attr(sku, "stock_model", TRACKED)
    if model == UNLIMITED:
        return "unlimited: orders are booked, nothing is pushed"
    if model == MADE_TO_ORDER:
        capacity = _attr(sku, "capacity_per_week", None)
        return (f"made to order: channels show {_attr(sku, 'advertise', 0)}"
                + (f", {capacity} per ISO week" if capacity is not None else ""))
    backorder = int(_attr(sku, "backorder", 0))
    return f"backorders: may sell down to -{backorder}" if backorder else ""


def advertised(s: Session, sku_ids: Collection[int]) -> dict[int, int]:
    """What these made-to-order SKUs' channels should show now (the SKU's own cap
    applied; 0 while the week is full)."""
    if not sku_ids:
        return {}
    rows = s.execute(select(m.Sku.id, m.Sku.advertise, m.Sku.cap, m.Sku.capacity_full)
                     .where(m.Sku.id.in_(list(sku_ids)),
                            m.Sku.stock_model == MADE_TO_ORDER))
    return {int(i): 0 if full else min(adv or 0, cap if cap is not None else adv or 0)
            for i, adv, cap, full in rows}
