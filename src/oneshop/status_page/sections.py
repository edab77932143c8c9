"""What the status page shows, one function per section, each from a view the CLI
already uses: `reports.channels` (last poll, lag, failures, budget, paused), the alert
episodes still open (`ledger.open_alerts`), `status_view.skus` (what each listing shows
and should show, drift) and `reports.history` (a SKU's timeline).

A section that other features feed (low stock, pending links, pauses) reads their alert
episodes or their keys in `reports.channels`: when those features add data, it appears
here without a new query. Nothing here writes; callers pass a read-only session.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from oneshop import reports, status_view
from oneshop.config import Config
from oneshop.ledger import views
from oneshop.ledger.open_alerts import OpenAlert, open_alerts
from oneshop.logs import REDACTOR
from oneshop.values import Budget

# The order of the "needs attention" list: a sale that cannot be shipped first.
OVERSOLD, DRIFT, LOW, PENDING_LINK = "oversold", "drift", "low", "pending link"
RANK = {OVERSOLD: 0, DRIFT: 1, LOW: 2, PENDING_LINK: 3}
LOW_EVENT = "low_stock"  # issue 18.1's alert, one episode per SKU at or below its threshold
LINK_EVENT = "unlinked_listing"  # a listing (or a sale on one) with no SKU
ALERTS_SHOWN = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class Attention:
    """One line of "needs attention": a SKU (or an unbound listing) and why."""

    reason: str
    detail: str
    sku: str | None = None
    account: str | None = None
    listing: str | None = None
    on_hand: int | None = None

    def key(self) -> tuple[int, int, str, str]:
        # Deepest oversell first; then by SKU (or account + listing) for a stable page.
        depth = self.on_hand if self.reason == OVERSOLD and self.on_hand is not None else 0
        return (RANK[self.reason], depth, self.sku or "", f"{self.account}:{self.listing}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Overview:
    """Everything the main page shows, read in one snapshot."""

    now: datetime
    channels: list[dict[str, Any]]
    attention: list[Attention]
    skus: list[dict[str, Any]]
    alerts: list[OpenAlert]
    notices: int  # open info-level episodes, counted but not listed
    extra: dict[str, Any] = field(default_factory=dict)


def overview(s: Session, config: Config, now: datetime,
             budgets: Mapping[str, Budget] | None = None) -> Overview:
    alerts = open_alerts(s)
    skus = status_view.skus(s, config, now)
    trouble = [a for a in alerts if a.severity != "info"]
    return Overview(now=now, channels=channel_rows(s, config, now, alerts, budgets or {}),
                    attention=attention(s, skus, alerts), skus=skus,
                    alerts=trouble[:ALERTS_SHOWN], notices=len(alerts) - len(trouble))


def channel_rows(s: Session, config: Config, now: datetime, alerts: Sequence[OpenAlert],
                 budgets: Mapping[str, Budget]) -> list[dict[str, Any]]:
    """`reports.channels` (what `oneshop status` shows), plus the live API budget the
    service's connector last saw and the account's open alerts by severity."""
    rows = reports.channels(s, config, now)
    for row in rows:
        row["last_error"] = REDACTOR.scrub(row.get("last_error") or "")
        budget = budgets.get(row["account"])
        if budget is not None and budget.remaining is not None:
            row["budget_left"] = budget.remaining
            row["budget_limit"] = budget.limit
            row["budget_daily"] = budget.daily
        counts: dict[str, int] = {}
        for a in alerts:
            if a.account == row["account"] and a.severity != "info":
                counts[a.severity] = counts.get(a.severity, 0) + 1
        row["open_alerts"] = counts
    return rows


def attention(s: Session, skus: Sequence[Mapping[str, Any]],
              alerts: Sequence[OpenAlert]) -> list[Attention]:
    """Every SKU or listing that needs the seller, oversold first (deepest first)."""
    found = [*oversold(skus, alerts), *drifting(skus), *low_stock(alerts),
             *pending_links(s, alerts)]
    return sorted(found, key=Attention.key)


def oversold(skus: Iterable[Mapping[str, Any]],
             alerts: Sequence[OpenAlert]) -> list[Attention]:
    """Adopted SKUs below zero, with the open `oversell` episode's next step."""
    action = {a.sku: str(a.fields.get("action") or "") for a in alerts
              if a.event == "oversell" and a.sku is not None}
    return [Attention(reason=OVERSOLD, sku=row["sku"], on_hand=row["on_hand"],
                      detail=f"sold {-row['on_hand']} more than there were"
                      + (f"; {action[row['sku']]}" if action.get(row["sku"]) else ""))
            for row in skus if row["adopted"] and row["on_hand"] < 0]


def is_drift(channel: Mapping[str, Any]) -> bool:
    """`status`'s 'drift' mark where oneshop's belief is off too (a push not through) or
    a reconcile sighted a hand edit. A read older than the channel's own sales shows the
    units before them while oneshop, following those sales, is in step: such a mark waits
    for the next reconcile and is no news for the seller."""
    return channel["mark"] == "drift" and (channel["believed"] != channel["wants"]
                                           or channel.get("sighted") is not None)


def drifting(skus: Iterable[Mapping[str, Any]]) -> list[Attention]:
    """Listings whose channel shows another quantity than it should (`is_drift`), one
    line per SKU naming each channel."""
    out = []
    for row in skus:
        off = [f"{account} shows {c['shows']}, should show {c['wants']}"
               for account, c in row["channels"].items() if is_drift(c)]
        if off:
            out.append(Attention(reason=DRIFT, sku=row["sku"], on_hand=row["on_hand"],
                                 detail="; ".join(off)))
    return out


def low_stock(alerts: Iterable[OpenAlert]) -> list[Attention]:
    """SKUs with an open `low_stock` episode (at or below their threshold)."""
    seen: dict[str, Attention] = {}
    for a in alerts:
        if a.event == LOW_EVENT and a.sku is not None and a.sku not in seen:
            count = a.fields.get("available", a.fields.get("on_hand"))
            seen[a.sku] = Attention(reason=LOW, sku=a.sku, detail=a.message,
                                    on_hand=count if isinstance(count, int) else None)
    return list(seen.values())


def pending_links(s: Session, alerts: Iterable[OpenAlert]) -> list[Attention]:
    """Listings told as having no SKU (`unlinked_listing`) that are still bound to none."""
    out = []
    for a in alerts:
        listing = a.fields.get("listing")
        if a.event != LINK_EVENT or a.account is None or not isinstance(listing, str):
            continue
        if views.bound_sku(s, a.account, listing) is None:
            out.append(Attention(reason=PENDING_LINK, account=a.account, listing=listing,
                                 detail=f"{a.message} (since {a.since:%Y-%m-%d %H:%M} UTC)"))
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class SkuPage:
    sku: str
    on_hand: int
    adopted: bool
    events: list[reports.Event]


def sku_page(s: Session, sku: str, limit: int = 500) -> SkuPage | None:
    """The SKU's timeline as `oneshop history SKU` shows it (None: unknown SKU)."""
    found = views.find_sku(s, sku)
    events = reports.history(s, sku, limit)
    if found is None or events is None:
        return None
    return SkuPage(sku=found.sku, on_hand=found.on_hand, adopted=found.adopted_at is not None,
                   events=list(reversed(events)))
