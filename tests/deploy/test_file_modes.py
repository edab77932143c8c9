"""Outside systemd (no UMask=0077) the ledger and the state files are still created 0600:
Etsy's OAuth tokens live in the ledger."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from oneshop import lock
from oneshop.app import LedgerTokenStore
from oneshop.ledger.db import make_engine
from oneshop.ledger.schema import upgrade

from .conftest import ONESHOP


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """A desktop's umask: new files would be 0644 without care."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.usefixtures("loose_umask")
def test_the_sqlite_ledger_and_its_wal_and_shm_are_0600(tmp_path: Path) -> None:
    ledger = tmp_path / "state" / "oneshop.sqlite3"
    engine = make_engine(f"sqlite:///{ledger}")
    upgrade(engine)
    with engine.connect() as conn:  # WAL mode: -wal and -shm exist while a connection is open
        conn.execute(text("CREATE TABLE t (x)"))
        conn.commit()
        found = {p.name: mode(p) for p in ledger.parent.iterdir()}
    engine.dispose()
    assert found == {"oneshop.sqlite3": 0o600, "oneshop.sqlite3-wal": 0o600,
                     "oneshop.sqlite3-shm": 0o600}
    assert mode(ledger.parent) == 0o700


@pytest.mark.usefixtures("loose_umask")
def test_a_ledger_left_readable_by_others_is_narrowed(tmp_path: Path) -> None:
    ledger = tmp_path / "oneshop.sqlite3"
    make_engine(f"sqlite:///{ledger}").dispose()
    ledger.chmod(0o644)
    make_engine(f"sqlite:///{ledger}").dispose()
    assert mode(ledger) == 0o600


@pytest.mark.usefixtures("loose_umask")
def test_token_and_ledger_lock_files_are_0600(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    state = tmp_path / "fresh-state"
    with LedgerTokenStore(sessionmaker(engine), "etsy_main", state).lock():
        pass
    engine.dispose()
    held = lock.acquire(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    lock.release(held)
    assert held is not None
    assert mode(state / "tokens-etsy_main.lock") == 0o600 and mode(state) == 0o700
    assert mode(held) == 0o600


def test_oneshop_db_upgrade_under_umask_022_creates_a_0600_ledger(tmp_path: Path) -> None:
    """The whole command, as a person runs it from a shell."""
    config = tmp_path / "oneshop.toml"
    config.write_text(f'[service]\nstate_dir = "{tmp_path / "state"}"\n'
                      '[accounts.gum]\nkind = "gumroad"\n'
                      '[accounts.gum.secrets]\naccess_token = { env = "T_TOKEN" }\n')
    env = {**os.environ, "T_TOKEN": "x"}
    done = subprocess.run(["/bin/sh", "-c", f"umask 022 && exec {ONESHOP} --config {config} "
                           "db upgrade"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert {p.name: mode(p) for p in (tmp_path / "state").iterdir()} == {
        "oneshop.sqlite3": 0o600}
