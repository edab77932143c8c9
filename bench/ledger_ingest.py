"""Ledger ingest: order lines/s through `booking.record_orders` vs a raw Core executemany.

    .venv/bin/python bench/ledger_ingest.py [--lines N] [--pg URL]

Records N order lines (one line per order, the worst case for the ledger) in pages of
250, one transaction per page, every SKU bound to a listing as the sync engine leaves
them; and inserts the same rows with one SQLAlchemy Core executemany per page into a
bare table. Prints lines/s for both side by side, per database, and the process's peak
RSS, each against its target with PASS or FAIL: the ledger at ≥ 20,000 lines/s on SQLite
and ≥ 10,000 on PostgreSQL, peak RSS ≤ 200 MB (issue 19.5; measured at the default
1,000,000 lines). The raw rate is the machine's ceiling, printed for scale: the ledger
writes a movement and an order line and keeps on_hand cached, about half of it at best.
SQLite always; PostgreSQL too with --pg or ONESHOP_TEST_DATABASE_URL. Exits 1 on a FAIL.

The two take turns page by page and each is timed on its own pages, so a slower or
faster minute of this shared machine falls on both (run one after the other, the raw
rate alone moved by up to 2x between identical runs). On SQLite each has its own
database file, so neither pays for the other's WAL checkpoints.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    create_engine,
    event,
    insert,
    text,
)
from sqlalchemy.engine import make_url

from oneshop.ledger import booking, catalog, history, stock, takeover
from oneshop.ledger.db import make_engine, sessions, transaction
from oneshop.ledger.schema import upgrade
from oneshop.values import Listing, Order, OrderLine

PAGE = 250
SKUS = 1000
TARGET_LINES_S = {"sqlite": 20_000, "postgresql": 10_000}  # ledger order lines/s
TARGET_RSS_MB = 200
ACCOUNT = "shop"
T0 = datetime(2026, 1, 1, tzinfo=UTC)

raw_meta = MetaData()
raw_lines = Table(
    "bench_raw_lines", raw_meta,
    Column("id", Integer, primary_key=True),
    Column("account", String(100)), Column("order_external_id", String(255)),
    Column("line_external_id", String(255)), Column("sku", String(255)),
    Column("listing_external_id", String(255)), Column("quantity", Integer),
    Column("unit_price", Numeric(14, 4)), Column("currency", String(3)),
    Column("created_at", DateTime(timezone=True)),
)


def pages(lines: int) -> Iterator[list[Order]]:
    """Pages of one-line orders, generated as needed so memory stays flat."""
    for start in range(0, lines, PAGE):
        page = []
        for n in range(start, min(start + PAGE, lines)):
            at = T0 + timedelta(seconds=n)
            sku = n % SKUS
            page.append(Order(
                external_id=str(10_000_000 + n), status="open", currency="EUR",
                total=Decimal("12.50"), created_at=at, updated_at=at,
                lines=(OrderLine(external_id=str(n), sku=f"SKU-{sku:05d}",
                                 listing_external_id=f"L{sku}", quantity=1 + n % 3,
                                 unit_price=Decimal("12.50")),)))
        yield page


def raw_rows(page: list[Order]) -> list[dict[str, Any]]:
    return [{"account": ACCOUNT, "order_external_id": o.external_id,
             "line_external_id": ln.external_id, "sku": ln.sku,
             "listing_external_id": ln.listing_external_id, "quantity": ln.quantity,
             "unit_price": ln.unit_price, "currency": o.currency, "created_at": o.created_at}
            for o in page for ln in o.lines]


def prepare(engine: Engine) -> None:
    """Migrate and bind every SKU to a listing with stock."""
    upgrade(engine)
    factory = sessions(engine)
    with transaction(factory) as s:
        catalog.upsert_listings(s, ACCOUNT, [
            Listing(external_id=f"L{i}", sku=f"SKU-{i:05d}", title=f"item {i}", quantity=10**6)
            for i in range(SKUS)], T0)
        linked = catalog.auto_link(s, ACCOUNT, T0)
        assert len(linked.linked) == SKUS
        takeover.mark_taken_over(s, ACCOUNT, None, T0)  # every order booked is a sale
    if engine.dialect.name == "postgresql":
        # As autovacuum would soon after the catalog scan: planner statistics for the
        # freshly filled bindings/skus tables (without them it scans instead of probing).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE bindings, skus")


def timed(runs: Sequence[Callable[[list[Order]], None]], lines: int) -> list[float]:
    """Lines/s of each run, taking turns on every page."""
    spent = [0.0] * len(runs)
    done = 0
    for page in pages(lines):
        for i, run in enumerate(runs):
            start = time.perf_counter()
            run(page)
            spent[i] += time.perf_counter() - start
        done += len(page)
    return [done / t for t in spent]


def bench(url: str, raw_url: str, lines: int) -> bool:
    """Ingest `lines` both ways and print the rates; True when the ledger meets its target."""
    engine = make_engine(url)
    prepare(engine)
    factory = sessions(engine)
    raw_engine = engine if raw_url == url else make_engine(raw_url)
    if raw_engine is not engine:
        # Appends touch only the table's last pages: the default 2 MiB page cache, not
        # the ledger's 64 MiB, so the peak RSS printed stays the ledger's.
        event.listen(raw_engine, "connect", lambda conn, _rec: conn.execute(
            "PRAGMA cache_size=-2000"))
    raw_meta.create_all(raw_engine)

    def raw(page: list[Order]) -> None:
        with raw_engine.begin() as conn:
            conn.execute(insert(raw_lines), raw_rows(page))

    with factory() as s:  # as the engine reads it: once a pull
        cutoffs = history.account_cutoffs(s, ACCOUNT)

    def ledger(page: list[Order]) -> None:
        with transaction(factory) as s:
            booking.record_orders(s, ACCOUNT, page, cutoffs=cutoffs)

    raw_rate, ledger_rate = timed((raw, ledger), lines)
    with factory() as s:
        assert stock.recount(s) == {}, "cached on_hand differs from the movements"
    engine.dispose()
    raw_engine.dispose()
    name = make_url(url).get_backend_name()
    target = TARGET_LINES_S[name]
    ok = ledger_rate >= target
    print(f"{name:10s} lines={lines:,}  raw={raw_rate:,.0f} lines/s  "
          f"ledger={ledger_rate:,.0f} lines/s (ledger/raw {ledger_rate / raw_rate:.2f})  "
          f"target >= {target:,}: {'PASS' if ok else 'FAIL'}", flush=True)
    return ok


def pg_database(admin_url: str) -> Iterator[str]:
    name = f"oneshop_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--pg", default=os.environ.get("ONESHOP_TEST_DATABASE_URL"),
                        help="a PostgreSQL URL (a scratch database is created under it)")
    args = parser.parse_args()
    passed = []
    with tempfile.TemporaryDirectory() as tmp:
        passed.append(bench(f"sqlite:///{Path(tmp) / 'ledger.sqlite3'}",
                            f"sqlite:///{Path(tmp) / 'raw.sqlite3'}", args.lines))
    if args.pg:
        for url in pg_database(args.pg):
            passed.append(bench(url, url, args.lines))
    else:
        print("postgresql skipped (no --pg and no ONESHOP_TEST_DATABASE_URL)")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    passed.append(peak_mb <= TARGET_RSS_MB)
    print(f"peak RSS {peak_mb:,.0f} MiB  target <= {TARGET_RSS_MB} MB: "
          f"{'PASS' if passed[-1] else 'FAIL'}")
    return 0 if all(passed) else 1

if __name__ == "__main__":
    sys.exit(main())
