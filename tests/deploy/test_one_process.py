"""One process per SQLite ledger: a second `oneshop run` (or `sync --once`, `adopt`) on the
same file is refused with one line while the first runs; read-only commands still work;
the lock goes with the process, however it ends. PostgreSQL takes no such lock."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from oneshop import lock
from oneshop.testing.shop import SandboxShop

from .conftest import ONESHOP, Running, wait_until

pytestmark = pytest.mark.e2e


def oneshop(service: Running, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ONESHOP), "--config", str(service.config), *args],
                          capture_output=True, text=True, env=service.env, timeout=60)


def refusal(done: subprocess.CompletedProcess[str], holder: int) -> str:
    """The one line a refused process prints, checked."""
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"is in use by another oneshop process (pid {holder}: oneshop" in lines[0], lines
    assert "one process per SQLite ledger" in lines[0]
    return lines[0]


def started(service: Running) -> bool:
    return bool(service.events("service.started"))


def test_a_second_run_on_one_sqlite_ledger_refuses_and_readers_still_work(
        shop: SandboxShop, start_service: Callable[..., Running]) -> None:
    shop.seed("MUG", 5)
    first = start_service(poll_seconds=1)
    wait_until(lambda: started(first), 20, "the first service started")

    second = subprocess.run([str(ONESHOP), "--config", str(first.config), "run"],
                            capture_output=True, text=True, env=first.env, timeout=60)
    line = refusal(second, first.proc.pid)
    assert line.startswith("error: the ledger ") and "run)" in line
    assert "service.started" not in second.stdout
    refusal(oneshop(first, "sync", "--once"), first.proc.pid)
    refusal(oneshop(first, "adopt", "--min"), first.proc.pid)
    # Read-only: status, history, health, and the strictly read-only dry run.
    wait_until(lambda: {e.get("account") for e in first.events("sync.done")} >= set(shop.kinds),
               20, "every account polled")
    assert oneshop(first, "status", "--json").returncode == 0
    health = oneshop(first, "health")
    assert health.returncode == 0, health.stdout + health.stderr
    assert "in use" not in oneshop(first, "history", "MUG").stderr
    dry = oneshop(first, "sync", "--once", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert first.proc.poll() is None  # the first one never noticed

    assert first.stop() == 0  # a clean stop frees it too
    synced = oneshop(first, "sync", "--once")
    assert synced.returncode == 0, synced.stderr


def test_the_lock_dies_with_its_process_even_on_kill_9(
        shop: SandboxShop, start_service: Callable[..., Running]) -> None:
    first = start_service()
    wait_until(lambda: started(first), 20, "the first service started")
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(10)
    synced = oneshop(first, "sync", "--once")
    assert "in use" not in synced.stderr and synced.returncode == 0, synced.stderr


HOLDER = textwrap.dedent("""
    import sys, time
    from oneshop import lock
    lock.acquire(sys.argv[1])
    print("held", flush=True)
    time.sleep(60)
""")


def test_a_second_holder_is_refused_at_once_naming_the_first(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, url], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        with pytest.raises(lock.LedgerBusy, match=rf"\(pid {holder.pid}: "):
            lock.acquire(url)
        with pytest.raises(lock.LedgerBusy):  # a relative URL of the same file too
            monkeypatch.chdir(tmp_path)
            lock.acquire("sqlite:///ledger.sqlite3")
    finally:
        holder.kill()
        holder.wait()
    held = lock.acquire(url)
    assert held == tmp_path / "ledger.sqlite3.lock"
    lock.release(held)


def probe(url: str) -> list[str]:
    """A process that exits 3 if the ledger's lock is held elsewhere, else 0."""
    return [sys.executable, "-c", "import sys\nfrom oneshop import lock\n"
            "try:\n    lock.acquire(sys.argv[1])\nexcept lock.LedgerBusy:\n    sys.exit(3)\n",
            url]


def test_an_app_holds_the_lock_from_build_to_close(shop: SandboxShop) -> None:
    assert shop.database_url is not None
    application = shop.build_app()
    assert subprocess.run(probe(shop.database_url)).returncode == 3
    application.close()
    assert subprocess.run(probe(shop.database_url)).returncode == 0
    dry = shop.build_app(read_only=True)  # strictly read-only: takes no lock
    assert dry.ledger_lock is None
    dry.close()


def test_a_build_that_fails_lets_go_of_the_lock(tmp_path: Path) -> None:
    from oneshop.app import build
    from oneshop.config import load
    from oneshop.ledger.schema import SchemaOutOfDate

    config = tmp_path / "oneshop.toml"
    config.write_text(f'[service]\nstate_dir = "{tmp_path}"\n[accounts.gum]\nkind = "gumroad"\n'
                      '[accounts.gum.secrets]\naccess_token = { env = "T" }\n')
    cfg = load(config, env={"T": "x"})
    with pytest.raises(SchemaOutOfDate):  # a ledger never upgraded
        build(cfg)
    assert subprocess.run(probe(cfg.database_url)).returncode == 0


def test_holds_in_one_process_are_counted_and_the_last_release_frees_it(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    first, second = lock.acquire(url), lock.acquire(url)  # an App and its reload
    lock.release(first)
    assert subprocess.run(probe(url)).returncode == 3  # still held by the second
    lock.release(second)
    assert subprocess.run(probe(url)).returncode == 0
    lock.release(second)  # one release too many changes nothing


def test_postgresql_and_in_memory_ledgers_take_no_lock(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert lock.acquire("postgresql+psycopg://postgres@127.0.0.1:5432/test") is None
    assert lock.acquire("sqlite://") is None
    assert list(tmp_path.iterdir()) == []
