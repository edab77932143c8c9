"""The one retry helper: exponential backoff with full jitter, honouring Retry-After."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TypeVar

from oneshop.errors import RateLimited, RetryableError
from oneshop.protocols import Sleep

T = TypeVar("T")


def backoff_s(attempt: int, *, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Full-jitter backoff for the given 0-based attempt."""
    return rng.uniform(0, min(cap_s, base_s * (2**attempt)))


def call_with_retry(
    fn: Callable[[], T],
    *,
    sleep: Sleep,
    attempts: int = 5,
    base_s: float = 0.5,
    cap_s: float = 60.0,
    rng: random.Random | None = None,
    on_wait: Callable[[float, RetryableError], None] | None = None,
) -> T:
    """Call `fn`, retrying RetryableError; the last failure is re-raised.

    A RateLimited with `retry_after_s` waits exactly that long (at least), never less:
    the marketplace told us when it will accept the next request.
    """
    # Derived from the module RNG so that seeding `random` makes a run reproducible.
    rng = rng or random.Random(random.random())
    for attempt in range(attempts):
        try:
            return fn()
        except RetryableError as exc:
            if attempt == attempts - 1:
                raise
            wait = backoff_s(attempt, base_s=base_s, cap_s=cap_s, rng=rng)
            if isinstance(exc, RateLimited) and exc.retry_after_s is not None:
                wait = max(wait, exc.retry_after_s)
            if on_wait is not None:
                on_wait(wait, exc)
            sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover
