"""Where the ledger's ingest time goes: inside the database, per statement, or in Python.

    .venv/bin/python bench/ledger_profile.py [--lines N] [--pg URL]
        [--without-index NAME] [--without-fks]

Runs bench/ledger_ingest.py's workload (raw and ledger taking turns page by page) and
measures the time each spends inside the database:
- SQLite: time inside the sqlite3 driver's calls. The engine's connections are made
  by a sqlite3.Connection subclass whose cursors time their calls (SQLAlchemy's
  `do_connect` hook); nothing of oneshop's is patched.
- PostgreSQL: the server's own execution time of each statement, foreign-key triggers
  included, from auto_explain (loaded per session: needs a superuser, else skipped),
  plus the commit as the client waits for it. The raw side is not measured there (a
  notice per statement would slow it), only timed.
Prints microseconds per order line, per statement, and the ceiling: raw's whole time
over the ledger's database time, the best ratio any client code could reach with the
schema as it is.

--without-index NAME drops an index from the scratch database first, --without-fks the
foreign keys of order_lines and movements (SQLite: PRAGMA foreign_keys=OFF), to show
what each costs. Neither is a recommendation: the ledger ships with both.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import ledger_ingest as ingest
from sqlalchemy import Engine, event, insert, inspect, text
from sqlalchemy.engine import make_url

from oneshop.ledger import booking, history
from oneshop.ledger.db import make_engine, sessions

Clock = defaultdict[str, float]
_LABEL = re.compile(r"^\s*(INSERT INTO \w+|UPDATE \w+|DELETE FROM \w+|BEGIN\w*|"
                    r"SELECT .*? FROM (\w+))", re.IGNORECASE | re.DOTALL)


def label(sql: str) -> str:
    """A statement's kind and table, e.g. `INSERT INTO movements`, `SELECT FROM skus`."""
    found = _LABEL.match(sql)
    if found is None:
        return sql.split(None, 1)[0].upper()
    return f"SELECT FROM {found[2]}" if found[2] else " ".join(found[1].split()[:3])


class TimedCursor(sqlite3.Cursor):
    """Adds the time of each call into the driver to its connection's clock."""

    _label = "?"

    def _clock(self) -> Clock:
        clock: Clock = self.connection.clock  # type: ignore[attr-defined]
        return clock

    def execute(self, sql: str, params: Any = (), /) -> TimedCursor:
        self._label, start = label(sql), time.perf_counter()
        try:
            return super().execute(sql, params)
        finally:
            self._clock()[self._label] += time.perf_counter() - start

    def executemany(self, sql: str, params: Any, /) -> TimedCursor:
        self._label, start = label(sql), time.perf_counter()
        try:
            return super().executemany(sql, params)
        finally:
            self._clock()[self._label] += time.perf_counter() - start

    def fetchall(self) -> list[Any]:  # RETURNING rows are computed as they are fetched
        start = time.perf_counter()
        try:
            return super().fetchall()
        finally:
            self._clock()[self._label] += time.perf_counter() - start


class TimedConnection(sqlite3.Connection):
    clock: Clock

    def cursor(self, factory: Any = TimedCursor) -> Any:
        return super().cursor(factory)


def instrument(engine: Engine, clock: Clock) -> bool:
    """Route the engine's database time into `clock`; False when it cannot be measured."""
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "do_connect")
        def connect(_dialect: Any, _rec: Any, cargs: Any, cparams: Any) -> Any:
            conn = sqlite3.connect(*cargs, factory=TimedConnection, **cparams)
            conn.clock = clock
            return conn
        return True

    def notice(diag: Any) -> None:
        # "duration: 1.234 ms  plan:\nQuery Text: INSERT INTO …"
        head, _, rest = (diag.message_primary or "").partition("  plan:\nQuery Text: ")
        if head.startswith("duration: ") and rest and not rest.startswith("SELECT 1\n"):
            clock[label(rest)] += float(head.split()[1]) / 1000

    settings = ["LOAD 'auto_explain'", "SET auto_explain.log_min_duration = 0",
                "SET auto_explain.log_analyze = on", "SET auto_explain.log_timing = off",
                "SET auto_explain.log_level = notice", "SET client_min_messages = notice"]
    with engine.connect() as conn:
        try:
            for sql in settings:
                conn.exec_driver_sql(sql)
        except Exception as exc:  # not a superuser, or no auto_explain
            print(f"postgresql: server times unavailable ({type(exc).__name__}: "
                  f"{str(exc).splitlines()[0]})")
            return False
        conn.rollback()

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn: Any, _rec: Any) -> None:
        dbapi_conn.add_notice_handler(notice)
        with dbapi_conn.cursor() as cur:
            for sql in settings:
                cur.execute(sql)
        dbapi_conn.commit()

    engine.dispose()
    return True


