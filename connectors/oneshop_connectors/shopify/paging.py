"""Page sizes per operation: derived from the conservative cost, halved when Shopify
refuses a query as too costly (MAX_COST_EXCEEDED), and kept at that for later polls."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import structlog

from oneshop_connectors.shopify.client import CostExceeded

log = structlog.get_logger("oneshop_connectors.shopify")
T = TypeVar("T")


class PageSizes:
    def __init__(self, account: str) -> None:
        self._account = account
        self._sizes: dict[str, int] = {}

    def size(self, name: str, derived: int) -> int:
        return self._sizes.get(name, derived)

    def call(self, name: str, derived: int, run: Callable[[int], T]) -> T:
        """`run(page size)`, halving the size while Shopify prices the query over its cap.

        Our cost rules are a reading of Shopify's (the price of plain lists is not
        documented): if Shopify reads them dearer, a fixed page size would fail every
        poll. One warning when a size is lowered; the lower size stays for this process.
        """
        size = start = self.size(name, derived)
        requested: int | None = None
        while True:
            try:
                result = run(size)
            except CostExceeded as exc:
                if size <= 1:
                    raise
                size = max(1, size // 2)
                self._sizes[name] = size
                requested = exc.requested
                continue
            if size != start:
                log.warning("shopify.page_size_lowered", account=self._account,
                            operation=name, was=start, now=size, requested_cost=requested,
                            why="Shopify priced the query over its 1,000-point cap")
            return result
