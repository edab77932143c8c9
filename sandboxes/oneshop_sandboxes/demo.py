"""`oneshop demo`: the three sandboxes on loopback, the real service as a separate
process, a sale on Etsy narrated as the other channels follow, then the last unit sold
on two channels at once and the oversell alert. Finishes by itself, leaves nothing running.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import select

from oneshop.app import open_ledger
from oneshop.ledger import models as m
from oneshop.testing.sandbox import INSTALL_HINT, available_sandboxes
from oneshop.testing.shop import KINDS, SandboxShop

NAMES = {"etsy": "Etsy", "shopify": "Shopify", "gumroad": "Gumroad"}
CATALOG = {"MUG-BLUE": ("Blue stoneware mug", 4), "PRINT-A3": ("Risograph print A3", 7),
           "RING-OPAL": ("Opal ring", 1), "CARD-SET": ("Letterpress card set", 2)}
POLL_S = 2.0
FAST_PACING = {"gumroad": {"requests_per_second": 20.0}}
# What the shop sold before oneshop took it over: each channel lowered only its own count.
HISTORY = (("shopify", "MUG-BLUE", 1), ("etsy", "PRINT-A3", 2), ("gumroad", "PRINT-A3", 1))


class ServiceLog:
    """Reads the service's JSON log lines in a thread; keeps alerts for the narration."""

    def __init__(self, proc: subprocess.Popen[str], echo: bool) -> None:
        self.alerts: list[dict[str, Any]] = []
        self.lines: list[str] = []
        self.echo = echo
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(line)
            if self.echo:
                sys.stderr.write(line)
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("alert") is True:
                self.alerts.append(event)


def wait_for(check: Callable[[], bool], timeout_s: float, step_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step_s)
    return check()


