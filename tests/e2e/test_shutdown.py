"""A stop ends with no job failing and nothing written as an error (issue 14, point 7).

`serve` runs in this process (its signal handlers need the main thread) against
in-process sandboxes, so the test can hold an account while a stop comes in."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from oneshop.app import App
from oneshop.daemon import serve
from oneshop.ledger import models as m
from oneshop.plugins import available_connectors
from oneshop.testing.shop import KINDS, SandboxShop, wait_for

KINDS_HERE = tuple(k for k in KINDS if k in available_connectors())


@pytest.fixture
def handlers() -> Iterator[None]:
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT,
                                                     signal.SIGHUP)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_a_stop_while_a_poll_waits_for_its_account_fails_no_job(
        tmp_path: Path, handlers: None) -> None:
    account = KINDS_HERE[-1]
    shop = SandboxShop(state_dir=tmp_path / "state", kinds=KINDS_HERE,
                       account_options={"poll_seconds": 2.0},
                       settings_overrides={"gumroad": {"requests_per_second": 50.0}})
    shop.prepare_ledger()
    shop.seed("STOP", 3)
    built: list[App] = []
    script_errors: list[BaseException] = []

    def factory() -> App:
        built.append(shop.build_app())
        return built[-1]

    def bound() -> bool:
        with built[0].sessions() as s:
            return len(s.scalars(select(m.Binding.id).where(
                m.Binding.sku_id.is_not(None))).all()) == len(KINDS_HERE)

    def script() -> None:
        try:
            wait_for(lambda: bool(built) and bound(), what="catalog bound")
            # Another job holds the account; the account's next poll waits for it.
            with built[0].accounts.hold(account, wait_s=10) as owned:
                assert owned
                time.sleep(2.5)
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(1.0)  # today's serve has closed the HTTP clients by now
        except BaseException as exc:  # reported by the test, after serve returns
            script_errors.append(exc)
            os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=script)
    thread.start()
    with capture_logs() as logs:
        code = serve(factory)
        thread.join(15)
        time.sleep(2.5)  # a poll that got the account after the stop would fail now
    assert not script_errors, script_errors
    try:
        assert code == 0
        failing = [e for e in logs if e["event"] == "job.failing"]
        assert failing == [], failing
        with built[0].sessions() as s:
            errors: dict[str, Any] = {st.account: st.last_error
                                      for st in s.scalars(select(m.AccountState))}
        assert set(errors.values()) <= {""}, errors
        assert [e["event"] for e in logs][-1] == "service.stopped"
    finally:
        for app in built:
            app.close()
        shop.close()
