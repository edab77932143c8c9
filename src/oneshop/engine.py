"""The sync engine: the only place that opens transactions and commits.

Order of work (DESIGN.md 2.3): pull a channel's orders page by page (records + cursor in
one transaction); every movement that lowers a SKU's stock is pushed at once to every
other bound channel; a channel's quantity is only ever *raised* right after that
channel's own orders were pulled, so it can never be raised over a sale we have not seen.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from oneshop import alerts
from oneshop.accounts import Accounts
from oneshop.drift import ChannelRestocks, unconfirmed_push
from oneshop.errors import AuthError, RetryableError
from oneshop.guard import BulkGuard
from oneshop.ledger import catalog, store, takeover
from oneshop.ledger import models as m
from oneshop.ledger.db import transaction
from oneshop.oversell import check_oversells
from oneshop.protocols import Clock, SyncObserver
from oneshop.values import OrdersPage, PushResult, StockLevel

log = structlog.get_logger("oneshop.engine")
ORDERS = "orders"
PUSH_LOCK_WAIT_S = 2.0
PUSH_EVERY_S = 5.0  # within one pull, booked decreases wait at most this long to go out
SETTLE_ROUNDS = 4  # listing reads a takeover makes while sales keep landing between them
# A push that went through settles the listing: no stale streak, no restock to expect.
SETTLED = {"stale_pushes": 0, "stale_reconciles": 0, "restock_pending": 0}


@dataclass(slots=True, kw_only=True)
class PullSummary:
    pages: int = 0
    orders: int = 0
    new_orders: int = 0
    movements: int = 0
    rejected: int = 0
    pushed: int = 0


class SyncEngine:
    def __init__(self, db: Engine, accounts: Accounts, *, clock: Clock,
                 adopt_new: bool = True, bulk_guard_share: float = 0.25,
                 on_push: Callable[[str, int], None] | None = None,
                 observer: SyncObserver | None = None):
        self.db = db
        self.sessions: sessionmaker[Session] = sessionmaker(db, expire_on_commit=False)
        self.accounts = accounts
        self.clock = clock
        self.adopt_new = adopt_new  # `adopt_new = "first_seen"`
        self.guard = BulkGuard(self.sessions, share=bulk_guard_share)
        self.on_push = on_push
        self.observer = observer
        self._cutoffs: dict[str, store.Cutoffs] = {}  # per account, read at each pull
        self.stopping = threading.Event()
        self._recovering = _Recovering()

    # -- orders ------------------------------------------------------------------------

    def pull_orders(self, account: str) -> PullSummary:
        """Ingest new/changed orders; push decreases at once, then this channel's raises."""
        summary = PullSummary()
        changed: dict[int, int] = {}
        last_push = self.clock()
        try:
            for page in self._order_pages(account):
                _add_into(changed, self._record_page(account, page, summary))
                # Decreases go out at once, but a long pull (a backlog, a busy shop) books
                # all its pages first when they come quickly: pushing after every page made
                # the later pages, and so their sales, wait for the pushes of the earlier
                # ones, and pushed a SKU sold on several pages several times.
                if changed and (self.clock() - last_push).total_seconds() >= PUSH_EVERY_S:
                    summary.pushed += self.push_skus(changed)
                    changed, last_push = {}, self.clock()
        except Exception:
            # A later page failed, but the earlier ones are booked: their decreases go out
            # now, or the other channels sell those units until their own next pull
            # (simulation seed 123251). The failure is still this job's.
            if changed:
                self.push_skus(changed)
            raise
        if changed:
            summary.pushed += self.push_skus(changed)
        summary.pushed += self.push_account(account)
        # The job's summary line (`sync.done`) carries these numbers; this is for -v.
        log.debug("orders.pulled", account=account, pages=summary.pages, orders=summary.orders,
                 new=summary.new_orders, movements=summary.movements, pushed=summary.pushed)
        return summary

    def _order_pages(self, account: str) -> Iterator[OrdersPage]:
        """Pages from the saved cursor, until the end or until a stop was asked for."""
        with transaction(self.sessions) as s:
            cursor = store.load_cursor(s, account, ORDERS)
            # Read once a pull: it changes only at a takeover or a discovery, which
            # never run inside this account's pull.
            self._cutoffs[account] = store.account_cutoffs(s, account)
        for page in self.accounts.connectors[account].fetch_orders(cursor):
            yield page
            if self.stopping.is_set():
                return

    def _record_page(self, account: str, page: OrdersPage,
                     summary: PullSummary) -> dict[int, int]:
        if self.observer is not None:
            self.observer.page_started(account)
        now = self.clock()
        with transaction(self.sessions) as s:
            restocks = ChannelRestocks.before(s, account, page.orders)
            booked = store.record_orders(s, account, page.orders,
                                         blind_writes=self._blind_writes(account),
                                         cutoffs=self._cutoffs.get(account), now=now)
            restocks.after(s)
            alerts.reject(s, account, ORDERS, page.rejected, now)
            store.save_cursor(s, account, ORDERS, page.cursor, now)
            check_oversells(s, booked.sku_deltas, now)
            for listing_id, sku in booked.unlinked:
                alerts.raise_alert(
                    s, "unlinked_listing", "warning", "a sale is for a listing bound to no "
                    "SKU; bind it with `oneshop link`", now=now, account=account,
                    subject=f"{listing_id}:{sku}", remind=False,
                    fields={"listing": listing_id, "channel_sku": sku})
        if self.observer is not None:
            self.observer.page_booked(account)
        summary.pages += 1
        summary.orders += len(page.orders)
        summary.new_orders += booked.new_orders
        summary.movements += booked.movements
        summary.rejected += len(page.rejected)
        return booked.sku_deltas

    def _blind_writes(self, account: str) -> Callable[[str], str] | None:
        """For a connector that writes stock without compare-and-set: which listings one
        write replaces (see `StockTarget`)."""
        connector = self.accounts.connectors[account]
        return connector.write_group if connector.blind_writes else None

    # -- pushes ------------------------------------------------------------------------

    def push_skus(self, sku_deltas: Mapping[int, int]) -> int:
        """Push the SKUs' lower published quantity to every bound channel, at once.

        A channel whose quantity would go up is left for the end of its own next pull: it
        may hold a sale we have not ingested yet.
        """
        sku_ids = sorted(sku_deltas)
        return sum(self._push(account, sku_ids=sku_ids, decreases_only=True)
                   for account in self.accounts.connectors)

    def push_account(self, account: str) -> int:
        """Bring every bound listing of this account in step (raises allowed: just pulled)."""
        return self._push(account, sku_ids=None, decreases_only=False)

    def _push(self, account: str, *, sku_ids: Sequence[int] | None,
              decreases_only: bool, attempt: int = 0) -> int:
        with self.accounts.hold(account, wait_s=PUSH_LOCK_WAIT_S) as owned:
            if not owned:
                # Its own job is running (here or in another instance) and ends by pushing
                # everything out of step for that account.
                log.debug("push.deferred", account=account)
                return 0
            return self._push_owned(account, sku_ids=sku_ids, decreases_only=decreases_only,
                                    attempt=attempt)

    def _push_owned(self, account: str, *, sku_ids: Sequence[int] | None,
                    decreases_only: bool, attempt: int) -> int:
        rules = self.accounts.rules[account]
        with transaction(self.sessions) as s:
            if _paused(s, account):
                return 0
            todo = catalog.targets(s, account, reserve=rules.reserve, cap=rules.cap,
                                   sku_ids=sku_ids)
        if decreases_only:
            todo = [t for t in todo if t.observed is None or t.published < t.observed]
        todo = self.guard.screen(account, todo, self.clock(),
                                 full=sku_ids is None and not decreases_only)
        if not todo:
            return 0
        todo += self._taken_off_sale(account, todo)
        push_ids = self._log_pushes(account, todo)
        levels = [StockLevel(listing=t.listing, quantity=t.published, observed=t.observed,
                             push_id=str(pid), may_activate=t.deactivated_by_us)
                  for t, pid in zip(todo, push_ids, strict=True)]
        try:
            results = self.accounts.connectors[account].push_stock(levels)
        except (RetryableError, AuthError) as exc:
            # Retries are spent: the failure is that account's, not the caller's job's.
            # What was not written stays out of step and goes out after its next pull.
            self._push_error(account, todo, push_ids, exc)
            return 0
        stale = self._apply_results(account, todo, push_ids, results)
        if stale and attempt < 2 and not self._recovering.active:
            # The channel changed under us: a sale there (pull it) or a hand edit (the
            # reconcile folds it in). Pull, tell the other channels what its sales took,
            # then retry with what we now believe. Pushes made while recovering do not
            # recover in turn: under a stream of sales every channel is often stale, and
            # pulls nested in pulls would keep one job busy for minutes. Their channels'
            # own polls, due within an interval, pull and push what is left.
            self._recovering.active = True
            try:
                changed = self._recovery_pull(account)
                if changed is None:
                    return len(todo)  # that channel's own job reports why it failed
                pushed = self.push_skus(changed) if changed else 0
                retried = self._push_owned(account, sku_ids=[t.sku_id for t in stale],
                                           decreases_only=False, attempt=attempt + 1)
            finally:
                self._recovering.active = False
            return len(todo) + pushed + retried
        for t in stale:
            # Still moving after a fresh pull: a hand edit; the reconcile folds it in.
            log.warning("push.stale", account=account, sku=t.sku, listing=t.external_id)
        return len(todo)

    def _report_unadopted(self, account: str, skus: Sequence[str]) -> None:
        """`adopt_new = "manual"`: new SKUs wait for the seller; told once per SKU."""
        now = self.clock()
        with transaction(self.sessions) as s:
            for sku in skus:
                alerts.raise_alert(
                    s, "sku_unadopted", "warning", f"{sku} is new on {account} and not "
                    "adopted: nothing is published for it", now=now, account=account,
                    subject=sku, remind=False,
                    fields={"sku": sku, "action": f"check it, then run `oneshop adopt "
                                                  f"--from {account}`"})

    def taken_over(self, account: str) -> bool:
        with self.sessions() as s:
            return account in takeover.taken_over(s)

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
        rules, ids = self.accounts.rules[account], {t.binding_id for t in todo}
        with transaction(self.sessions) as s:
            return [t for t in catalog.targets(s, account, reserve=rules.reserve, cap=rules.cap,
                                               only_out_of_step=False, deactivated_only=True)
                    if t.binding_id not in ids]

    def _push_error(self, account: str, todo: Sequence[catalog.Target],
                    push_ids: Sequence[int], exc: Exception) -> None:
        now = self.clock()
        auth = isinstance(exc, AuthError)
        with transaction(self.sessions) as s:
            s.query(m.Push).filter(m.Push.id.in_(list(push_ids))).update(
                {"status": "failed", "detail": str(exc)[:2000], "completed_at": now})
            state = store.account_state(s, account)
            state.last_error = str(exc)[:2000]
            state.paused = state.paused or auth
            if auth:
                alerts.raise_alert(s, "auth_failed", "critical", "credentials refused; the "
                                   "account is paused until they work again", now=now,
                                   account=account, fields={"error": str(exc),
                                                            "action": alerts.advice(account)})
            else:
                # One episode per account while its pushes keep failing, not a line a try.
                alerts.raise_alert(s, "push_failed", "error", "stock could not be pushed "
                                   "after retries", now=now, account=account,
                                   fields={"skus": [t.sku for t in todo][:20],
                                           "error": str(exc)})

    def _recovery_pull(self, account: str) -> dict[int, int] | None:
        """Pull the channel a push found moved, inside whichever job pushed to it.

        Its failure is that channel's, not the caller's: a channel refusing every query
        must not fail the other accounts' jobs. Its own job fails and reports it (an
        auth failure pauses it there too). The ledger's own errors still propagate."""
        try:
            return self.pull_orders_quiet(account)
        except SQLAlchemyError:
            raise
        except Exception as exc:
            log.debug("push.recovery_failed", account=account,
                      error=f"{type(exc).__name__}: {exc}")
            return None

    def pull_booked(self, account: str) -> PullSummary:
        """Ingest orders without pushing (a takeover's reads): what was booked."""
        summary = PullSummary()
        for page in self._order_pages(account):
            self._record_page(account, page, summary)
        return summary

    def read_listings(self, account: str) -> int:
        """Read every listing fresh, link by SKU, and believe what each shows: no drift
        folding, no push (a takeover's reads)."""
        count = 0
        for page in self.accounts.connectors[account].fetch_listings():
            now = self.clock()
            with transaction(self.sessions) as s:
                seen = catalog.upsert_listings(s, account, page.listings, now)
                store.add_rejected(s, account, "listings", page.rejected)
                catalog.believe_reads(s, seen, now)
            count += len(seen)
        with transaction(self.sessions) as s:
            _report_links(s, account, catalog.auto_link(s, account, self.clock()),
                          self.clock())
        return count

    def read_settled(self, accounts: Sequence[str], counted: Sequence[str]) -> bool:
        """Orders, listings, orders again, until no order moved in between on an account
        whose counts are used: then each listing read reflects exactly the orders booked.

        A sale or a cancellation landing between the two order reads may or may not be in
        the listing read, so those listings are read again. False: still moving after
        SETTLE_ROUNDS reads (a very busy shop); the last reads are used.
        """
        for name in accounts:
            self.pull_booked(name)
        todo = list(counted)
        for _ in range(SETTLE_ROUNDS):
            for name in todo:
                self.read_listings(name)
            moved = {name for name in accounts if self.pull_booked(name).movements}
            todo = [name for name in counted if name in moved]
            if not todo:
                return True
        log.warning("takeover.unsettled", accounts=todo, rounds=SETTLE_ROUNDS)
        return False

    def join(self, account: str) -> int:
        """Take over an account added after the shop was taken over: its orders so far
        are history, SKUs nobody adopted yet are adopted from it, the rest are pushed."""
        self.read_settled([account], [account])
        now = self.clock()
        with transaction(self.sessions) as s:
            adopted = takeover.adopt_unknown(s, account, now)
            takeover.mark_taken_over(s, account, takeover.channel_time(s, account) or now, now)
        if adopted:
            log.info("skus.adopted", account=account, count=len(adopted),
                     skus=sorted(adopted)[:20], why="first seen on this channel")
        return self.push_account(account)

    def pull_orders_quiet(self, account: str) -> dict[int, int]:
        """Ingest orders without pushing (inside a push that found the channel moved);
        returns the stock changes by SKU, which the caller must push."""
        changed: dict[int, int] = {}
        for page in self._order_pages(account):
            _add_into(changed, self._record_page(account, page, PullSummary()))
        return changed

    def _log_pushes(self, account: str, todo: Sequence[catalog.Target]) -> list[int]:
        now = self.clock()
        with transaction(self.sessions) as s:
            rows = [m.Push(account=account, binding_id=t.binding_id, sku_id=t.sku_id,
                           quantity=t.published, observed_before=t.observed, created_at=now)
                    for t in todo]
            s.add_all(rows)
            # A push to 0 may take the listing off sale (Etsy). Own that before asking: if
            # the answer is lost (crash, dropped connection), the listing must still come
            # back when stock does. A definite answer sets the flag right afterwards.
            zeros = [t.binding_id for t in todo if t.published == 0 and not t.deactivated_by_us]
            if zeros:
                s.query(m.Binding).filter(m.Binding.id.in_(zeros)).update(
                    {"deactivated_by_us": True}, synchronize_session=False)
            s.flush()
            return [r.id for r in rows]

    def _apply_results(self, account: str, todo: Sequence[catalog.Target],
                       push_ids: Sequence[int], results: Sequence[PushResult]
                       ) -> list[catalog.Target]:
        now = self.clock()
        stale: list[catalog.Target] = []
        with transaction(self.sessions) as s:
            # The channel answered: an episode of pushes failing after retries is over.
            alerts.resolve(s, "push_failed", now=now, account=account)
            refused = alerts.open_subjects(s, "push_failed", account)
            held = alerts.open_subjects(s, "zero_stock_policy_applied", account)
            for t, pid, r in zip(todo, push_ids, results, strict=True):
                s.query(m.Push).filter(m.Push.id == pid).update(
                    {"status": r.status, "observed_after": r.observed,
                     "detail": r.detail[:2000], "completed_at": now})
                if r.status == "ok":
                    # What we wrote, not the read-back: a sale landing between the write
                    # and the read-back is booked by the next pull, which lowers this too.
                    catalog.set_observed(s, t.binding_id, t.published, now,
                                         pushed_qty=t.published, pushed_at=now, held_qty=None,
                                         deactivated_by_us=False, raced_qty=0, **SETTLED)
                    for event, episodes in (("push_failed", refused),
                                            ("zero_stock_policy_applied", held)):
                        if t.external_id in episodes:
                            alerts.resolve(s, event, now=now, account=account,
                                           subject=t.external_id)
                elif r.status == "policy":
                    # "…left inactive (not deactivated by oneshop)" must not read as ours.
                    deactivated = r.detail.startswith("deactivated") or (
                        t.deactivated_by_us and r.listing is not None
                        and r.listing.state != "active")
                    # The state just read too: a held listing that comes back on sale
                    # (renewed by the seller) is told from one that never left (drift.py).
                    state = {"state": r.listing.state} if r.listing is not None else {}
                    catalog.set_observed(s, t.binding_id, r.observed, now,
                                         held_qty=t.published, deactivated_by_us=deactivated,
                                         **SETTLED, **state)
                    if t.deactivated_by_us and r.detail.startswith("already off sale"):
                        continue  # sent along with a sibling variant: no news to tell
                    alerts.raise_alert(s, "zero_stock_policy_applied", "info",
                                       f"{t.sku} on {account}: {r.detail}", now=now,
                                       account=account, subject=t.external_id,
                                       sku_id=t.sku_id, remind=False,
                                       fields={"sku": t.sku, "listing": t.external_id})
                elif r.status == "stale":
                    # Our own earlier write whose answer was lost (a crash, a timeout), or
                    # a sale that raced a blind write and was not erased by it after all:
                    # believe the channel, or every compare-and-set fails from now on.
                    if r.observed is not None and unconfirmed_push(s, t.binding_id,
                                                                   r.observed, t.observed):
                        catalog.set_observed(s, t.binding_id, r.observed, now,
                                             deactivated_by_us=t.deactivated_by_us,
                                             pushed_qty=r.observed, raced_qty=0)
                    elif catalog.raced_explains(t.observed, t.raced, r.observed):
                        catalog.set_observed(s, t.binding_id, r.observed, now,
                                             deactivated_by_us=t.deactivated_by_us,
                                             raced_qty=0)
                    elif (t.restock_pending and t.observed is not None
                          and r.observed == t.observed + t.restock_pending):
                        # The channel put a cancelled sale's units back itself (Etsy may).
                        catalog.set_observed(s, t.binding_id, r.observed, now,
                                             deactivated_by_us=t.deactivated_by_us,
                                             restock_pending=0)
                    else:
                        # Counted for the reconcile: pushes that never settle (drift.py).
                        catalog.set_observed(s, t.binding_id, t.observed, now,
                                             deactivated_by_us=t.deactivated_by_us,
                                             stale_pushes=m.Binding.stale_pushes + 1)
                    stale.append(t)
                else:
                    # Refused (a listing deleted on the channel, a validation error): the
                    # same write would be refused every poll. Hold what it should show, so
                    # it goes out again only when that changes or a push of it succeeds.
                    catalog.set_observed(s, t.binding_id, t.observed, now,
                                         deactivated_by_us=t.deactivated_by_us,
                                         held_qty=t.published)
                    alerts.raise_alert(s, "push_failed", "error",
                                       f"a stock push to {t.sku} on {account} was refused",
                                       now=now, account=account, subject=t.external_id,
                                       sku_id=t.sku_id, fields={"sku": t.sku,
                                                                "listing": t.external_id,
                                                                "detail": r.detail})
                if self.on_push is not None and r.status == "ok":
                    self.on_push(account, t.published)
        return stale

    # -- catalog -----------------------------------------------------------------------

    def scan_catalog(self, account: str, *, link: bool) -> int:
        """Read every listing, a page per transaction: record it, fold in hand edits,
        then optionally auto-link by exact SKU."""
        from oneshop.drift import fold_drift

        if link and not self.taken_over(account):
            return self.join(account)
        count = 0
        edits: dict[int, int] = {}
        rules = self.accounts.rules[account]
        for page in self.accounts.connectors[account].fetch_listings():
            now = self.clock()
            with transaction(self.sessions) as s:
                seen = catalog.upsert_listings(s, account, page.listings, now)
                alerts.reject(s, account, "listings", page.rejected, now)
                adopted = fold_drift(s, account, seen, rules, now)
                # An adopted edit can take a SKU below 0 too (sales it did not know of).
                check_oversells(s, adopted, now)
                for sku_id, delta in adopted.items():
                    edits[sku_id] = edits.get(sku_id, 0) + delta
            count += len(seen)
        if link:
            with transaction(self.sessions) as s:
                linked = catalog.auto_link(s, account, self.clock(), adopt_new=self.adopt_new)
                _report_links(s, account, linked, self.clock())
            if linked.adopted:
                # A SKU listed after the takeover: its count is what this channel shows.
                log.info("skus.adopted", account=account, skus=sorted(linked.adopted)[:20],
                         count=len(linked.adopted), why="first seen on this channel")
                edits.update(dict.fromkeys(sku_ids_of(self.sessions, linked.adopted), 0))
            elif linked.created and not self.adopt_new:
                self._report_unadopted(account, linked.created)
        if edits:
            self.push_skus(edits)
        # Only decreases here: raising this channel waits for its next orders pull.
        self._push(account, sku_ids=None, decreases_only=True)
        log.debug("catalog.scanned", account=account, listings=count, edits=len(edits))
        return count


