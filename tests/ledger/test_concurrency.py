"""Two processes recording the same orders at once into one database book them once."""

from __future__ import annotations

import multiprocessing

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from oneshop.ledger import models as m

from . import _worker
from .conftest import assert_consistent, seed_skus, stock


def test_two_processes_recording_the_same_orders_change_stock_once(
        engine: Engine, factory: sessionmaker[Session], database_url: str) -> None:
    seed_skus(factory, {f"S{i}": 1000 for i in range(10)})
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    # Different page sizes and orderings, so the processes overlap on partial pages.
    procs = [ctx.Process(target=_worker.record_all, args=(database_url, size, seed, start, out))
             for size, seed in ((25, 1), (40, 2), (7, 3))]
    for p in procs:
        p.start()
    start.set()
    booked = [out.get(timeout=60) for _ in procs]
    assert all(isinstance(b, int) for b in booked), booked
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    want = {f"S{i}": 1000 for i in range(10)}
    lines = 0
    for o in _worker.orders(200):
        for ln in o.lines:
            want[str(ln.sku)] -= ln.quantity
            lines += 1
    assert sum(booked) == lines  # every line was booked by exactly one of them
    assert stock(factory) == want
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(m.Order)) == 200
        assert s.scalar(select(func.count()).select_from(m.Movement)
                        .where(m.Movement.kind == "sale")) == lines
    assert_consistent(factory)
