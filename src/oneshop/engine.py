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
from sqlalchemy.orm import Session, sessionmaker

from oneshop.accounts import Accounts
from oneshop.drift import ChannelRestocks, unconfirmed_push
from oneshop.errors import AuthError, RetryableError
from oneshop.ledger import catalog, store
from oneshop.ledger import models as m
from oneshop.ledger.db import transaction
from oneshop.logs import alert
from oneshop.oversell import check_oversells
from oneshop.protocols import Clock
from oneshop.values import OrdersPage, PushResult, StockLevel

log = structlog.get_logger("oneshop.engine")
ORDERS = "orders"
PUSH_LOCK_WAIT_S = 2.0
PUSH_EVERY_S = 5.0  # within one pull, booked decreases wait at most this long to go out
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
                 dry_run: bool = False, on_push: Callable[[str, int], None] | None = None):
        self.db = db
        self.sessions: sessionmaker[Session] = sessionmaker(db, expire_on_commit=False)
        self.accounts = accounts
        self.clock = clock
        self.dry_run = dry_run
        self.planned: list[tuple[str, str, str, int | None, int]] = []  # dry-run output
        self.on_push = on_push
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
        log.info("orders.pulled", account=account, pages=summary.pages, orders=summary.orders,
                 new=summary.new_orders, movements=summary.movements, pushed=summary.pushed)
        return summary

    def _order_pages(self, account: str) -> Iterator[OrdersPage]:
        """Pages from the saved cursor, until the end or until a stop was asked for."""
        with transaction(self.sessions) as s:
            cursor = store.load_cursor(s, account, ORDERS)
        for page in self.accounts.connectors[account].fetch_orders(cursor):
            yield page
            if self.stopping.is_set():
                return

    def _record_page(self, account: str, page: OrdersPage,
                     summary: PullSummary) -> dict[int, int]:
        now = self.clock()
        with transaction(self.sessions) as s:
            restocks = ChannelRestocks.before(s, account, page.orders)
            booked = store.record_orders(s, account, page.orders,
                                         blind_writes=self._blind_writes(account))
            restocks.after(s)
            store.add_rejected(s, account, ORDERS, page.rejected)
            store.save_cursor(s, account, ORDERS, page.cursor, now)
            oversells = check_oversells(s, booked.sku_deltas, now)
            unlinked = [(listing_id, sku) for listing_id, sku in booked.unlinked
                        if store.add_alert(
                            s, event="unlinked_listing", severity="warning", now=now,
                            account=account,
                            message=f"a sale on {account} is for a listing bound to no SKU",
                            dedupe_key=f"unlinked:{account}:{listing_id}:{sku}",
                            fields={"listing": listing_id, "channel_sku": sku})]
        for fields in oversells:
            alert("oversell", "critical", "a SKU sold more units than there were", **fields)
        for listing_id, sku in unlinked:
            alert("unlinked_listing", "warning", "a sale is for a listing bound to no SKU; "
                  "bind it with `oneshop link`", account=account, listing=listing_id,
                  channel_sku=sku)
        summary.pages += 1
        summary.orders += len(page.orders)
        summary.new_orders += booked.new_orders
        summary.movements += booked.movements
        summary.rejected += len(page.rejected)
        for rejected in page.rejected:
            alert("rejected_record", "warning", "a record could not be read and was kept aside",
                  account=account, external_id=rejected.external_id, reason=rejected.reason)
        return booked.sku_deltas

    def _blind_writes(self, account: str) -> Callable[[str], str] | None:
        """For a connector that writes stock without compare-and-set: which listings one
        write replaces (see `StockTarget`)."""
        connector = self.accounts.connectors[account]
        if not getattr(connector, "blind_writes", False):
            return None
        group: Callable[[str], str] = getattr(connector, "write_group", lambda ext: ext)
        return group

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
        if not todo:
            return 0
        todo += self._taken_off_sale(account, todo)
        if self.dry_run:
            self.planned += [(account, t.sku, t.external_id, t.observed, t.published)
                             for t in todo]
            return 0
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
                changed = self.pull_orders_quiet(account)
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
            alert("auth_failed", "critical", "credentials refused while pushing stock; the "
                  "account is paused until re-authorised", account=account, error=str(exc))
        else:
            alert("push_failed", "error", "stock could not be pushed after retries",
                  account=account, skus=[t.sku for t in todo][:20], error=str(exc))

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
                    store.add_alert(s, event="zero_stock_policy_applied", severity="info",
                                    account=account, now=now, sku_id=t.sku_id,
                                    message=f"{t.sku} on {account}: {r.detail}",
                                    fields={"sku": t.sku, "listing": t.external_id})
                    alert("zero_stock_policy_applied", "info", r.detail, account=account,
                          sku=t.sku, listing=t.external_id)
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
                    catalog.set_observed(s, t.binding_id, t.observed, now,
                                         deactivated_by_us=t.deactivated_by_us)
                    store.add_alert(s, event="push_failed", severity="error", account=account,
                                    now=now, sku_id=t.sku_id, message=r.detail,
                                    fields={"sku": t.sku, "listing": t.external_id})
                    alert("push_failed", "error", "a stock push was refused", account=account,
                          sku=t.sku, listing=t.external_id, detail=r.detail)
                if self.on_push is not None and r.status == "ok":
                    self.on_push(account, t.published)
        return stale

    # -- catalog -----------------------------------------------------------------------

    def scan_catalog(self, account: str, *, link: bool) -> int:
        """Read every listing, a page per transaction: record it, fold in hand edits,
        then optionally auto-link by exact SKU."""
        from oneshop.drift import fold_drift

        count = 0
        edits: dict[int, int] = {}
        rules = self.accounts.rules[account]
        for page in self.accounts.connectors[account].fetch_listings():
            now = self.clock()
            with transaction(self.sessions) as s:
                seen = catalog.upsert_listings(s, account, page.listings, now)
                store.add_rejected(s, account, "listings", page.rejected)
                adopted = fold_drift(s, account, seen, rules, now)
                # An adopted edit can take a SKU below 0 too (sales it did not know of).
                oversells = check_oversells(s, adopted, now)
                for sku_id, delta in adopted.items():
                    edits[sku_id] = edits.get(sku_id, 0) + delta
            for fields in oversells:
                alert("oversell", "critical", "a SKU sold more units than there were", **fields)
            count += len(seen)
        if link:
            with transaction(self.sessions) as s:
                _report_links(s, account, catalog.auto_link(s, account, self.clock()),
                              self.clock())
        if edits:
            self.push_skus(edits)
        # Only decreases here: raising this channel waits for its next orders pull.
        self._push(account, sku_ids=None, decreases_only=True)
        log.info("catalog.scanned", account=account, listings=count, edits=len(edits))
        return count


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
        if store.add_alert(s, event="unlinked_listing", severity="warning", account=account,
                           now=now, dedupe_key=f"nosku:{account}:{external_id}",
                           message="listing has no SKU; bind it with `oneshop link`",
                           fields={"listing": external_id}):
            alert("unlinked_listing", "warning", "listing has no SKU; bind it with `oneshop link`",
                  account=account, listing=external_id)
    for sku, ids in linked.duplicates.items():
        if store.add_alert(s, event="duplicate_sku", severity="warning", account=account,
                           now=now, dedupe_key=f"dup:{account}:{sku}:{len(ids)}",
                           message=f"SKU {sku} is on {len(ids)} listings; none was bound",
                           fields={"sku": sku, "listings": ids}):
            alert("duplicate_sku", "warning", "SKU used by several listings; none was bound",
                  account=account, sku=sku, listings=ids)
