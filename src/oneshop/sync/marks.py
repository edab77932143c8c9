"""Which SKUs an account's push plan must look at: an idle cycle must not read every
listing of a 100,000-SKU catalog (issue 19.4: about 2 µs a binding, 65 ms an account).

A listing falls out of step with what it should show only through
- a movement of its SKU (a sale, a cancellation, an adjustment, an adopted count),
- an answer to a push to it (stale, refused, held; from this process or another),
- a read of it (a reconcile, a rolling reconcile's slice, the join of a new account),
- an operator change with no movement (link, unlink, release, resume:
  `account_state.request_full_plan`), a paused account, a held guard, a config reload.
So after one whole-account plan, the next need only look at the SKUs of movements and
pushes with ids past that plan's marks, plus the SKUs it found out of step (they may
still be) and those a slice read; a whole read, an operator change, a held guard and a
new process start over with a whole-account plan, and so does every `FULL_PLAN_S`, as a
net for what this list misses.

On PostgreSQL ids are handed out before commit, so a row can become visible after
rows with higher ids: the marks used are those of a plan at least `COMMIT_LAG_S` old,
so the last minute of rows is always looked at again (a few rows when idle).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oneshop.ledger import models as m
from oneshop.ledger.account_state import PlanGate

FULL_PLAN_S = 3600.0  # a whole-account plan at least this often (a reconcile does one too)
COMMIT_LAG_S = 60.0  # rows become visible within this long of taking their ids
MAX_CANDIDATES = 5_000  # more SKUs than this: a whole-account plan is cheaper


@dataclass(slots=True)
class _Account:
    full_at: datetime | None = None
    epoch: int = -1
    # (when, last movement id, last push id) at each plan, oldest first.
    marks: deque[tuple[datetime, int, int]] = field(default_factory=deque)
    carry: set[int] = field(default_factory=set)  # SKUs the last plan found out of step


@dataclass(frozen=True, slots=True)
class Scope:
    """What one plan reads: every listing (sku_ids None) or the listings of these SKUs."""

    sku_ids: list[int] | None
    mark: tuple[datetime, int, int]


class PlanMarks:
    def __init__(self) -> None:
        self._accounts: dict[str, _Account] = {}
        self._lock = threading.Lock()

    def forget(self, account: str) -> None:
        """The account's listings were read: its next plan reads them all."""
        with self._lock:
            self._accounts.pop(account, None)

    def touch(self, account: str, sku_ids: set[int]) -> None:
        """Some of the account's listings were read (a rolling reconcile's slice): their
        SKUs are looked at by the next plan, whatever the marks say."""
        with self._lock:
            st = self._accounts.get(account)
            if st is not None:
                st.carry |= sku_ids

    def scope(self, session: Session, account: str, gate: PlanGate, now: datetime) -> Scope:
        """What the account's next whole-account push must look at."""
        mark = (now, _last_id(session, m.Movement.id), _last_id(session, m.Push.id))
        with self._lock:
            st = self._accounts.setdefault(account, _Account())
            full = (gate.held or gate.epoch != st.epoch or st.full_at is None
                    or (now - st.full_at).total_seconds() >= FULL_PLAN_S or not st.marks)
            if full:
                return Scope(sku_ids=None, mark=mark)
            since = _lagged(st.marks, now)
            carry = set(st.carry)
        skus = carry | set(session.scalars(
            select(m.Movement.sku_id).where(m.Movement.id > since[1]).distinct()))
        skus |= set(session.scalars(select(m.Push.sku_id).where(
            m.Push.id > since[2], m.Push.account == account).distinct()))
        if len(skus) > MAX_CANDIDATES:
            return Scope(sku_ids=None, mark=mark)
        return Scope(sku_ids=sorted(skus), mark=mark)

    def planned(self, account: str, gate: PlanGate, scope: Scope, out_of_step: set[int]
                ) -> None:
        """A plan of `scope` found these SKUs out of step (before any screening)."""
        now = scope.mark[0]
        with self._lock:
            st = self._accounts.setdefault(account, _Account())
            if scope.sku_ids is None:
                st.full_at, st.epoch = now, gate.epoch
            st.marks.append(scope.mark)
            while len(st.marks) > 1 and (now - st.marks[1][0]).total_seconds() >= COMMIT_LAG_S:
                st.marks.popleft()  # the newest mark old enough stays first
            st.carry = out_of_step


def _lagged(marks: deque[tuple[datetime, int, int]], now: datetime) -> tuple[datetime, int, int]:
    """The newest mark at least COMMIT_LAG_S old (else the oldest kept)."""
    lag = timedelta(seconds=COMMIT_LAG_S)
    best = marks[0]
    for mark in marks:
        if now - mark[0] >= lag:
            best = mark
    return best


def _last_id(session: Session, column: object) -> int:
    return int(session.scalar(select(func.max(column))) or 0)
