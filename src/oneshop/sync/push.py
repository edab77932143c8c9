"""Pushing stock: plan (what each listing should show), send (one `push_stock` call per
account), apply (what each answer means for the binding), and, when a channel moved under
us, one round of recovery.

The recovery loop is in `Push.account`, in the open: a stale answer means a sale there
(pull it) or a hand edit (the reconcile folds it in). So: pull that channel, tell the
other channels what its sales took, then send again with what we now believe. Pushes made
while recovering (`may_recover=False`) do not recover in turn: under a stream of sales
every channel is often stale, and pulls nested in pulls would keep one job busy for
minutes; their channels' own polls, due within an interval, pull and push what is left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.exc import SQLAlchemyError

from oneshop.errors import AuthError, RetryableError
from oneshop.guard import BulkGuard
from oneshop.ledger import account_state, catalog, pausing, pushes, stock_models
from oneshop.ledger.db import transaction
from oneshop.sync import results
from oneshop.sync.marks import PlanMarks
from oneshop.sync.parts import Parts
from oneshop.sync.pull import Pull
from oneshop.values import StockLevel

log = structlog.get_logger("oneshop.engine")
PUSH_LOCK_WAIT_S = 2.0
RECOVERY_ROUNDS = 1  # a stale push pulls its channel and sends again at most this often


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedPush:
    """A listing to be told a quantity, logged in `pushes` under `push_id` before asking."""

    target: catalog.Target
    push_id: int

    def level(self) -> StockLevel:
        t = self.target
        return StockLevel(listing=t.listing, quantity=t.published, observed=t.observed,
                          push_id=str(self.push_id), may_activate=t.deactivated_by_us)


class Push:
    def __init__(self, parts: Parts, pull: Pull, guard: BulkGuard) -> None:
        self.parts = parts
        self.pull = pull
        self.guard = guard
        self.marks = PlanMarks()  # which SKUs a whole-account plan must look at

    def skus(self, sku_deltas: Mapping[int, int], *, may_recover: bool = True) -> int:
        """Push the SKUs' lower published quantity to every bound channel, at once.

        A channel whose quantity would go up is left for the end of its own next pull: it
        may hold a sale we have not ingested yet.
        """
        sku_ids = sorted(sku_deltas)
        return sum(self.account(name, sku_ids=sku_ids, decreases_only=True,
                                may_recover=may_recover)
                   for name in self.parts.accounts.connectors)

    def account(self, account: str, *, sku_ids: Sequence[int] | None = None,
                decreases_only: bool = False, may_recover: bool = True) -> int:
        """Bring the account's listings in step (all of them when `sku_ids` is None);
        how many pushes were sent."""
        with self.parts.accounts.hold(account, wait_s=PUSH_LOCK_WAIT_S) as owned:
            if not owned:
                # Its own job is running (here or in another instance) and ends by pushing
                # everything out of step for that account.
                log.debug("push.deferred", account=account)
                return 0
            sent, rounds = 0, RECOVERY_ROUNDS if may_recover else 0
            while True:
                planned = self.plan(account, sku_ids, decreases_only=decreases_only)
                stale = self.send(account, planned) if planned else []
                if stale is None:
                    return sent  # failed after retries: recorded, that account's own
                sent += len(planned)
                if not stale:
                    return sent
                if rounds == 0:
                    break
                rounds -= 1
                changed = self._recovery_pull(account)
                if changed is None:
                    return sent  # that channel's own job reports why it failed
                sent += self.skus(changed, may_recover=False) if changed else 0
                sku_ids, decreases_only = [t.sku_id for t in stale], False
        for t in stale:
            # Still moving after a fresh pull: a hand edit; the reconcile folds it in.
            log.warning("push.stale", account=account, sku=t.sku, listing=t.external_id)
        return sent

    def plan(self, account: str, sku_ids: Sequence[int] | None, *,
             decreases_only: bool) -> list[PlannedPush]:
        """What to send: the listings out of step, screened by the bulk guard, logged."""
        rules, scope = self.parts.accounts.rules[account], None
        with transaction(self.parts.sessions) as s:
            off_sale = pausing.off_sale(s, account, self.parts.clock())  # may end one
            gate = account_state.plan_gate(s, account)
            if gate.paused or pausing.on_vacation(s, account):
                return []
            # A made-to-order week that filled up (or a new week) changes what is wanted;
            # its `capacity` movement brings the SKU into the scope below.
            stock_models.refresh_capacity(s, self.parts.clock())
            if sku_ids is None and not decreases_only:
                scope = self.marks.scope(s, account, gate, self.parts.clock())
                sku_ids = scope.sku_ids
            todo = [] if sku_ids == [] else catalog.targets(
                s, account, reserve=rules.reserve, cap=rules.cap, sku_ids=sku_ids,
                off_sale=off_sale)
        if scope is not None:
            self.marks.planned(account, gate, scope, {t.sku_id for t in todo})
        if decreases_only:
            todo = [t for t in todo if t.observed is None or t.published < t.observed]
        if not off_sale:  # the seller's own pause is no mistake to hold back
            todo = self.guard.screen(account, todo, self.parts.clock(),
                                     full=sku_ids is None and not decreases_only)
        if not todo:
            return []
        todo += self._taken_off_sale(account, todo)
        with transaction(self.parts.sessions) as s:
            push_ids = pushes.log_pushes(s, account, todo, self.parts.clock())
        return [PlannedPush(target=t, push_id=pid)
                for t, pid in zip(todo, push_ids, strict=True)]

    def send(self, account: str, planned: Sequence[PlannedPush]
             ) -> list[catalog.Target] | None:
        """One `push_stock` call and its answers applied; the stale ones (None: failed)."""
        try:
            answers = self.parts.accounts.connectors[account].push_stock(
                [p.level() for p in planned])
        except (RetryableError, AuthError) as exc:
            # Retries are spent: the failure is that account's, not the caller's job's.
            # What was not written stays out of step and goes out after its next pull.
            with transaction(self.parts.sessions) as s:
                results.push_failed(s, account, planned, exc, self.parts.clock())
            return None
        with transaction(self.parts.sessions) as s:
            return results.apply(s, account, planned, answers, self.parts.clock())

    def _taken_off_sale(self, account: str, todo: Sequence[catalog.Target]
                        ) -> list[catalog.Target]:
        """Bindings we took off sale, sent along with an off-sale one that has stock again.

        Several bindings can share one listing (Etsy variants) and only those whose push
        deactivated it carry the flag: without one the connector cannot tell our
        deactivation from the seller's, and the listing would stay off sale for good; and
        their quantities, which Etsy could not take to 0, must be written with the
        reactivation or they go back on sale as they were.
        """
        if not any(t.published > 0 for t in todo):
            return []
        rules, ids = self.parts.accounts.rules[account], {t.binding_id for t in todo}
        with transaction(self.parts.sessions) as s:
            return [t for t in catalog.targets(s, account, reserve=rules.reserve, cap=rules.cap,
                                               only_out_of_step=False, deactivated_only=True)
                    if t.binding_id not in ids]

    def _recovery_pull(self, account: str) -> dict[int, int] | None:
        """Pull the channel a push found moved, inside whichever job pushed to it.

        Its failure is that channel's, not the caller's: a channel refusing every query
        must not fail the other accounts' jobs. Its own job fails and reports it (an
        auth failure pauses it there too). The ledger's own errors still propagate."""
        try:
            return self.pull.book_all(account).changed
        except SQLAlchemyError:
            raise
        except Exception as exc:
            log.debug("push.recovery_failed", account=account,
                      error=f"{type(exc).__name__}: {exc}")
            return None