def drop(engine: Engine, index: str | None, fks: bool) -> None:
    with engine.begin() as conn:
        if index:
            conn.execute(text(f"DROP INDEX {index}"))
        if fks and engine.dialect.name == "postgresql":
            schema = inspect(conn)
            for table in ("order_lines", "movements"):
                for fk in schema.get_foreign_keys(table):
                    conn.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {fk['name']}"))
    if fks and engine.dialect.name == "sqlite":
        event.listen(engine, "connect", lambda c, _r: c.execute("PRAGMA foreign_keys=OFF"))
        engine.dispose()


def profile(url: str, raw_url: str, lines: int, index: str | None, fks: bool) -> None:
    raw_clock: Clock = defaultdict(float)
    clock: Clock = defaultdict(float)
    engine = make_engine(url)
    raw_engine = make_engine(raw_url)
    measured = instrument(engine, clock)
    # PostgreSQL's plans arrive as notices, one per statement: the raw executemany's
    # hundreds per page would slow the raw side down, so it goes unmeasured there.
    raw_measured = engine.dialect.name == "sqlite" and instrument(raw_engine, raw_clock)
    ingest.upgrade(engine)
    drop(engine, index, fks)
    ingest.prepare(engine)
    ingest.raw_meta.create_all(raw_engine)
    factory = sessions(engine)
    clock.clear()
    raw_clock.clear()

    def raw(page: list[Any]) -> None:
        with raw_engine.connect() as conn:
            conn.begin()
            conn.execute(insert(ingest.raw_lines), ingest.raw_rows(page))
            start = time.perf_counter()
            conn.commit()
            raw_clock["COMMIT"] += time.perf_counter() - start

    def ledger(page: list[Any]) -> None:
        with factory() as s:
            s.begin()
            booking.record_orders(s, ingest.ACCOUNT, page,
                                cutoffs=history.account_cutoffs(s, ingest.ACCOUNT))
            start = time.perf_counter()
            s.commit()
            clock["COMMIT"] += time.perf_counter() - start

    raw_rate, ledger_rate = ingest.timed((raw, ledger), lines)
    engine.dispose()
    raw_engine.dispose()

    def us(seconds: float) -> float:
        return seconds / lines * 1e6

    raw_us, ledger_us = 1e6 / raw_rate, 1e6 / ledger_rate
    db_us, raw_db_us = us(sum(clock.values())), us(sum(raw_clock.values()))
    name = make_url(url).get_backend_name()
    what = "in the driver" if name == "sqlite" else "on the server"
    print(f"{name}: {lines:,} lines, µs per order line"
          + (f" (without {index})" if index else "") + (" (without FKs)" if fks else ""))
    print(f"  raw     {raw_us:6.1f}" + (f"   {what} {raw_db_us:5.1f}" if raw_measured else ""))
    if not measured:
        print(f"  ledger  {ledger_us:6.1f}   ratio {raw_us / ledger_us:.2f}")
        return
    print(f"  ledger  {ledger_us:6.1f}   {what} {db_us:5.1f}, the rest (Python, waits) "
          f"{ledger_us - db_us:.1f}   ratio {raw_us / ledger_us:.2f}")
    for key, spent in sorted(clock.items(), key=lambda kv: -kv[1]):
        print(f"    {key:28s} {us(spent):6.2f}")
    print(f"  ceiling: raw / the ledger's database time = {raw_us / db_us:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--pg", default=os.environ.get("ONESHOP_TEST_DATABASE_URL"),
                        help="a PostgreSQL URL (a scratch database is created under it)")
    parser.add_argument("--without-index", metavar="NAME")
    parser.add_argument("--without-fks", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        profile(f"sqlite:///{Path(tmp) / 'ledger.sqlite3'}",
                f"sqlite:///{Path(tmp) / 'raw.sqlite3'}", args.lines,
                args.without_index, args.without_fks)
    if args.pg:
        for url in ingest.pg_database(args.pg):
            profile(url, url, args.lines, args.without_index, args.without_fks)
    else:
        print("postgresql skipped (no --pg and no ONESHOP_TEST_DATABASE_URL)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
