"""Order export: `oneshop orders export` streams, so its memory does not grow with the
ledger. Fills a SQLite ledger with N order lines (default 20,000 and 200,000), then runs
the export in a fresh process for each size and prints its wall time, lines per second,
the peak of Python's heap during the export (tracemalloc) and the process's peak RSS.
Target: the heap peak at the larger size within 1.2x of the smaller one. (RSS grows with
the file for another reason: SQLite's page cache, up to 64 MB per connection (ledger/
db.py), fills with the pages read. tracemalloc slows the export several times over: the
speed printed is not the export's own.)

    .venv/bin/python bench/order_export.py [--lines 20000 200000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert

from oneshop.app import open_ledger
from oneshop.ledger import models as m

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LINES_PER_ORDER = 2
CHUNK = 5000
EXPORT = """
import resource, sys, tracemalloc
from datetime import UTC, datetime
from oneshop.app import open_ledger
from oneshop.ledger.orderrows import OrderFilter, order_lines
from oneshop import orderexport
with open_ledger(sys.argv[1]) as ledger, ledger.sessions() as s, open(sys.argv[2], "w") as out:
    tracemalloc.start()
    rows = order_lines(s, OrderFilter(since=datetime(2000, 1, 1, tzinfo=UTC),
                                      until=datetime(2100, 1, 1, tzinfo=UTC)))
    n = orderexport.write(out, "csv", orderexport.records(rows, {"etsy": "etsy"}))
    heap = tracemalloc.get_traced_memory()[1] / 1e6
print(n, heap, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def fill(url: str, lines: int) -> None:
    with open_ledger(url, check_schema=False) as ledger:
        ledger.upgrade()
        orders = lines // LINES_PER_ORDER
        with ledger.sessions.begin() as s:
            for start in range(0, orders, CHUNK):
                ids = range(start, min(orders, start + CHUNK))
                s.execute(insert(m.Order), [
                    {"id": i + 1, "account": "etsy", "external_id": str(1_000_000 + i),
                     "status": "closed", "currency": "EUR", "total": Decimal("36.00"),
                     "created_at": T0 + timedelta(minutes=i), "updated_at": T0,
                     "recorded_at": T0, "paid_at": T0 + timedelta(minutes=i)} for i in ids])
                s.execute(insert(m.OrderLine), [
                    {"order_id": i + 1, "external_id": f"{i}-{k}", "sku": f"SKU-{i % 500}",
                     "quantity": 1 + k, "unit_price": Decimal("12.00"),
                     "refunded_quantity": 0} for i in ids for k in range(LINES_PER_ORDER)])


def export(url: str, out: Path) -> tuple[int, float, float, float]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", EXPORT, url, str(out)], check=True,
                          capture_output=True, text=True)
    count, heap, rss = done.stdout.split()
    return int(count), time.perf_counter() - started, float(heap), float(rss)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, nargs="+", default=[20_000, 200_000])
    args = ap.parse_args()
    peaks = []
    with tempfile.TemporaryDirectory() as tmp:
        for lines in args.lines:
            url = f"sqlite:///{Path(tmp) / f'ledger-{lines}.sqlite3'}"
            fill(url, lines)
            count, wall_s, heap_mb, rss_mb = export(url, Path(tmp) / f"orders-{lines}.csv")
            peaks.append(heap_mb)
            print(f"lines={count} export_s={wall_s:.2f} lines_per_s={count / wall_s:,.0f} "
                  f"heap_peak_mb={heap_mb:.1f} peak_rss_mb={rss_mb:.1f}")
    ratio = peaks[-1] / peaks[0]
    print(f"heap peak {args.lines[-1]:,} vs {args.lines[0]:,} lines: {ratio:.2f}x "
          "(target <= 1.2)")
    sys.exit(0 if ratio <= 1.2 else 1)


if __name__ == "__main__":
    main()
