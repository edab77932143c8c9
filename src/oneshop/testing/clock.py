"""Time that drives logic is injected; this is the virtual clock tests, benchmarks and
the simulation inject (sleeping advances it instantly)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class VirtualClock:
    """Time that only moves when someone sleeps, advances or sets it (thread-safe).

    `clock.now` and `clock` itself are both `Callable[[], datetime]` clocks. `slept_s` totals
    the time slept; with `record_sleeps=True`, `sleeps` also lists every requested sleep as
    asked (non-positive ones included). Off by default: the simulation sleeps very often."""

    def __init__(self, start: datetime | None = None, *, record_sleeps: bool = False) -> None:
        self._now = start or datetime.now(UTC).replace(microsecond=0)
        self._lock = threading.Lock()
        self._record = record_sleeps
        self.slept_s = 0.0
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def __call__(self) -> datetime:
        return self.now()

    def sleep(self, seconds: float) -> None:
        with self._lock:
            if self._record:
                self.sleeps.append(seconds)
            self._now += timedelta(seconds=max(0.0, seconds))
            self.slept_s += max(0.0, seconds)

    def advance(self, seconds: float = 0.0, **delta: float) -> None:
        """Move by `seconds` and/or timedelta's other keywords (`minutes=2`); may go back."""
        with self._lock:
            self._now += timedelta(seconds=seconds) + timedelta(**delta)

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when
