"""`oneshop orders list|export` (issue 18.3) from a shop with history: the export's CSV,
read back with the `csv` module, holds one row per order line with the documented
header, and its totals per channel (lines, units, money, refunded units) equal the
sandboxes' own order lists; rows come in a fixed order; nothing personal is exported."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from oneshop.cli import cli
from oneshop.orderexport import HEADER
from tests.running.conftest import KINDS_HERE, START, Rig

SINCE = START - timedelta(days=6)  # inside every channel's first look-back window
UNTIL = START + timedelta(days=2)
Totals = dict[str, tuple[int, int, Decimal, int]]  # kind -> (lines, units, money, refunded)


def trade_after_takeover(rig: Rig) -> None:
    """Sales on every channel, and a refund or a cancellation where each has one."""
    for kind in KINDS_HERE:
        for sku in ("MUG", "CARD", "MUG"):
            rig.sell(kind, sku)
        rig.poll(kind)
    sandboxes: Any = rig.shop.sandboxes
    # Sold, booked, then refunded or cancelled: the booked lines must follow.
    sold = {kind: [rig.sell(kind, sku, n) for sku, n in (("MUG", 3), ("CARD", 2))]
            for kind in KINDS_HERE}
    rig.poll_all()
    if "shopify" in sandboxes:
        sandboxes["shopify"].refund(sold["shopify"][0], quantity=2, restock=False)
        sandboxes["shopify"].cancel(sold["shopify"][1])
    if "gumroad" in sandboxes:
        sandboxes["gumroad"].refund(sold["gumroad"][1])
    if "etsy" in sandboxes:
        sandboxes["etsy"].refund(sold["etsy"][0], 100_000)
        sandboxes["etsy"].cancel(sold["etsy"][1])
    for _ in range(3):
        rig.poll_all(every_s=600)


def sandbox_totals(rig: Rig) -> Totals:
    """What each marketplace itself lists for orders created in [SINCE, UNTIL)."""
    found: Totals = {}
    s: Any = rig.shop.sandboxes
    if "etsy" in s:
        lo, hi = SINCE.timestamp(), UNTIL.timestamp()
        txs = [(r, t) for r in s["etsy"].state.receipts.values() if lo <= r.created_ts < hi
               for t in r.transactions]
        found["etsy"] = (len(txs), sum(t.quantity for _, t in txs),
                         sum(Decimal(t.price_cents * t.quantity) / 100 for _, t in txs),
                         # Etsy refunds amounts: a full refund is every unit refunded.
                         sum(t.quantity for r, t in txs if r.status == "fully refunded"))
    if "shopify" in s:
        orders = [o for o in s["shopify"].state.orders.values()
                  if SINCE <= o.created_at < UNTIL]
        lines = [li for o in orders for li in o.lines]
        found["shopify"] = (len(lines), sum(li.quantity for li in lines),
                            sum(Decimal(li.unit_price) * li.quantity for li in lines),
                            sum(rl.quantity for o in orders for r in o.refunds
                                for rl in r.lines))
    if "gumroad" in s:
        sales = [x for x in s["gumroad"].world.sales.values()
                 if SINCE <= x.created_at < UNTIL]
        found["gumroad"] = (len(sales), sum(x.quantity for x in sales),
                            sum(Decimal(x.price_cents) / 100 for x in sales),
                            sum(x.quantity for x in sales if x.refunded))
    return found


def export_totals(rows: list[dict[str, str]]) -> Totals:
    found: Totals = {}
    for row in rows:
        lines, units, money, refunded = found.get(row["channel"], (0, 0, Decimal(0), 0))
        found[row["channel"]] = (lines + 1, units + int(row["quantity"]),
                                 money + Decimal(row["unit_price"]) * int(row["quantity"]),
                                 refunded + int(row["refunded_quantity"]))
    return found


def run(tmp_path: Path, rig: Rig, *args: str) -> str:
    config = tmp_path / "oneshop.toml"
    env = rig.shop.write_config(config)
    done = CliRunner().invoke(cli, ["--config", str(config), "orders", *args], env=env,
                              obj={})
    assert done.exit_code == 0, done.output
    return done.stdout


def test_the_csv_export_round_trips_and_matches_the_channels_own_order_lists(
        make_rig: Any, tmp_path: Path) -> None:
    rig: Rig = make_rig()
    trade_after_takeover(rig)
    out = tmp_path / "orders.csv"
    run(tmp_path, rig, "export", "--since", SINCE.isoformat(), "--until", UNTIL.isoformat(),
        "--format", "csv", "--output", str(out))
    with out.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == HEADER
        rows = list(reader)
    assert export_totals(rows) == sandbox_totals(rig)
    assert set(export_totals(rows)) == set(KINDS_HERE)
    keys = [(r["created_at"], r["account"], r["order_id"], r["line_id"]) for r in rows]
    assert len(set(keys)) == len(rows), "a line exported twice"
    for row in rows:
        assert row["created_at"].endswith("Z") and SINCE <= _utc(row["created_at"]) < UNTIL
        assert row["bundle_sku"] == ""
        assert Decimal(row["unit_price"]) >= 0 and "E" not in row["unit_price"]
    statuses = Counter(r["status"] for r in rows)
    assert statuses["cancelled"] >= 2 and statuses["refunded"] >= 2
    paid = {r["channel"]: r["paid_at"] for r in rows if r["status"] != "cancelled"}
    assert all(paid.values()), f"a paid order without its paid time: {paid}"


def test_rows_come_in_a_fixed_order_and_jsonl_says_the_same_as_csv(
        make_rig: Any, tmp_path: Path) -> None:
    rig: Rig = make_rig()
    trade_after_takeover(rig)
    window = ["--since", SINCE.isoformat(), "--until", UNTIL.isoformat()]
    first = run(tmp_path, rig, "export", *window, "--format", "csv")
    again = run(tmp_path, rig, "export", *window, "--format", "csv")
    assert first == again
    rows = list(csv.DictReader(first.splitlines()))
    keys = [(_utc(r["created_at"]), r["account"], r["order_id"], r["line_id"]) for r in rows]
    assert keys == sorted(keys)
    jsonl = [json.loads(line) for line in
             run(tmp_path, rig, "export", *window, "--format", "jsonl").splitlines()]
    assert jsonl == rows


def test_the_list_filters_by_channel_sku_time_and_status(make_rig: Any,
                                                         tmp_path: Path) -> None:
    rig: Rig = make_rig()
    trade_after_takeover(rig)
    everything = json.loads(run(tmp_path, rig, "list", "--limit", "0"))
    kind = KINDS_HERE[0]
    mine = json.loads(run(tmp_path, rig, "list", "--channel", kind, "--limit", "0"))
    assert mine == [r for r in everything if r["channel"] == kind] and mine
    mugs = json.loads(run(tmp_path, rig, "list", "--sku", "MUG", "--status", "refunded",
                          "--status", "partially_refunded", "--limit", "0"))
    assert mugs == [r for r in everything if r["sku"] == "MUG" and
                    r["status"] in ("refunded", "partially_refunded")] and mugs
    after = json.loads(run(tmp_path, rig, "list", "--since", START.isoformat(),
                           "--limit", "0"))
    assert after == [r for r in everything if _utc(r["created_at"]) >= START] and after
    assert len(json.loads(run(tmp_path, rig, "list", "--limit", "3"))) == 3


def test_nothing_personal_is_exported(make_rig: Any, tmp_path: Path) -> None:
    rig: Rig = make_rig()
    trade_after_takeover(rig)
    text = run(tmp_path, rig, "export", "--since", SINCE.isoformat(), "--until",
               UTC_FAR.isoformat(), "--format", "jsonl")
    s: Any = rig.shop.sandboxes
    personal = set()
    if "etsy" in s:
        personal |= {v for r in s["etsy"].state.receipts.values()
                     for v in (r.buyer_name, r.buyer_email) if v}
    if "gumroad" in s:
        personal |= {v for x in s["gumroad"].world.sales.values()
                     for v in (x.email, x.full_name) if v}
    if "shopify" in s:
        personal |= {o.email for o in s["shopify"].state.orders.values() if o.email}
    assert personal, "the sandboxes should have buyers to leak"
    assert not [p for p in personal if p in text]


UTC_FAR = datetime(2100, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("args", "expected"), [
    (["export", "--since", "2026-11-01"], "give --since and --until"),
    (["export", "--since", "yesterday", "--until", "2026-11-02"], "is not a date or time"),
    (["list", "--channel", "ebay"], "no account or channel kind 'ebay'"),
    (["list", "--since", "2026-11-02", "--until", "2026-11-01"], "--until must be after"),
])
def test_bad_options_are_refused_with_what_to_write(make_rig: Any, tmp_path: Path,
                                                    args: list[str], expected: str) -> None:
    rig: Rig = make_rig()
    config = tmp_path / "oneshop.toml"
    env = rig.shop.write_config(config)
    done = CliRunner().invoke(cli, ["--config", str(config), "orders", *args], env=env,
                              obj={})
    assert done.exit_code == 2 and expected in done.output


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
