"""A channel's schedule planned from its daily API budget (pure: no I/O, no clock).

Etsy gives an app a number of requests per day (10,000 by default). What oneshop spends
them on, per account, each day:

    order polls         one request each (an idle poll reads one page of receipts)
    reconcile slices    a rolling reconcile: each cycle pulls orders (one request) and
                        reads `requests_per_cycle` batches of `per_request` listings, the
                        ones read longest ago, so every bound listing is read once per
                        `full_s`
    everything else     pushes (estimated from the recent sales rate), the connector's own
                        schedule (Etsy's cancellation rescan), discovery's full reads:
                        `Demand.other_per_day`, planned first

The plan spends at most `(1 - reserve_share) * limit` a day, the *allowance*; the rest is
left for pushes above the estimate and for anything else using the same API key. Out of
the allowance, in this order:

1. polls at `max_poll_s` (the account's `poll_seconds`): the slowest oneshop polls on
   its own (only the `budget_low` stretch polls slower, oneshop.conditions);
2. a rolling reconcile that reads every listing within `reconcile_s` (planned for
   `SLACK` of it, so a late cycle still lands inside); what cannot be afforded stretches
   the full reconcile instead, and `meets` is False;
3. whatever is left polls faster, down to `min_poll_s`.

Re-planned as the budget moves: Etsy counts a sliding 24-hour window, so spending the
allowance at an even rate keeps `reserve_share` of the limit free. When less than that
is left (a burst of pushes, another app on the same key), the allowance shrinks in
proportion, so the window drains back to the reserve instead of running dry.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

DAY_S = 86_400.0
POLL_REQUESTS = 1  # an orders poll with no new receipts reads one page
MIN_CYCLE_S = 60.0  # reconcile slices run at most this often (each also pulls orders)
SLACK = 0.9  # a full reconcile is planned in this share of `reconcile_s`
LONGEST_S = 400 * DAY_S  # a longer full reconcile is reported as this


@dataclass(frozen=True, slots=True, kw_only=True)
class Demand:
    """What the plan is made from: the catalog, the budget and the account's settings."""

    listings: int  # bound listings to keep read (one read request takes `per_request`)
    per_request: int = 100
    limit: int  # requests per day
    remaining: int | None  # left in today's window, as last seen (None: not seen yet)
    reserve_share: float
    min_poll_s: float
    max_poll_s: float
    reconcile_s: float
    other_per_day: float = 0.0  # pushes + the connector's own schedule + discovery
    discover_s: float | None = None  # discovery reads every listing this often too


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """The schedule chosen for one account; `describe()` is what `status` shows."""

    poll_s: float
    cycle_s: float  # one reconcile slice every cycle_s
    requests_per_cycle: int  # listing reads per slice (0: nothing to read)
    listings_per_cycle: int
    full_s: float  # every listing is read once in this long
    meets: bool  # full_s <= reconcile_s
    reconcile_s: float
    planned_per_day: float  # requests/day the plan spends, `other_per_day` included
    allowance_per_day: float
    limit: int
    share_left: float | None  # of today's budget, as last seen

    def describe(self) -> str:
        """'polling every 14 s, full reconcile every 3.2 h, 62 % of today's budget left'"""
        left = ("budget not seen yet" if self.share_left is None
                else f"{self.share_left * 100:.0f} % of today's budget left")
        return (f"polling every {self.poll_s:.0f} s, full reconcile every "
                f"{duration(self.full_s)}, {left}")

    def shortfall(self) -> str:
        """What the alert says when the budget cannot read every listing in time."""
        return (f"full reconcile every {duration(self.full_s)} at this budget "
                f"(reconcile_seconds asks for {duration(self.reconcile_s)})")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "describe": self.describe()}


def duration(seconds: float) -> str:
    """3.2 h, 45 min, 31 h, 12 d: how a person reads a period."""
    if seconds >= LONGEST_S:
        return f"> {LONGEST_S / DAY_S:.0f} d"
    if seconds >= 72 * 3600:
        return f"{seconds / DAY_S:.1f} d"
    if seconds >= 10 * 3600:
        return f"{seconds / 3600:.0f} h"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{max(1, round(seconds / 60))} min"


def allowance(d: Demand) -> float:
    """Requests/day the plan may spend: the limit less the reserve, less in proportion
    while the window holds less than the reserve."""
    full = (1 - d.reserve_share) * d.limit
    if d.remaining is None:
        return full
    floor = d.reserve_share * d.limit
    if floor <= 0:
        return full if d.remaining > 0 else 0.0
    return full * max(0.0, min(1.0, d.remaining / floor))


@dataclass(frozen=True, slots=True)
class _Slices:
    cycle_s: float
    requests: int  # per cycle
    full_s: float
    per_day: float


def slices(reads: int, period_s: float) -> _Slices:
    """The slices that read `reads` batches within `period_s`, and what they cost a day."""
    if reads <= 0:
        return _Slices(cycle_s=period_s, requests=0, full_s=0.0, per_day=0.0)
    # As few reads a cycle as keep cycles MIN_CYCLE_S apart; the cycles that need then
    # share the period evenly, so a pass ends exactly at its end (none lost to rounding).
    per_cycle = max(1, math.ceil(reads * MIN_CYCLE_S / period_s - 1e-9))
    while period_s / math.ceil(reads / per_cycle) < MIN_CYCLE_S and per_cycle < reads:
        per_cycle += 1
    cycles = math.ceil(reads / per_cycle)
    cycle = period_s / cycles
    full = cycles * cycle
    return _Slices(cycle_s=cycle, requests=per_cycle, full_s=full,
                   per_day=(per_cycle + POLL_REQUESTS) * DAY_S / cycle)


def _affordable(reads: int, budget: float, shortest_s: float) -> _Slices:
    """The shortest full period, from `shortest_s` up, whose slices cost ≤ budget a day."""
    low, high = shortest_s, LONGEST_S
    if slices(reads, high).per_day > budget:
        return slices(reads, high)
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if slices(reads, mid).per_day > budget else (low, mid)
    return slices(reads, high)


def plan(d: Demand) -> Plan:
    """The schedule for one account (see the module docstring for the order of claims)."""
    reads = math.ceil(max(0, d.listings) / max(1, d.per_request))
    allowed = allowance(d)
    spare = allowed - d.other_per_day
    slowest = POLL_REQUESTS * DAY_S / d.max_poll_s
    wanted = slices(reads, d.reconcile_s * SLACK)
    if spare - slowest >= wanted.per_day:
        chosen = wanted
        poll_budget = spare - wanted.per_day
        poll_s = min(d.max_poll_s, max(d.min_poll_s, POLL_REQUESTS * DAY_S / poll_budget))
    else:
        chosen = _affordable(reads, max(0.0, spare - slowest), d.reconcile_s * SLACK)
        poll_s = d.max_poll_s
    planned = d.other_per_day + chosen.per_day + POLL_REQUESTS * DAY_S / poll_s
    share = None if d.remaining is None or d.limit <= 0 else max(0.0, d.remaining / d.limit)
    # Discovery reads the whole catalog too: no listing waits longer than its interval.
    full = min(chosen.full_s, d.discover_s) if d.discover_s and reads else chosen.full_s
    return Plan(poll_s=poll_s, cycle_s=chosen.cycle_s, requests_per_cycle=chosen.requests,
                listings_per_cycle=chosen.requests * d.per_request, full_s=full,
                meets=full <= d.reconcile_s, reconcile_s=d.reconcile_s,
                planned_per_day=planned, allowance_per_day=allowed, limit=d.limit,
                share_left=share)