def run_demo(*, verbose: bool = False, console: Console | None = None) -> int:
    console = console or Console()
    say = console.print
    if not set(KINDS) <= set(available_sandboxes()):
        say(f"oneshop demo runs on the marketplace emulators; {INSTALL_HINT}", markup=False,
            soft_wrap=True)
        return 2
    with tempfile.TemporaryDirectory(prefix="oneshop-demo-") as tmp:
        shop = SandboxShop(state_dir=Path(tmp) / "state", serve_http=True, latency_s=0.05,
                           settings_overrides=FAST_PACING)
        proc: subprocess.Popen[str] | None = None
        try:
            say("[bold]oneshop demo[/]: three marketplaces on loopback, one shop.\n")
            for kind in KINDS:
                say(f"  {NAMES[kind]:8} sandbox at {shop.served[kind].url}")
            ids = {sku: shop.seed(sku, qty, title=title) for sku, (title, qty) in CATALOG.items()}
            say(f"\nListed {len(CATALOG)} products on all three: "
                + ", ".join(f"{sku} x{qty}" for sku, (_, qty) in CATALOG.items()))
            _take_over(shop, ids, say)
            config = Path(tmp) / "oneshop.toml"
            env = {**os.environ, **shop.write_config(config, poll_seconds=POLL_S)}
            proc = subprocess.Popen(
                [sys.executable, "-m", "oneshop.cli", "--config", str(config), "run"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
            log = ServiceLog(proc, verbose)
            say(f"Started the service (pid {proc.pid}), polling every {POLL_S:g} s.")
            if not wait_for(lambda: _bound(shop) >= len(CATALOG) * len(KINDS), 30):
                say("[red]the service did not link the catalog in time[/]")
                return 1
            if not wait_for(lambda: _in_step(shop, ids), 30):
                say("[red]the channels did not come in step in time[/]")
                return 1
            say("Its first cycle brought every channel to the adopted counts.\n")
            _sale(shop, ids, say)
            _oversell(shop, ids, log, say)
            return 0
        finally:
            if proc is not None:
                code = _stop(proc)
                say(f"\nStopped the service (exit {code}). Sandboxes closed. Bye.")
            shop.close()


def _take_over(shop: SandboxShop, ids: dict[str, dict[str, str]],
               say: Callable[..., None]) -> None:
    """The README's setup on a shop that already sold: dry run, then `adopt --min`."""
    from oneshop.adopt import adopt_with, plan

    for kind, sku, qty in HISTORY:
        for _ in range(qty):
            shop.sandboxes[kind].sell(ids[sku][kind], 1)
    say("Before oneshop, the shop already sold: " + ", ".join(
        f"{qty} x {sku} on {NAMES[kind]}" for kind, sku, qty in HISTORY)
        + "; each channel lowered only its own count.")
    shop.prepare_ledger()
    say("\n[bold]0.[/] `oneshop sync --once --dry-run` reads every channel and writes nothing:")
    for p in plan(shop.config()).skus:
        shows = ", ".join(f"{NAMES[a]} {q}" for a, q in p.shows.items())
        say(f"   {p.sku:10} {shows}" + ("   [yellow]differ[/]" if p.disagree else ""))
    application = shop.build_app()
    try:
        report = adopt_with(application, source=None, force=False)
    finally:
        application.close()
    say("   `oneshop adopt --min` takes the lowest count; the past orders go into the order "
        "book as history and are not subtracted again:")
    for a in report.skus:
        moves = ", ".join(f"{NAMES[acc]} {was}->{to}" for acc, (was, to) in a.moves.items())
        say(f"   {a.sku:10} {a.count}" + (f"   (first sync: {moves})" if moves else ""))
    say("   Nothing was written to any channel yet.\n")


def _in_step(shop: SandboxShop, ids: dict[str, dict[str, str]]) -> bool:
    with open_ledger(shop.database_url or "") as ledger, ledger.db.connect() as conn:
        stock = {sku: qty for sku, qty in conn.execute(select(m.Sku.sku, m.Sku.on_hand))}
    return all(shop.sandboxes[kind].quantity(listing) == stock.get(sku)
               for sku, listings in ids.items() for kind, listing in listings.items())


def _bound(shop: SandboxShop) -> int:
    with open_ledger(shop.database_url or "") as ledger, ledger.db.connect() as conn:
        return len(conn.execute(select(m.Binding.id).where(m.Binding.sku_id.is_not(None)))
                   .all())


def _sale(shop: SandboxShop, ids: dict[str, dict[str, str]], say: Callable[..., None]) -> None:
    sku = "MUG-BLUE"
    say(f"[bold]1.[/] A customer buys 1 x {sku} on Etsy (3 in stock everywhere).")
    shop.sandboxes["etsy"].sell(ids[sku]["etsy"], 1)
    started = time.monotonic()
    for kind in ("shopify", "gumroad"):
        sandbox, listing = shop.sandboxes[kind], ids[sku][kind]
        if wait_for(lambda: sandbox.quantity(listing) == 2, POLL_S * 5):  # noqa: B023
            say(f"   {NAMES[kind]} now shows 2 ({time.monotonic() - started:.1f} s after the "
                "sale)")
        else:
            say(f"   [red]{NAMES[kind]} still shows "
                f"{shop.sandboxes[kind].quantity(ids[sku][kind])}[/]")
    say(f"   The ledger booked the sale once; the window was about one poll ({POLL_S:g} s)"
        " plus one API round trip.\n")


def _oversell(shop: SandboxShop, ids: dict[str, dict[str, str]], log: ServiceLog,
              say: Callable[..., None]) -> None:
    sku = "RING-OPAL"
    say(f"[bold]2.[/] The last {sku} sells on Shopify and on Gumroad in the same instant,")
    say("   before any poll could see either sale.")
    shop.sandboxes["shopify"].sell(ids[sku]["shopify"], 1)
    shop.sandboxes["gumroad"].sell(ids[sku]["gumroad"], 1)
    if wait_for(lambda: any(a.get("event") == "oversell" for a in log.alerts), POLL_S * 8):
        alert = next(a for a in log.alerts if a.get("event") == "oversell")
        say(f"   [bold red]ALERT[/] oversell: {alert.get('sku')} on hand "
            f"{alert.get('on_hand')}; orders: {', '.join(alert.get('orders', []))}")
        say(f"   What to do: {alert.get('action')}")
        etsy: Any = shop.sandboxes["etsy"]
        if wait_for(lambda: etsy.listing_state(ids[sku]["etsy"]) == "inactive", POLL_S * 3):
            say("   Etsy cannot show 0, so the zero-stock policy took the listing off sale "
                "(state: inactive); it comes back when stock does.")
    else:
        say("   [red]no oversell alert was seen[/]")


def _stop(proc: subprocess.Popen[str]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()
    return proc.returncode
