"""The service's parts on their own: the coordinator's fail-once/recover-once, the job
guard, and the webhook server `oneshop run` starts (in-process, no `oneshop run`)."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from structlog.testing import capture_logs

from oneshop import webhook_server
from oneshop.app import App
from oneshop.config import WebhooksConfig
from oneshop.coordinator import Coordinator, JobKind
from oneshop.errors import AuthError, RetryableError
from oneshop.ledger import account_state
from oneshop.ledger import models as m
from oneshop.ledgerwatch import LedgerWatch
from oneshop.plugins import available_connectors
from oneshop.service import Runner, resume_account
from oneshop.testing.shop import SandboxShop

KIND = "gumroad"
pytestmark = pytest.mark.skipif(KIND not in available_connectors(), reason="no gumroad")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    shop = SandboxShop(state_dir=tmp_path / "state", kinds=(KIND,))
    shop.prepare_ledger()
    application = shop.build_app()
    yield application
    application.close()
    shop.close()


def _fails(message: str = "503 from the channel") -> None:
    raise RetryableError(message)


def _streak(app: App) -> int:
    with app.sessions() as s:
        state = s.get(m.AccountState, KIND)
        return state.consecutive_failures if state else 0


def test_a_job_failing_is_told_once_and_its_recovery_once(app: App) -> None:
    coordinator = Coordinator(app, LedgerWatch(app.config.database_url, None,
                                               fail_exit_s=float("inf")))
    bodies = [_fails, _fails, _fails, lambda: {"n": 1}, lambda: {"n": 2}, _fails]
    with capture_logs() as logs:
        ran = [coordinator.run(KIND, JobKind.ORDERS, body, stopping=lambda: False)
               for body in bodies]
    assert ran == [False, False, False, True, True, False]
    told = [(e["event"], e["job"]) for e in logs
            if e["event"] in ("job.failing", "job.recovered")]
    assert told == [("job.failing", "orders"), ("job.recovered", "orders"),
                    ("job.failing", "orders")]
    assert [e["n"] for e in logs if e["event"] == "sync.done"] == [1, 2]
    assert _streak(app) == 1


def test_each_job_kind_fails_on_its_own(app: App) -> None:
    coordinator = Coordinator(app, LedgerWatch(app.config.database_url, None,
                                               fail_exit_s=float("inf")))
    with capture_logs() as logs:
        coordinator.run(KIND, JobKind.ORDERS, _fails, stopping=lambda: False)
        coordinator.run(KIND, JobKind.RECONCILE, _fails, stopping=lambda: False)
        coordinator.run(KIND, JobKind.ORDERS, _fails, stopping=lambda: False)
    assert [e["job"] for e in logs if e["event"] == "job.failing"] == ["orders", "reconcile"]


def test_refused_credentials_pause_the_account_without_a_failing_line(app: App) -> None:
    def refused() -> None:
        raise AuthError("401: token revoked")

    coordinator = Coordinator(app, LedgerWatch(app.config.database_url, None,
                                               fail_exit_s=float("inf")))
    with capture_logs() as logs:
        assert not coordinator.run(KIND, JobKind.ORDERS, refused, stopping=lambda: False)
    assert not [e for e in logs if e["event"] == "job.failing"]
    assert paused(app)
    runner = Runner(app)
    assert not runner.poll(KIND), "a paused account ran a job"
    resume_account(app, KIND)
    assert not paused(app)


def paused(app: App) -> bool:
    with app.sessions() as s:
        return account_state.is_paused(s, KIND)


def test_a_bug_while_stopping_is_not_a_failure(app: App) -> None:
    def closed_under_the_job() -> None:
        raise RuntimeError("client closed")

    coordinator = Coordinator(app, LedgerWatch(app.config.database_url, None,
                                               fail_exit_s=float("inf")))
    with capture_logs() as logs:
        assert not coordinator.run(KIND, JobKind.ORDERS, closed_under_the_job,
                                   stopping=lambda: True)
    assert not [e for e in logs if e["event"] == "job.failing"]
    assert _streak(app) == 0


def test_no_job_starts_once_the_runner_is_closed(app: App) -> None:
    runner = Runner(app)
    ran: list[str] = []
    assert runner.guarded(KIND, "orders", lambda: ran.append("first"))
    assert runner.close(1.0)
    assert not runner.guarded(KIND, JobKind.ORDERS, lambda: ran.append("after"))
    assert ran == ["first"]


def test_the_webhook_server_brings_the_account_forward(app: App) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cfg = app.config
    hooks = WebhooksConfig(listen=f"127.0.0.1:{port}")
    config = dataclasses.replace(
        cfg, file=cfg.file.model_copy(update={"webhooks": hooks}),
        accounts={KIND: dataclasses.replace(cfg.accounts[KIND], webhook_secret="s3cret")})
    triggered: list[str] = []
    served = webhook_server.start(config, triggered.append)
    assert served is not None
    try:
        assert httpx.post(f"{served.url}/webhooks/{KIND}/wrong", content=b"x").status_code \
            == 401
        assert httpx.post(f"{served.url}/webhooks/{KIND}/s3cret", content=b"x").status_code \
            == 200
    finally:
        served.close()
    assert triggered == [KIND]
    assert webhook_server.start(cfg, triggered.append) is None  # no [webhooks]: no server
