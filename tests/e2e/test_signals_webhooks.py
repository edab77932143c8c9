"""The service's signals and webhooks, on the real process."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import update

from oneshop.ledger import models as m
from oneshop.testing.shop import wait_for

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_sighup_reloads_the_config_and_resumes_a_paused_account(
        service_factory: Callable[..., Any]) -> None:
    svc = service_factory()
    ids = svc.shop.seed("HUP", 5)
    proc = svc.start()
    wait_for(lambda: svc.bound() == 3, what="catalog bound")
    with svc.ledger().begin() as conn:  # as after an auth failure
        conn.execute(update(m.AccountState).where(m.AccountState.account == "gumroad")
                     .values(paused=True))
    svc.shop.sandboxes["gumroad"].sell(ids["gumroad"], 1)
    time.sleep(3)
    assert svc.on_hand("HUP") == 5, "a paused account was polled"
    proc.send_signal(signal.SIGHUP)
    wait_for(lambda: set(svc.quantities(ids).values()) == {4}, what="resumed after SIGHUP")
    assert svc.stop(proc) == 0


def test_a_webhook_brings_the_pull_forward(service_factory: Callable[..., Any]) -> None:
    svc = service_factory()
    svc.shop.enable_webhooks(f"127.0.0.1:{free_port()}")
    svc.env.update(svc.shop.write_config(svc.config, poll_seconds=60))
    ids = svc.shop.seed("HOOK", 5)
    svc.start()
    wait_for(lambda: svc.bound() == 3, timeout_s=30, what="catalog bound")
    time.sleep(2)  # past the first polls: the next ones are a minute away
    svc.shop.sandboxes["shopify"].sell(ids["shopify"], 1)
    sold = time.monotonic()
    wait_for(lambda: set(svc.quantities(ids).values()) == {4}, timeout_s=15,
             what="sale propagated through the webhook")
    assert time.monotonic() - sold < 10, "waited for the poll, not the webhook"
