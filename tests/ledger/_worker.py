"""Run in a spawned process: record pages of orders into a shared ledger."""

from __future__ import annotations

import random
from typing import Any

from oneshop.ledger import booking
from oneshop.ledger.db import make_engine, sessions, transaction

from .conftest import line, order


def orders(n: int) -> list[Any]:
    """n orders over ten SKUs, each line a deterministic quantity."""
    return [order(f"o{i:04d}", line("1", f"S{i % 10}", 1 + i % 3),
                  line("2", f"S{(i + 3) % 10}", 1)) for i in range(n)]


def record_all(url: str, page_size: int, seed: int, start: Any, out: Any) -> None:
    """Record every order (in pages, shuffled by `seed`) once `start` is set."""
    todo = orders(200)
    random.Random(seed).shuffle(todo)
    engine = make_engine(url)
    factory = sessions(engine)
    start.wait(30)
    booked = 0
    try:
        for i in range(0, len(todo), page_size):
            with transaction(factory) as s:
                booked += booking.record_orders(s, "shop", todo[i:i + page_size]).movements
    except Exception as exc:  # reported to the test, which fails with it
        out.put(f"{type(exc).__name__}: {exc}"[:2000])
        return
    finally:
        engine.dispose()
    out.put(booked)
