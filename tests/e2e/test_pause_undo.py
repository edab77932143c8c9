"""`oneshop pause` / `resume` and `oneshop batches` / `undo`, through the real CLI, on a
shop with history: sales, a cancellation with restock, a refund, a hand edit and a listing
the seller deactivated on Etsy, all before the takeover, and sales after it.

Counted at the sandboxes' own boundary: what each listing shows, its Etsy state, and the
ledger's movements and batches."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from oneshop.ledger import models as m
from oneshop.ledger.db import make_engine
from oneshop.testing.shop import SandboxShop, wait_for

pytestmark = pytest.mark.e2e
KINDS = ("etsy", "shopify", "gumroad")
START = {"MUG": 12, "PRINT": 8, "CARD": 5}


@dataclass
class Shop:
    shop: SandboxShop
    config: Path
    env: dict[str, str]
    ids: dict[str, dict[str, str]]

    def cmd(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "oneshop.cli", "--config", str(self.config), *args]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.cmd(*args), capture_output=True, text=True, env=self.env,
                              timeout=180)

    def ok(self, *args: str) -> Any:
        done = self.cli(*args)
        assert done.returncode == 0, f"{args}: {done.stderr}\n{done.stdout}"
        return json.loads(done.stdout) if done.stdout.startswith(("[", "{")) else done.stdout

    def shows(self) -> dict[tuple[str, str], int | None]:
        """What a buyer can buy of each listing (an Etsy listing off sale: nothing)."""
        etsy: Any = self.shop.sandboxes["etsy"]
        return {(sku, k): 0 if k == "etsy" and etsy.listing_state(i) != "active"
                else self.shop.sandboxes[k].quantity(i)
                for sku, by in self.ids.items() for k, i in by.items()}

    def etsy_states(self) -> dict[str, str]:
        etsy: Any = self.shop.sandboxes["etsy"]
        return {sku: etsy.listing_state(by["etsy"]) for sku, by in self.ids.items()}

    def query(self, stmt: Any) -> Any:
        engine = make_engine(self.shop.database_url or "")
        try:
            with engine.connect() as conn:
                return conn.execute(stmt).all()
        finally:
            engine.dispose()

    def on_hand(self) -> dict[str, int]:
        return dict(self.query(select(m.Sku.sku, m.Sku.on_hand)))

    def count(self, model: Any, *where: Any) -> int:
        return int(self.query(select(func.count()).select_from(model).where(*where))[0][0])


@pytest.fixture
def shop(tmp_path: Path, database_url: str) -> Iterator[Shop]:
    sandboxes = SandboxShop(state_dir=tmp_path / "state", serve_http=True,
                            database_url=database_url,
                            settings_overrides={"gumroad": {"requests_per_second": 50.0}},
                            account_options={"reconcile_seconds": 3600})
    ids = {sku: sandboxes.seed(sku, qty) for sku, qty in START.items()}
    _history(sandboxes, ids)
    sandboxes.prepare_ledger(take_over=True)
    config = tmp_path / "oneshop.toml"
    env = {**os.environ, **sandboxes.write_config(config, poll_seconds=1.0)}
    s = Shop(shop=sandboxes, config=config, env=env, ids=ids)
    s.ok("sync", "--once")  # every channel at the adopted counts
    for kind in KINDS:  # sales after the takeover
        sandboxes.sandboxes[kind].sell(ids["MUG"][kind], 1)
    s.ok("sync", "--once")
    yield s
    sandboxes.close()


def _history(shop: SandboxShop, ids: dict[str, dict[str, str]]) -> None:
    for n, kind in enumerate(KINDS):
        box: Any = shop.sandboxes[kind]
        for step in range(4):
            order = box.sell(ids[("MUG", "PRINT")[(step + n) % 2]][kind], 1)
            if step == 2:
                box.cancel(order, restock=True)
        box.hand_edit(ids["PRINT"][kind], 7)
    shop.sandboxes["shopify"].refund(shop.sandboxes["shopify"].sell(ids["CARD"]["shopify"], 1))
    etsy: Any = shop.sandboxes["etsy"]
    etsy.set_listing_state(ids["CARD"]["etsy"], "inactive")  # the seller's choice


def _expected(s: Shop) -> dict[tuple[str, str], int | None]:
    """What a buyer can buy of every listing in step: the ledger's count (Etsy CARD:
    nothing, off sale by the seller's choice)."""
    on_hand = s.on_hand()
    return {(sku, k): 0 if (sku, k) == ("CARD", "etsy") else on_hand[sku]
            for sku in START for k in KINDS}


