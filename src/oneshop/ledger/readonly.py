"""A ledger engine that cannot write, for readers that run beside the service (the
status page).

The service's engine (`db.make_engine`) begins every SQLite transaction with BEGIN
IMMEDIATE, i.e. takes the write lock even to read: a page view would then queue behind a
page of orders being booked, and hold back the next one while it renders. This engine
begins deferred (a read snapshot, no write lock) and the database itself refuses writes:
SQLite's `query_only`, PostgreSQL's `default_transaction_read_only`. A bug that tries to
write fails loudly instead of changing the ledger.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from oneshop.ledger.db import BUSY_TIMEOUT_MS


def read_only_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite(url)
    # Repeatable read: every query of one page sees the same snapshot.
    return create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2,
                         isolation_level="REPEATABLE READ",
                         connect_args={"options": "-c default_transaction_read_only=on"})


def _sqlite(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy's begin below, not the driver's
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA query_only=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")  # deferred: a read snapshot, never the write lock

    return engine


def read_only_sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)
