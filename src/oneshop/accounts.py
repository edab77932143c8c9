"""Accounts at run time: their connectors, rules, and the lock that makes one account
synced by one thread of one instance at a time.

The lock is a re-entrant thread lock plus, on PostgreSQL, a session advisory lock held
on a dedicated connection, so several instances sharing a database never sync the same
account at once, and a crashed instance's accounts are free again as soon as its
connection drops. Acquisition only ever *tries* (with a short bounded wait), so two jobs
pushing into each other's accounts can never deadlock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text

from oneshop.ledger.ignore import ListingRules
from oneshop.protocols import Connector


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountRules:
    reserve: int = 0
    cap: int | None = None
    hand_edit_policy: str = "adopt"
    # `ignore` globs, `duplicate_skus`
    listings: ListingRules = field(default_factory=ListingRules)


class Accounts:
    def __init__(self, db: Engine, connectors: dict[str, Connector],
                 rules: dict[str, AccountRules]) -> None:
        self.db = db
        self.connectors = connectors
        self.rules = rules
        self._locks = {name: threading.RLock() for name in connectors}
        self._depth: dict[str, int] = dict.fromkeys(connectors, 0)
        self._pg: dict[str, Connection] = {}
        self._postgres = db.dialect.name == "postgresql"
        # Set when the service stops: a job waiting for its account gives up at once
        # instead of holding the stop for its whole wait (up to POLL_LOCK_WAIT_S).
        self.stopping = threading.Event()

    @contextmanager
    def hold(self, account: str, *, wait_s: float = 0.0) -> Iterator[bool]:
        """Yield True while this thread owns `account` (False if it stayed busy)."""
        lock = self._locks[account]
        if not self._acquire(lock, wait_s):
            yield False
            return
        try:
            if self._depth[account] == 0 and self._postgres and not self._pg_lock(account,
                                                                                   wait_s):
                yield False
                return
            self._depth[account] += 1
            try:
                yield True
            finally:
                self._depth[account] -= 1
                if self._depth[account] == 0:
                    self._pg_unlock(account)
        finally:
            lock.release()

    def _acquire(self, lock: threading.RLock, wait_s: float) -> bool:
        deadline = time.monotonic() + wait_s
        while not lock.acquire(timeout=min(0.2, max(0.0, deadline - time.monotonic()))):
            if self.stopping.is_set() or time.monotonic() >= deadline:
                return False
        return True

    def _pg_lock(self, account: str, wait_s: float) -> bool:
        conn = self.db.connect()
        deadline = time.monotonic() + wait_s
        while True:
            got = conn.execute(text("SELECT pg_try_advisory_lock(hashtext(:k))"),
                               {"k": f"oneshop:{account}"}).scalar()
            conn.commit()
            if got:
                self._pg[account] = conn
                return True
            if time.monotonic() >= deadline or self.stopping.is_set():
                conn.close()
                return False
            time.sleep(0.05)

    def _pg_unlock(self, account: str) -> None:
        conn = self._pg.pop(account, None)
        if conn is not None:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(hashtext(:k))"),
                             {"k": f"oneshop:{account}"})
                conn.commit()
            finally:
                conn.close()

    def close(self) -> None:
        for connector in self.connectors.values():
            connector.close()