def test_pause_takes_exactly_the_listings_on_sale_off_and_resume_puts_them_back(
        shop: Shop) -> None:
    s = shop
    assert s.shows() == _expected(s)
    states = s.etsy_states()
    assert states == {"MUG": "active", "PRINT": "active", "CARD": "inactive"}
    # A sale made before the pause took effect, not pulled yet: it must count.
    s.shop.sandboxes["etsy"].sell(s.ids["PRINT"]["etsy"], 2)
    sold_before = s.shop.sandboxes["shopify"].sell(s.ids["MUG"]["shopify"], 1)
    print_before = s.on_hand()["PRINT"]
    until = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%MZ")
    out = s.ok("pause", "--all", "--until", until, "--reason", "vacation")
    assert [o["account"] for o in out] == list(KINDS) and all(o["changed"] for o in out)
    assert all(o["left"] == 0 for o in out), out
    assert s.on_hand()["PRINT"] == print_before - 2
    assert set(s.shows().values()) == {0}
    assert s.etsy_states() == {"MUG": "inactive", "PRINT": "inactive", "CARD": "inactive"}
    status = s.ok("status", "--json")
    paused = {c["account"]: c for c in status["channels"]}
    assert all(c["pause"].startswith("paused by the seller until") and "(vacation)" in
               c["pause"] for c in paused.values()), paused
    assert paused["etsy"]["pause_until"].startswith(until[:13])

    # Paused: orders are still pulled and booked; nothing goes back on sale.
    shopify = s.shop.sandboxes["shopify"]
    shopify.cancel(sold_before, restock=True)
    mug = s.on_hand()["MUG"]
    s.ok("sync", "--once")
    assert s.on_hand()["MUG"] == mug + 1
    assert set(s.shows().values()) == {0}
    again = s.ok("pause", "--all", "--until", until, "--reason", "vacation")
    assert not any(o["changed"] for o in again), "an unchanged pause is no new batch"
    assert s.count(m.OperatorBatch, m.OperatorBatch.kind == "pause") == 1

    out = s.ok("resume", "--all", "--reason", "back")
    assert all(o["ended"] == ["paused by the seller"] for o in out), out
    assert s.shows() == _expected(s)
    assert s.etsy_states() == states, "the seller's inactive CARD must stay off"
    assert s.count(m.OperatorBatch, m.OperatorBatch.kind == "resume") == 1
    assert s.count(m.Movement, m.Movement.kind == "channel_edit") == 0


def test_a_pause_and_a_resume_killed_half_way_are_finished_by_running_them_again(
        shop: Shop) -> None:
    s = shop
    states, before = s.etsy_states(), s.shows()
    gumroad: Any = s.shop.sandboxes["gumroad"]

    def killed_during(*args: str) -> None:
        # Gumroad is pushed last: hang its requests, kill -9 once the others are done.
        gumroad.faults.slow_next(1000, 30.0)
        proc = subprocess.Popen(s.cmd(*args), env=s.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: gumroad.requests > 0 and proc.poll() is None, 60,
                     "the command reaching Gumroad")
            time.sleep(0.5)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            gumroad.faults.clear()

    gumroad.requests = 0
    killed_during("pause", "--all")
    assert {v for (sku, k), v in s.shows().items() if k == "gumroad"} != {0}
    assert {v for (sku, k), v in s.shows().items() if k != "gumroad"} == {0}
    s.ok("pause", "--all")  # finishes it
    assert set(s.shows().values()) == {0}
    assert s.count(m.OperatorBatch, m.OperatorBatch.kind == "pause") == 1

    gumroad.requests = 0
    etsy_writes = s.shop.sandboxes["etsy"].writes  # type: ignore[attr-defined]
    killed_during("resume", "--all")
    assert s.shop.sandboxes["etsy"].writes > etsy_writes  # type: ignore[attr-defined]
    etsy_writes = s.shop.sandboxes["etsy"].writes  # type: ignore[attr-defined]
    out = s.ok("resume", "--all")
    assert all(o["ended"] == [] for o in out), "the first run ended the pause already"
    assert s.shop.sandboxes["etsy"].writes == etsy_writes, "Etsy put back twice"
    assert s.shows() == before == _expected(s)
    assert s.etsy_states() == states


