"""The composition root: everything oneshop runs on is assembled here, from the config.

    open_ledger(url)  -> Ledger: the database alone (engine, sessions, token stores); what
                         read-only commands, `db upgrade` and test rigs need
    build(config)     -> App: the Ledger, every enabled account's connector, the
                         SyncEngine wired to them, and the SQLite process lock

Nothing else creates SQLAlchemy engines or sessionmakers for the ledger, or a SyncEngine.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Self

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from oneshop import lock
from oneshop.accounts import AccountRules, Accounts
from oneshop.config import AccountConfig, Config
from oneshop.engine import SyncEngine
from oneshop.ledger import batches, bundles, schema, stock_models
from oneshop.ledger import models as m
from oneshop.ledger.db import make_engine, transaction
from oneshop.ledger.ignore import ListingRules
from oneshop.ledger.lowstock import rules_from
from oneshop.ledger.stock import ensure_skus
from oneshop.protocols import Clock, Connector, ConnectorContext, Sleep
from oneshop.values import TokenPair


def utcnow() -> datetime:
    return datetime.now(UTC)


class LedgerTokenStore:
    """Rotating OAuth tokens in the ledger; each save commits before returning."""

    _thread_locks: ClassVar[dict[str, threading.Lock]] = {}

    def __init__(self, sessions: sessionmaker[Session], account: str, lock_dir: Path) -> None:
        self.sessions = sessions
        self.account = account
        self.lock_path = lock_dir / f"tokens-{account}.lock"
        self._thread_lock = self._thread_locks.setdefault(account, threading.Lock())

    def load(self) -> TokenPair | None:
        with self.sessions() as s:
            row = s.get(m.Credential, self.account)
            if row is None:
                return None
            return TokenPair(access_token=row.access_token, refresh_token=row.refresh_token,
                             expires_at=row.expires_at)

    def save(self, tokens: TokenPair) -> None:
        with transaction(self.sessions) as s:
            row = s.get(m.Credential, self.account)
            if row is None:
                row = m.Credential(account=self.account)
                s.add(row)
            row.access_token = tokens.access_token
            row.refresh_token = tokens.refresh_token
            row.expires_at = tokens.expires_at
            row.updated_at = utcnow()

    def lock(self) -> AbstractContextManager[None]:
        return self._locked()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # Threads of this process, then other processes on this host (a file lock).
        with self._thread_lock:
            fd = lock.open_private(self.lock_path)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # releases the flock


@dataclass(slots=True, kw_only=True)
class Ledger:
    """The ledger database: its SQLAlchemy engine and sessions (no connectors, no lock)."""

    db: Engine
    sessions: sessionmaker[Session]

    def token_store(self, account: str, lock_dir: Path) -> LedgerTokenStore:
        """Where `account`'s OAuth tokens live; `lock_dir` holds the refresh lock file."""
        return LedgerTokenStore(self.sessions, account, lock_dir)

    def upgrade(self) -> tuple[str | None, str]:
        """Apply pending migrations; (revision before, revision after)."""
        return schema.upgrade(self.db)

    def close(self) -> None:
        self.db.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def open_ledger(database_url: str, *, check_schema: bool = True) -> Ledger:
    """The ledger at `database_url`; SchemaOutOfDate unless its schema is current (or
    `check_schema` is off: `db upgrade`, a rig that migrates it next)."""
    db = make_engine(database_url)
    try:
        if check_schema:
            schema.require_current(db)
    except BaseException:
        db.dispose()
        raise
    return Ledger(db=db, sessions=sessionmaker(db, expire_on_commit=False))


@dataclass(slots=True, kw_only=True)
class App:
    """Everything a syncing command or the service runs on; `close()` when done."""

    config: Config
    ledger: Ledger
    accounts: Accounts
    engine: SyncEngine
    clock: Clock
    ledger_lock: Path | None = None  # this App's hold on the SQLite ledger (lock.py)

    @property
    def db(self) -> Engine:
        return self.ledger.db

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self.ledger.sessions

    def close(self) -> None:
        self.accounts.close()
        self.ledger.close()
        lock.release(self.ledger_lock)
        self.ledger_lock = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def build(config: Config, *, clock: Clock = utcnow, sleep: Sleep = time.sleep,
          transports: Mapping[str, httpx.BaseTransport] | None = None,
          read_only: bool = False, check_schema: bool = True, hold_ledger: bool = True) -> App:
    """Open the ledger, build every enabled account's connector, wire the engine.

    A syncing App holds the SQLite ledger's process lock until closed (LedgerBusy if
    another process has it); a read-only one (the dry run) writes nothing to the ledger
    and takes no lock. transports: per account, instead of the network (sandboxes)."""
    held = lock.acquire(config.database_url) if hold_ledger and not read_only else None
    try:
        ledger = open_ledger(config.database_url, check_schema=check_schema)
    except BaseException:
        lock.release(held)
        raise
    try:
        application = _build(config, ledger, clock=clock, sleep=sleep, transports=transports,
                             read_only=read_only)
    except BaseException:
        ledger.close()
        lock.release(held)
        raise
    application.ledger_lock = held
    return application


