"""`oneshop resume ACCOUNT` and what `health` says about a paused account (the real CLI)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from oneshop.ledger import account_state
from oneshop.ledger import models as m
from oneshop.ledger.db import make_engine, transaction
from oneshop.testing.shop import SandboxShop

ONESHOP = [sys.executable, "-m", "oneshop.cli"]


def test_resume_un_pauses_the_account_and_health_names_the_fix_until_then(
        tmp_path: Path) -> None:
    shop = SandboxShop(state_dir=tmp_path / "state")
    shop.prepare_ledger()
    config = tmp_path / "oneshop.toml"
    env = {**os.environ, **shop.write_config(config)}
    engine = make_engine(shop.database_url or "")

    with transaction(sessionmaker(engine)) as s:  # as after refused credentials
        for kind in shop.kinds:
            account_state.account_state(s, kind).last_error = f"{kind}: HTTP 401"
    with engine.begin() as conn:
        conn.execute(update(m.AccountState).values(paused=True))

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*ONESHOP, "--config", str(config), *args], env=env,
                              capture_output=True, text=True, timeout=60)

    health = cli("health")
    assert health.returncode == 1
    assert "gumroad: paused (gumroad: HTTP 401)" in health.stdout
    assert "`oneshop resume gumroad`" in health.stdout
    assert "`oneshop auth etsy --account etsy`" in health.stdout
    done = cli("resume", "gumroad")
    assert done.returncode == 0, done.stderr
    assert "gumroad: resumed" in done.stdout
    with engine.connect() as conn:
        paused = dict(conn.execute(select(m.AccountState.account, m.AccountState.paused)).all())
    assert paused == {"etsy": True, "shopify": True, "gumroad": False}
    unknown = cli("resume", "nosuch")
    assert unknown.returncode == 1 and "no account named 'nosuch'" in unknown.stderr
    engine.dispose()