def test_batches_list_every_operator_write_and_undo_appends_once(shop: Shop) -> None:
    s = shop
    moves_before = s.count(m.Movement)
    s.ok("adjust", "MUG", "-3", "--reason", "broken in the studio")
    s.ok("sync", "--once")  # the channels show the adjusted count
    s.ok("unlink", "gumroad", s.ids["PRINT"]["gumroad"], "--reason", "wrong product")
    s.ok("pause", "shopify", "--reason", "stocktake")
    rows = s.ok("batches")
    kinds = [r["kind"] for r in rows]
    assert kinds[:3] == ["pause", "unlink", "adjust"] and "adopt" not in kinds[:3]
    adjust = rows[2]
    assert adjust["command"] == "oneshop adjust MUG -3 --reason 'broken in the studio'"
    assert adjust["reason"] == "broken in the studio" and adjust["units"] == -3
    on_hand = s.on_hand()

    dry = s.ok("undo", str(adjust["batch"]), "--dry-run")
    assert dry["stock"] == [{"sku": "MUG", "delta": 3}]
    # Shopify is paused: it stays at 0, so it does not move.
    assert {(c["account"], c["shows"], c["will_show"]) for c in dry["channels"]} == {
        ("etsy", on_hand["MUG"], on_hand["MUG"] + 3),
        ("gumroad", on_hand["MUG"], on_hand["MUG"] + 3)}
    assert s.on_hand() == on_hand and s.count(m.Movement) == moves_before + 1

    done = s.ok("undo", str(adjust["batch"]), "--reason", "found it")
    assert done["undo_batch"] and s.on_hand()["MUG"] == on_hand["MUG"] + 3
    twice = s.ok("undo", str(adjust["batch"]))
    assert twice["already_undone_by"] == done["undo_batch"] and twice["stock"] == []
    assert s.on_hand()["MUG"] == on_hand["MUG"] + 3
    assert s.count(m.Movement) == moves_before + 2

    s.ok("undo", str(rows[1]["batch"]))  # the unlink
    bound = s.query(select(m.Sku.sku).join(m.Binding, m.Binding.sku_id == m.Sku.id)
                    .where(m.Binding.external_id == s.ids["PRINT"]["gumroad"]))
    assert bound == [("PRINT",)]
    s.ok("undo", str(rows[0]["batch"]))  # the pause
    s.ok("sync", "--once")
    assert s.shows() == _expected(s)
    refused = s.cli("undo", str(done["undo_batch"]))
    assert refused.returncode == 1 and "itself an undo" in refused.stderr


def test_a_pause_while_the_service_runs_is_carried_out_by_the_service(shop: Shop) -> None:
    """On SQLite the running service holds the ledger: the command records the pause and
    the service takes the listings off sale (and back) at its next polls."""
    s = shop
    if not (s.shop.database_url or "").startswith("sqlite"):
        pytest.skip("PostgreSQL: the command carries it out itself (per-account locks)")
    before = s.shows()
    service = subprocess.Popen(s.cmd("run"), env=s.env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        time.sleep(2)
        (out,) = s.ok("pause", "shopify", "--reason", "stocktake")
        assert out["changed"] and "running service carries it out" in out["note"]
        wait_for(lambda: {v for (sku, k), v in s.shows().items() if k == "shopify"} == {0},
                 60, "shopify off sale by the service")
        assert {k: v for k, v in s.shows().items() if k[1] != "shopify"} == {
            k: v for k, v in before.items() if k[1] != "shopify"}
        (out,) = s.ok("resume", "shopify")
        assert out["ended"] == ["paused by the seller"]
        wait_for(lambda: s.shows() == before, 60, "shopify back on sale by the service")
    finally:
        service.send_signal(signal.SIGTERM)
        assert service.wait(timeout=30) == 0
