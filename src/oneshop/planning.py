"""The service side of a budget-planned schedule (the plan itself: oneshop.plan).

An account whose connector has a daily budget and can read chosen listings
(`protocols.RollingCatalog`: Etsy) is planned, re-planned every `REPLAN_S`:

- what it costs: bound listings and every known listing (discovery reads them all) from
  the ledger, the budget the connector last saw (else as recorded), pushes estimated from
  the recent sales rate (`PUSH_REQUESTS_PER_SALE` a sale, on every account), and the
  connector's own schedule;
- the plan is kept on the account's row (`status` shows it), and the `reconcile_budget`
  alert is one episode while the budget cannot read every listing in `reconcile_seconds`;
- a slice of the rolling reconcile reads the listings read longest ago (`Slicer`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from oneshop import alerts
from oneshop.app import App
from oneshop.ledger import account_state, rolling
from oneshop.ledger.db import transaction
from oneshop.plan import DAY_S, SLACK, Demand, Plan, plan
from oneshop.protocols import RollingCatalog

REPLAN_S = 300.0  # the plan follows the budget this closely
# A sale anywhere is about one push to each other account; an Etsy push reads its listing
# in a batch of 5 and writes it (1.2 requests a listing measured): 2 is the cautious count.
PUSH_REQUESTS_PER_SALE = 2.0
DEFAULT_DAILY_LIMIT = 10_000  # Etsy's historical default, until the headers say otherwise
DEFAULT_RESERVE_SHARE = 0.25
ALERT = "reconcile_budget"
CATALOG_TTL_S = 1800.0  # the catalog's size is counted again this often


def reader(app: App, account: str) -> RollingCatalog | None:
    """The account's connector when its schedule is planned from a daily budget."""
    connector = app.accounts.connectors.get(account)
    if isinstance(connector, RollingCatalog) and connector.budget().daily:
        return connector
    return None


def reserve_share(app: App, account: str) -> float:
    """`budget_reserve_share`, never below `budget_low_share`: a plan that spent into the
    budget_low zone would keep that alert raised all day."""
    from oneshop.conditions import budget_low_share

    share = getattr(app.config.accounts[account].settings, "budget_reserve_share", None)
    share = float(share) if isinstance(share, int | float) else DEFAULT_RESERVE_SHARE
    return max(share, budget_low_share(app, account))


Sizes = dict[str, tuple[datetime, rolling.CatalogSize]]


def demand(app: App, account: str, connector: RollingCatalog, now: datetime,
           sizes: Sizes | None = None) -> Demand:
    """What the plan is made from. `sizes`: catalog sizes counted lately, by account
    (counting reads every binding of the account: 0.1 s at 100,000)."""
    cfg = app.config.accounts[account].config
    budget = connector.budget()
    sizes = {} if sizes is None else sizes
    with app.sessions() as s:
        counted = sizes.get(account)
        if counted is None or (now - counted[0]).total_seconds() >= CATALOG_TTL_S:
            sizes[account] = counted = (now, rolling.catalog_size(s, account,
                                                                  connector.write_group))
        size = counted[1]
        sales = rolling.sales_per_day(s, now)
        state = account_state.recorded_health(s, account)
    limit = budget.limit or (state.budget_limit if state else None) or DEFAULT_DAILY_LIMIT
    remaining = budget.remaining if budget.remaining is not None else (
        state.budget_remaining if state else None)
    discovery = connector.full_read_requests(size.known) * DAY_S / cfg.discover_seconds
    return Demand(listings=size.bound, per_request=connector.listings_per_read, limit=limit,
                  remaining=remaining, reserve_share=reserve_share(app, account),
                  min_poll_s=min(cfg.min_poll_seconds, cfg.poll_seconds),
                  max_poll_s=cfg.poll_seconds, reconcile_s=cfg.reconcile_seconds,
                  other_per_day=(connector.own_requests_per_day() + discovery
                                 + sales * PUSH_REQUESTS_PER_SALE),
                  discover_s=cfg.discover_seconds)


def replan(app: App, account: str, sizes: Sizes | None = None) -> Plan | None:
    """The account's plan from what it costs now; stored, and alerted when it falls short.
    None for an account whose channel has no daily budget."""
    connector = reader(app, account)
    if connector is None:
        return None
    now = app.clock()
    chosen = plan(demand(app, account, connector, now, sizes))
    with transaction(app.sessions) as s:
        rolling.note_plan(s, account, chosen.as_dict())
        if not chosen.meets:
            alerts.raise_alert(s, ALERT, "warning", chosen.shortfall(), now=now,
                               account=account, fields=_fields(chosen))
        elif chosen.full_s <= chosen.reconcile_s * SLACK + 1:
            # Resolved with a margin, so a budget hovering at the edge is one episode.
            alerts.resolve(s, ALERT, now=now, account=account)
    return chosen


def _fields(p: Plan) -> dict[str, float | int | None]:
    return {"full_reconcile_s": round(p.full_s), "reconcile_seconds": p.reconcile_s,
            "poll_s": round(p.poll_s, 1), "planned_per_day": round(p.planned_per_day),
            "limit": p.limit, "share_left": None if p.share_left is None
            else round(p.share_left, 3)}


@dataclass(slots=True)
class Slicer:
    """Which listings each slice reads. Listings the channel did not return (deleted)
    are skipped for a full period: asked every slice, they would fill it for good."""

    missing: dict[str, dict[str, datetime]] = field(default_factory=dict)

    def due(self, app: App, account: str, p: Plan) -> list[str]:
        connector = reader(app, account)
        if connector is None or p.requests_per_cycle <= 0:
            return []
        now = app.clock()
        gone = self.missing.setdefault(account, {})
        for group, since in list(gone.items()):
            if (now - since).total_seconds() > p.full_s:
                del gone[group]
        with app.sessions() as s:
            # Never paused, even after discovery read everything at once: listings all
            # read at one moment take a whole period to get through again, so a pause
            # would leave the last of them unread for longer than the period.
            return rolling.due_listings(s, account, connector.write_group,
                                        groups=p.listings_per_cycle, read_before=now,
                                        skip=gone)

    def read(self, app: App, account: str, asked: list[str], started: datetime) -> None:
        """Note the listings asked for that the read did not return."""
        connector = reader(app, account)
        if connector is None or not asked:
            return
        with app.sessions() as s:
            unread = rolling.unread_since(s, account, asked, started)
        gone = self.missing.setdefault(account, {})
        for external_id in unread:
            gone[connector.write_group(external_id)] = started
