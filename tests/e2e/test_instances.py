"""Two instances on one PostgreSQL ledger: each account is synced by one at a time, no
change is pushed twice, and when one instance dies the other carries on."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, text

from oneshop.ledger import models as m
from oneshop.testing.shop import wait_for

pytestmark = pytest.mark.e2e
KINDS = ("etsy", "shopify", "gumroad")


def test_two_instances_never_push_the_same_change_twice(
        service_factory: Callable[..., Any], database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several instances coordinate through PostgreSQL advisory locks")
    svc = service_factory(database_url=database_url)
    ids = {f"T{i}": svc.shop.seed(f"T{i}", 10) for i in range(6)}
    first, second = svc.start(), svc.start()
    wait_for(lambda: svc.bound() == 18, timeout_s=40, what="catalog bound")
    wait_for(lambda: svc.count(m.Push, m.Push.status == "pending") == 0, what="settled")
    writes = {k: s.writes for k, s in svc.shop.sandboxes.items()}
    for i in range(6):
        seller = KINDS[i % 3]
        svc.shop.sandboxes[seller].sell(ids[f"T{i}"][seller], 1)
    for i in range(6):
        wait_for(lambda i=i: set(svc.quantities(ids[f"T{i}"]).values()) == {9},
                 what=f"sale {i} propagated")
    wait_for(lambda: svc.count(m.Push, m.Push.status == "pending") == 0, what="pushes done")
    # Each sale is at most one write to each of the two other channels (Shopify may batch
    # several SKUs into one mutation), whichever instance pushed it, and no change twice.
    assert all(0 < s.writes - writes[k] <= 4 for k, s in svc.shop.sandboxes.items())
    with svc.ledger().connect() as conn:
        changes = conn.execute(select(m.Push.binding_id, m.Push.observed_before,
                                      m.Push.quantity).where(m.Push.status == "ok")).all()
    assert len(changes) == len(set(changes)), "a change was pushed twice"
    assert svc.count(m.Movement, m.Movement.kind == "sale") == 6

    first.send_signal(signal.SIGKILL)
    first.wait()
    svc.shop.sandboxes["shopify"].sell(ids["T0"]["shopify"], 2)
    wait_for(lambda: set(svc.quantities(ids["T0"]).values()) == {7}, timeout_s=20,
             what="the surviving instance took over")
    assert svc.stop(second) == 0


def test_a_discovery_that_found_the_account_busy_runs_soon_not_hours_later(
        service_factory: Callable[..., Any], database_url: str) -> None:
    # Another instance holds every account while this one starts, so its start-up
    # discovery finds them busy; the default discovery interval is 6 hours.
    if not database_url.startswith("postgresql"):
        pytest.skip("an account held by another instance needs PostgreSQL advisory locks")
    svc = service_factory(database_url=database_url)
    svc.shop.seed("B1", 5)
    with svc.ledger().connect() as other:
        for kind in KINDS:
            assert other.execute(text("SELECT pg_try_advisory_lock(hashtext(:k))"),
                                 {"k": f"oneshop:{kind}"}).scalar()
        proc = svc.start()
        wait_for(lambda: b"service.started" in svc.logs.read_bytes(), what="start-up")
        time.sleep(3)  # start-up discovery has run, found every account busy, and skipped
        assert svc.bound() == 0
        other.execute(text("SELECT pg_advisory_unlock_all()"))
        other.commit()
    wait_for(lambda: svc.bound() == 3, timeout_s=30, what="catalog bound after the retry")
    assert svc.stop(proc) == 0