def _build(config: Config, ledger: Ledger, *, clock: Clock, sleep: Sleep,
           transports: Mapping[str, httpx.BaseTransport] | None, read_only: bool) -> App:
    if not read_only:
        apply_sku_overrides(ledger.sessions, config)
        apply_bundles(ledger.sessions, config)
    connectors: dict[str, Connector] = {}
    rules: dict[str, AccountRules] = {}
    for name, account in config.accounts.items():
        if not account.config.enabled:
            continue
        ctx = ConnectorContext(
            account=name, clock=clock, sleep=sleep,
            token_store=ledger.token_store(name, config.state_dir),
            transport=(transports or {}).get(name),
        )
        connectors[name] = account.factory.build(account.settings, ctx)
        rules[name] = AccountRules(reserve=account.config.reserve, cap=account.config.cap,
                                   hand_edit_policy=account.config.hand_edit_policy,
                                   listings=listing_rules(account.config))
    accounts = Accounts(ledger.db, connectors, rules)
    service = config.file.service
    engine = SyncEngine(ledger.sessions, accounts, clock=clock,
                        adopt_new=service.adopt_new == "first_seen",
                        bulk_guard_share=service.bulk_guard_share,
                        low_stock=rules_from(service, config.file.skus))
    return App(config=config, ledger=ledger, accounts=accounts, engine=engine, clock=clock)


def listing_rules(account: AccountConfig) -> ListingRules:
    """An account's `ignore` globs and `duplicate_skus` policy."""
    return ListingRules(ignore=tuple(account.ignore),
                        bind_all=account.duplicate_skus == "bind_all")


def apply_sku_overrides(sessions: sessionmaker[Session], config: Config) -> None:
    """Per-SKU reserve/cap from the config file, kept in the ledger for the SQL planner.

    A SKU named here but not known yet is created unknown (not adopted): an override sets
    reserve and cap, never stock, and an unknown SKU is never published."""
    overrides = config.file.skus
    with transaction(sessions) as s:
        ids = ensure_skus(s, dict.fromkeys(overrides, "")) if overrides else {}
        changed: list[dict[str, Any]] = []
        for sku in s.scalars(select(m.Sku).where(
                (m.Sku.reserve.is_not(None)) | (m.Sku.cap.is_not(None)))):
            if sku.sku not in overrides:
                changed.append(_override_change(sku, None, None))
                sku.reserve = sku.cap = None
        for name, o in overrides.items():
            row = s.get(m.Sku, ids[name])
            assert row is not None
            if (row.reserve, row.cap) != (o.reserve, o.cap):
                changed.append(_override_change(row, o.reserve, o.cap))
            row.reserve, row.cap = o.reserve, o.cap
        stock_models.apply_config(s, {name: (o.stock, o.advertise, o.capacity_per_week,
                                             o.backorder) for name, o in overrides.items()},
                                  ids, now=m.utcnow())

        if changed:  # a config change is an operator's write too (`oneshop batches`)
            with batches.operator_batch(s, f"config {config.path}", "config applied",
                                        kind=batches.CONFIG) as batch:
                for change in changed:
                    batch.note(change)


def apply_bundles(sessions: sessionmaker[Session], config: Config) -> None:
    """What each bundle is made of, from the config file, kept in the ledger for booking
    and the push plan (`ledger/bundles.py`)."""
    with transaction(sessions) as s:
        bundles.apply(s, {name: dict(o.bundle) for name, o in config.file.skus.items()
                          if o.bundle})


def _override_change(row: m.Sku, reserve: int | None, cap: int | None) -> dict[str, Any]:
    """The note of an override applied: kept by `undo` (the file would apply it again)."""
    return {"what": "sku_override", "sku": row.sku, "sku_id": row.id,
            "reserve_before": row.reserve, "cap_before": row.cap, "reserve": reserve,
            "cap": cap, "why_not": f"edit [skus.{row.sku}] in the config file"}
