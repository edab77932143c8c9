"""Low-stock alerts: one `low_stock` episode per SKU (oneshop.alerts) started when its
available count falls to its threshold or below, resolved (re-armed) only once it rises
above it; and the optional daily digest of every SKU at or below its threshold.

The check runs only in the transactions that change stock (a page of orders booked, a
hand edit folded in, `oneshop adjust`), on the SKUs they changed: an idle poll costs
nothing, and a shop without any `low_stock` setting skips it before its first query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from oneshop import alerts
from oneshop.configfile import ServiceConfig, SkuOverride
from oneshop.ledger import models as m

EVENT = "low_stock"
DIGEST_EVENT = "low_stock_digest"
SEVERITY = "warning"


@dataclass(frozen=True, slots=True)
class Threshold:
    """Alert at `low_stock` units or fewer; `reorder_to`: the count to order back up to."""

    low_stock: int
    reorder_to: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LowStockRules:
    """The thresholds of the config: `[service]` for every SKU, `[skus.X]` per SKU."""

    default: Threshold | None = None
    per_sku: Mapping[str, Threshold] = field(default_factory=dict)
    digest_hour: int | None = None

    @property
    def active(self) -> bool:
        return self.default is not None or bool(self.per_sku)

    def threshold(self, sku: str) -> Threshold | None:
        return self.per_sku.get(sku, self.default)


@dataclass(frozen=True, slots=True, kw_only=True)
class SkuCount:
    """What a low-stock check reads of one SKU."""

    id: int
    sku: str
    on_hand: int
    adopted: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Low:
    """A SKU at or below its threshold."""

    sku: str
    available: int
    threshold: Threshold

    @property
    def to_order(self) -> int | None:
        target = self.threshold.reorder_to
        return target - self.available if target is not None and target > self.available \
            else None

    def as_dict(self) -> dict[str, Any]:
        return {"sku": self.sku, "available": self.available,
                "threshold": self.threshold.low_stock,
                "reorder_to": self.threshold.reorder_to, "order": self.to_order}


def available_for_low_stock(row: SkuCount) -> int | None:
    """The count a SKU's low-stock threshold is held against; None: not judged.

    Today every adopted SKU is judged by its on-hand count. This is the one place that
    decides it: a bundle's count derived from its parts, and SKUs with no stock limit
    (unlimited, made to order: skipped with None) belong here.
    """
    if not row.adopted:  # unknown until adopted: its count is not ours to judge yet
        return None
    return row.on_hand


def check_low_stock(s: Session, rules: LowStockRules, sku_deltas: Mapping[int, int],
                    now: datetime) -> list[Low]:
    """Start or re-arm the episodes of the SKUs whose stock just moved; the new ones."""
    if not rules.active or not sku_deltas:
        return []
    rows = _counts(s, m.Sku.id.in_(sorted(sku_deltas)))
    keys = {row.id: alerts.key_of(EVENT, None, str(row.id)) for row in rows}
    open_keys = set(s.scalars(select(m.Alert.episode_key).where(
        m.Alert.episode_key.in_(sorted(keys.values())), m.Alert.resolved_at.is_(None))))
    started = []
    for row in rows:
        low = judge(rules, row)
        is_open = keys[row.id] in open_keys
        if low is None:
            if is_open:  # above its threshold again (or no longer judged): re-armed
                alerts.resolve(s, EVENT, now=now, subject=str(row.id))
            continue
        if not is_open and alerts.raise_alert(
                s, EVENT, SEVERITY, message(low), now=now, subject=str(row.id),
                sku_id=row.id, fields=low.as_dict(), remind=False):
            started.append(low)
    return started


def judge(rules: LowStockRules, row: SkuCount) -> Low | None:
    """The SKU's low-stock state, or None when it is above its threshold (or not judged)."""
    threshold = rules.threshold(row.sku)
    if threshold is None:
        return None
    available = available_for_low_stock(row)
    if available is None or available > threshold.low_stock:
        return None
    return Low(sku=row.sku, available=available, threshold=threshold)


def message(low: Low) -> str:
    text = f"{low.sku} is low: {low.available} left (threshold {low.threshold.low_stock})"
    if low.to_order is not None:
        text += f"; order {low.to_order} more to reach {low.threshold.reorder_to}"
    return text


def all_low(s: Session, rules: LowStockRules) -> list[Low]:
    """Every SKU at or below its threshold, by SKU (the digest, `oneshop low-stock`)."""
    if not rules.active:
        return []
    found = (judge(rules, row) for row in _counts(s, m.Sku.adopted_at.is_not(None)))
    return sorted((low for low in found if low is not None), key=lambda low: low.sku)


def send_digest(s: Session, rules: LowStockRules, now: datetime) -> list[Low]:
    """Today's digest line, once per UTC day whichever process sends it; what it listed."""
    lows = all_low(s, rules)
    if not lows:
        return []
    day = now.date().isoformat()
    shown = "; ".join(_short(low) for low in lows)
    if not alerts.raise_alert(
            s, DIGEST_EVENT, SEVERITY, f"{len(lows)} SKU(s) at or below their low-stock "
            f"threshold: {shown}", now=now, subject=day, remind=False,
            fields={"day": day, "count": len(lows), "skus": [low.as_dict() for low in lows]},
            dedupe_key=f"{DIGEST_EVENT}:{day}"):
        return []
    # A digest is news, not a condition that lasts: nothing stays open for it.
    key = alerts.key_of(DIGEST_EVENT, None, day)
    s.execute(update(m.Alert).where(m.Alert.episode_key == key, m.Alert.resolved_at.is_(None))
              .values(resolved_at=now))
    return lows


def _short(low: Low) -> str:
    text = f"{low.sku} {low.available}/{low.threshold.low_stock}"
    return text + (f" (order {low.to_order})" if low.to_order is not None else "")


def _counts(s: Session, where: Any) -> list[SkuCount]:
    return [SkuCount(id=int(i), sku=str(sku), on_hand=int(on_hand), adopted=adopted is not None)
            for i, sku, on_hand, adopted in s.execute(
                select(m.Sku.id, m.Sku.sku, m.Sku.on_hand, m.Sku.adopted_at).where(where)
                .order_by(m.Sku.id))]


def rules_from(service: ServiceConfig, skus: Mapping[str, SkuOverride]) -> LowStockRules:
    """The rules from `[service]` and `[skus.X]`: a SKU's own keys win, key by key."""
    default = None if service.low_stock is None else \
        Threshold(service.low_stock, service.reorder_to)
    per_sku: dict[str, Threshold] = {}
    for name, o in skus.items():
        low = o.low_stock if o.low_stock is not None else service.low_stock
        if low is None or (o.low_stock is None and o.reorder_to is None):
            continue
        reorder = o.reorder_to if o.reorder_to is not None else service.reorder_to
        per_sku[name] = Threshold(low, reorder)
    return LowStockRules(default=default, per_sku=per_sku,
                         digest_hour=service.low_stock_digest_hour)