def sku_ids_of(sessions: sessionmaker[Session], skus: Mapping[str, int]) -> list[int]:
    with sessions() as s:
        return list(store.sku_ids(s, skus).values())


def _add_into(total: dict[int, int], more: Mapping[int, int]) -> None:
    for sku_id, delta in more.items():
        total[sku_id] = total.get(sku_id, 0) + delta


class _Recovering(threading.local):
    """Whether this thread is inside a stale push's recovery (pull, push, retry)."""

    active = False


def _paused(s: Session, account: str) -> bool:
    state = s.get(m.AccountState, account)
    return bool(state and state.paused)


def _report_links(s: Session, account: str, linked: catalog.Linked, now: datetime) -> None:
    for external_id in linked.no_sku:
        alerts.raise_alert(s, "unlinked_listing", "warning", "listing has no SKU; bind it "
                           "with `oneshop link`", now=now, account=account,
                           subject=external_id, remind=False, fields={"listing": external_id})
    for sku, ids in linked.duplicates.items():
        alerts.raise_alert(s, "duplicate_sku", "warning", f"SKU {sku} is on {len(ids)} "
                           "listings; none was bound", now=now, account=account,
                           subject=f"{sku}:{len(ids)}", remind=False,
                           fields={"sku": sku, "listings": ids})
