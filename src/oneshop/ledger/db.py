"""Engines and transactions: SQLite (WAL, BEGIN IMMEDIATE) by default, PostgreSQL by URL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from oneshop.lock import ledger_file, open_private

BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str) -> Engine:
    """An engine for the ledger; SQLite gets WAL, a busy timeout and write-locking BEGINs."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _sqlite_engine(url: str) -> Engine:
    ledger = ledger_file(url)
    if ledger is not None:
        _private_ledger(ledger)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        # 64 MiB page cache (default 2 MiB): the ledger's unique indexes outgrow the default
        # within a few hundred thousand order lines and every insert then misses it.
        cur.execute("PRAGMA cache_size=-65536")
        cur.execute("PRAGMA temp_store=MEMORY")
        # Checkpoint every 10,000 pages (40 MiB of WAL) instead of 1,000: a page of orders
        # dirties a few hundred index pages (one per SKU sold, in the per-SKU movements
        # index), so the default checkpointed every few commits and wrote the same pages
        # back again and again. Measured on bench/ledger_ingest.py: ledger +15%.
        cur.execute("PRAGMA wal_autocheckpoint=10000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Read-then-write inside a deferred transaction loses updates (or deadlocks on
        # upgrade); take the write lock up front.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _private_ledger(ledger: Path) -> None:
    """Create the ledger file 0600 before SQLite does (it would use 0644 minus the umask):
    Etsy's OAuth tokens live in it. SQLite gives its -wal and -shm files the database
    file's mode, so they follow. An older, wider ledger of ours is narrowed too.

    An existing ledger is never opened here: closing any descriptor of a file drops every
    POSIX lock this process holds on it, SQLite's included (a second engine in a process
    whose first one is in use, as a reload makes, then saw "disk I/O error")."""
    if not ledger.exists():
        try:
            os.close(open_private(ledger, os.O_RDONLY))
        except OSError:
            return  # SQLite says what is wrong when it opens it (see describe_error)
    for path in (ledger, Path(f"{ledger}-wal"), Path(f"{ledger}-shm")):
        try:
            info = path.stat()
            if info.st_mode & 0o077 and info.st_uid == os.geteuid():
                path.chmod(info.st_mode & 0o700)
        except OSError:
            continue  # absent, or not ours to change (root reading the service's ledger)


def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One write transaction: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


# Causes a person can act on, by a piece of the driver's message (lower case): what to do.
_ADVICE = (
    ("database is locked", "another process held its write lock longer than the "
     f"{BUSY_TIMEOUT_MS // 1000} s busy timeout; is a second oneshop or a backup writing to "
     "it? Try again when it is done"),
    ("readonly database", "the ledger file or its directory is read-only: check the mount, "
     "the file's owner and mode, and `lsattr` (chattr +i)"),
    ("disk is full", "the disk is full: free space where the ledger lives"),
    ("no space left", "the disk is full: free space where the ledger lives"),
    ("unable to open database file", "check that the ledger's directory exists and that "
     "this user may write there"),
    ("disk i/o error", "the disk failed a read or write: check it and the kernel log"),
    ("not a database", "the file is not a oneshop ledger or is damaged: restore a backup"),
    ("malformed", "the ledger file is damaged: restore a backup"),
    ("no such table", "the ledger has no oneshop tables: run `oneshop db upgrade`"),
    ("password authentication failed", "PostgreSQL refused the login: check the user and "
     "password (or the pg_service file)"),
    ("does not exist", "create it, then run `oneshop db upgrade`"),
    ("connection refused", "PostgreSQL does not answer: check that it runs and that the "
     "host and port are right"),
    ("could not connect", "PostgreSQL does not answer: check that it runs and that the "
     "host and port are right"),
    ("timeout expired", "PostgreSQL does not answer: check the network and the host"),
    ("could not translate host name", "the database host name does not resolve: check it"),
)


def describe_error(exc: BaseException, url: str | None) -> str:
    """A database failure as one line: what failed, which database (password masked) and
    what to do — never SQLAlchemy's text with its SQL and its link."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(cause).strip().splitlines() or [type(cause).__name__]
    reason = lines[0].split(" (Background on this error", 1)[0].strip().rstrip(".")
    where = "(unknown URL)"
    if url:
        try:
            parsed = make_url(url)
            where = parsed.render_as_string(hide_password=True)
            if parsed.password:
                reason = reason.replace(str(parsed.password), "***")
        except Exception:
            where = "(an unparsable URL)"
    lowered = reason.lower()
    advice = next((what for key, what in _ADVICE if key in lowered),
                  "check the database, then try again (-v shows the details)")
    return f"the ledger database {where} failed: {reason}; {advice}"
