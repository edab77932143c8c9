"""A broken ledger is loud (issue 15, point 2): the real `oneshop run` against a locked
ledger, a full disk and PostgreSQL gone. Counted: `ledger_unavailable` once (log and alert command),
`health` non-zero with the reason, exit non-zero after `ledger_fail_exit_s`, recovery
logged once, and every sale made meanwhile booked exactly once.

PostgreSQL gone runs when ONESHOP_TEST_DATABASE_URL is set, through a TCP relay the
test cuts. Read-only is not produced here: the tests run as root (file modes do not stop root) and
a filesystem cannot be remounted read-only while the ledger holds it open for writing.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from oneshop.ledger import models as m
from oneshop.ledger.db import make_engine
from oneshop.testing.shop import SandboxShop, wait_for

pytestmark = pytest.mark.e2e
FAST = {"gumroad": {"requests_per_second": 50.0}}
ONESHOP = [sys.executable, "-m", "oneshop.cli"]


@dataclass
class Run:
    shop: SandboxShop
    config: Path
    env: dict[str, str]
    out: Path
    alerts: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.out.open("ab") as out:
            self.proc = subprocess.Popen([*ONESHOP, "--config", str(self.config), "run"],
                                         stdout=out, stderr=subprocess.STDOUT, env=self.env)

    def lines(self) -> list[dict[str, Any]]:
        found = []
        for line in self.out.read_text(errors="replace").splitlines():
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                found.append({"event": "(not json)", "text": line})
        return found

    def events(self, name: str) -> list[dict[str, Any]]:
        return [x for x in self.lines() if x.get("event") == name]

    def health(self) -> tuple[int, str]:
        done = subprocess.run([*ONESHOP, "--config", str(self.config), "health"],
                              capture_output=True, text=True, env=self.env, timeout=60)
        return done.returncode, done.stdout + done.stderr

    def commanded(self) -> list[dict[str, Any]]:
        text = self.alerts.read_text() if self.alerts.exists() else ""
        return [json.loads(x) for x in text.splitlines()]

    def sales(self, sku: str) -> tuple[int, int]:
        """(sale movements, on_hand) of `sku` in the ledger."""
        engine = make_engine(self.shop.database_url or "")
        try:
            with engine.connect() as conn:
                sku_id = conn.scalar(select(m.Sku.id).where(m.Sku.sku == sku))
                count = conn.scalar(select(func.count()).select_from(m.Movement).where(
                    m.Movement.sku_id == sku_id, m.Movement.kind == "sale"))
                on_hand = conn.scalar(select(m.Sku.on_hand).where(m.Sku.id == sku_id))
                return int(count or 0), int(on_hand or 0)
        finally:
            engine.dispose()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def make_run(tmp_path: Path, state_dir: Path, fail_exit_s: float,
             database_url: str | None = None) -> Run:
    shop = SandboxShop(state_dir=state_dir, serve_http=True, settings_overrides=FAST,
                       account_options={"reconcile_seconds": 3600}, database_url=database_url)
    shop.prepare_ledger(take_over=True)
    recorder = tmp_path / "record.py"
    alerts = tmp_path / "alerts.jsonl"
    recorder.write_text(textwrap.dedent(f"""
        import sys
        with open({str(alerts)!r}, "a") as out:
            out.write(sys.stdin.read().strip() + "\\n")
    """))
    config = tmp_path / "oneshop.toml"
    command = json.dumps([sys.executable, str(recorder)])
    env = {**os.environ, **shop.write_config(
        config, poll_seconds=1.0,
        extra=f"\n[alerts]\ncommand = {command}\nmin_interval_s = 0\n")}
    env.pop("NOTIFY_SOCKET", None)
    text = config.read_text().replace("[service]\n", f"[service]\nledger_fail_exit_s = "
                                                     f"{fail_exit_s}\n", 1)
    config.write_text(text)
    return Run(shop=shop, config=config, env=env, out=tmp_path / "service.jsonl",
               alerts=alerts)


def running(run: Run) -> None:
    wait_for(lambda: {x["account"] for x in run.events("sync.done")
                      if x.get("job") == "orders"} == set(run.shop.sandboxes),
             timeout_s=30, what="a first poll of every account")


def sell_everywhere(run: Run, ids: dict[str, str]) -> None:
    for kind, sandbox in run.shop.sandboxes.items():
        sandbox.sell(ids[kind], 1)


def quiet_while_down(run: Run) -> None:
    """Nothing but the transitions: no job failing, no tracebacks, one alert."""
    lines = run.lines()
    assert [x for x in lines if x.get("event") == "job.failing"] == []
    assert not any("Traceback" in json.dumps(x) for x in lines)
    assert len([x for x in lines if x.get("event") == "ledger_unavailable"]) == 1
    assert len(run.events("ledger.failing")) == 1
    assert [a["event"] for a in run.commanded() if a["event"].startswith("ledger")] == \
        ["ledger_unavailable"]


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[Run]:
    run = make_run(tmp_path, tmp_path / "state", fail_exit_s=3)
    yield run
    run.stop()
    run.shop.close()


def test_a_locked_ledger_alerts_once_fails_health_and_exits_non_zero(locked: Run) -> None:
    run = locked
    ids = run.shop.seed("LOCK", 9)
    run.start()
    running(run)
    url = run.shop.database_url or ""
    holder = sqlite3.connect(url.split("///", 1)[1], timeout=30, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")  # held longer than the busy timeout (30 s)
        sell_everywhere(run, ids)
        wait_for(lambda: run.events("ledger_unavailable") != [], timeout_s=90,
                 what="ledger_unavailable")
        code, said = run.health()
        assert code != 0 and "database is locked" in said, said
        assert run.proc is not None
        assert run.proc.wait(60) != 0, "the service kept running on a dead ledger"
        quiet_while_down(run)
        assert run.events("service.exiting") != []
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # The fault cleared: a restart books every sale made meanwhile, exactly once.
    run.start()
    wait_for(lambda: run.sales("LOCK") == (3, 6), timeout_s=60, what="sales booked")
    wait_for(lambda: {run.shop.sandboxes[k].quantity(ids[k]) for k in ids} == {6},
             timeout_s=30, what="every channel at 6")
    wait_for(lambda: run.health()[0] == 0, timeout_s=30, what="healthy again")
    assert run.sales("LOCK") == (3, 6)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "disk"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    # Unbuffered: a write the disk refuses is not left in a buffer for close() to retry.
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 65536)
        except OSError:
            pass
    return filler


def test_a_full_disk_alerts_once_and_recovery_is_logged_once(tmp_path: Path,
                                                             small_disk: Path) -> None:
    run = make_run(tmp_path, small_disk / "state", fail_exit_s=600)
    try:
        ids = run.shop.seed("FULL", 9)
        run.start()
        running(run)
        filler = fill(small_disk)
        sell_everywhere(run, ids)
        wait_for(lambda: run.events("ledger_unavailable") != [], timeout_s=60,
                 what="ledger_unavailable")
        code, said = run.health()
        assert code != 0 and "full" in said, said
        time.sleep(3)  # three more polls fail: still one alert
        filler.unlink()
        wait_for(lambda: run.events("ledger.recovered") != [], timeout_s=30,
                 what="ledger.recovered")
        wait_for(lambda: run.sales("FULL") == (3, 6), timeout_s=60, what="sales booked")
        wait_for(lambda: run.health()[0] == 0, timeout_s=30, what="healthy again")
        assert run.proc is not None and run.proc.poll() is None
        quiet_while_down(run)
        assert len(run.events("ledger.recovered")) == 1
    finally:
        run.stop()
        run.shop.close()


class Proxy:
    """A TCP relay to PostgreSQL that the test can cut (PostgreSQL gone) and restore."""

    def __init__(self, target: tuple[str, int]) -> None:
        import socket

        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = int(probe.getsockname()[1])
        probe.close()
        self._conns: list[Any] = []
        self._server: Any = None
        self.restore()

    def restore(self) -> None:
        import socket
        import threading

        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def cut(self) -> None:
        self._server.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.close()
        self._conns.clear()

    def _accept(self, server: Any) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: Any, b: Any) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (a, b):
                with contextlib.suppress(OSError):
                    sock.close()


@pytest.fixture
def pg_behind_proxy() -> Iterator[tuple[str, Proxy]]:
    """A fresh PostgreSQL database, reached through a Proxy."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin_url = os.environ.get("ONESHOP_TEST_DATABASE_URL")
    if not admin_url:
        pytest.skip("ONESHOP_TEST_DATABASE_URL is not set: PostgreSQL ledger tests skipped")
    name = f"oneshop_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    real = make_url(admin_url).set(database=name)
    proxy = Proxy((real.host or "127.0.0.1", real.port or 5432))
    try:
        yield real.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False), proxy
    finally:
        proxy.cut()
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :n"), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def test_postgresql_gone_alerts_once_fails_health_and_exits_non_zero(
        tmp_path: Path, pg_behind_proxy: tuple[str, Proxy]) -> None:
    url, proxy = pg_behind_proxy
    run = make_run(tmp_path, tmp_path / "state", fail_exit_s=3, database_url=url)
    try:
        ids = run.shop.seed("GONE", 9)
        run.start()
        running(run)
        proxy.cut()
        sell_everywhere(run, ids)
        wait_for(lambda: run.events("ledger_unavailable") != [], timeout_s=60,
                 what="ledger_unavailable")
        code, said = run.health()
        assert code != 0 and "unavailable" in said, said
        assert run.proc is not None
        assert run.proc.wait(60) != 0, "the service kept running without its database"
        quiet_while_down(run)
        proxy.restore()
        run.start()
        wait_for(lambda: run.sales("GONE") == (3, 6), timeout_s=60, what="sales booked")
        wait_for(lambda: run.health()[0] == 0, timeout_s=30, what="healthy again")
        assert run.sales("GONE") == (3, 6)
    finally:
        run.stop()
        run.shop.close()
