"""A TokenStore in memory: for connector tests, benchmarks and the contract suite."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from oneshop.values import TokenPair


@dataclass(slots=True, kw_only=True)
class MemoryTokenStore:
    """Holds one token pair; counts saves, so a test can see a refresh happened."""

    tokens: TokenPair | None = None
    saves: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def load(self) -> TokenPair | None:
        return self.tokens

    def save(self, tokens: TokenPair) -> None:
        self.tokens = tokens
        self.saves += 1

    @contextmanager
    def lock(self) -> Iterator[None]:
        with self._lock:
            yield
