"""The order list as rows with a fixed, documented header (docs/orders.md), written as
CSV or JSON lines one row at a time.

Times are UTC ISO 8601 with a `Z`; money is a decimal string with the channel's currency
(never a float); an empty cell is an unknown value (no paid time, no SKU).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TextIO

from oneshop.ledger.orderrows import LineRow

HEADER = ("channel", "account", "order_id", "line_id", "created_at", "paid_at", "status",
          "sku", "bundle_sku", "quantity", "unit_price", "currency", "refunded_quantity")
FORMATS = ("csv", "jsonl")


def utc_text(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def money_text(amount: Decimal) -> str:
    """`12.50`, never `12.5000` nor `1.25E+1`: what the ledger's 4 decimals hold, trimmed
    to the currency's usual 2 when nothing is lost."""
    two = amount.quantize(Decimal("0.01"))
    return f"{two:f}" if two == amount else f"{amount.normalize():f}"


def as_record(row: LineRow, channels: Mapping[str, str]) -> dict[str, str]:
    """One line as the documented columns, every value text."""
    return {
        "channel": channels.get(row.account, ""), "account": row.account,
        "order_id": row.order_id, "line_id": row.line_id,
        "created_at": utc_text(row.created_at), "paid_at": utc_text(row.paid_at),
        "status": row.status, "sku": row.sku or "",
        # The bundle a line was sold as, once the ledger books bundles (issue 17.1).
        "bundle_sku": "",
        "quantity": str(row.quantity), "unit_price": money_text(row.unit_price),
        "currency": row.currency, "refunded_quantity": str(row.refunded_quantity),
    }


def records(rows: Iterable[LineRow], channels: Mapping[str, str]) -> Iterator[dict[str, str]]:
    return (as_record(row, channels) for row in rows)


def write(out: TextIO, fmt: str, rows: Iterable[dict[str, str]]) -> int:
    """Write the header (CSV) and every row as it comes; how many rows."""
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=HEADER, lineterminator="\n")
        writer.writeheader()
        for record in rows:
            writer.writerow(record)
            count += 1
        return count
    for record in rows:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count
