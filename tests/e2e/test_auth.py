"""`oneshop auth etsy` runs the PKCE flow end to end against the Etsy sandbox."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from oneshop.ledger import models as m
from oneshop.ledger.db import make_engine
from oneshop.testing.shop import SandboxShop, wait_for

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_auth_etsy_stores_tokens_and_resumes_a_paused_account(tmp_path: Path) -> None:
    redirect = f"http://127.0.0.1:{free_port()}/callback"
    shop = SandboxShop(state_dir=tmp_path / "state", kinds=("etsy",), serve_http=True,
                       settings_overrides={"etsy": {"redirect_uri": redirect}})
    try:
        from oneshop.ledger.schema import upgrade

        db = make_engine(shop.database_url or "")
        upgrade(db)  # no tokens stored: the account must be authorised first
        with db.begin() as conn:
            conn.execute(m.AccountState.__table__.insert().values(  # type: ignore[attr-defined]
                account="etsy", paused=True, consecutive_failures=3, last_error="revoked"))
        config = tmp_path / "oneshop.toml"
        env = {**os.environ, **shop.write_config(config)}
        proc = subprocess.Popen([sys.executable, "-m", "oneshop.cli", "--config", str(config),
                                 "auth", "etsy", "--account", "etsy", "--timeout", "20"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env)
        assert proc.stdout is not None
        proc.stdout.readline()
        url = proc.stdout.readline().strip()
        assert "code_challenge_method=S256" in url and "/oauth/connect" in url
        # The person approves in a browser: the sandbox redirects to the loopback listener.
        wait_for(lambda: _listening(redirect), what="the CLI's redirect listener")
        httpx.get(url, follow_redirects=True, timeout=10)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert "authorised" in out
        with db.connect() as conn:
            row = conn.execute(select(m.Credential)).one()
            state = conn.execute(select(m.AccountState.paused)).scalar()
        assert row.access_token and row.refresh_token
        assert row.access_token not in out + err, "a token was printed"
        assert state is False
        db.dispose()
    finally:
        shop.close()


def _listening(url: str) -> bool:
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
