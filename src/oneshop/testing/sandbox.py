"""What a marketplace emulator offers tests, and where the installed ones are found.

A connector distribution registers a `SandboxFactory` (a callable, usually the sandbox
class) under the entry-point group `oneshop.sandboxes`, by the same name as its connector.
The group is apart from `oneshop.connectors` so that the service installs and runs without
any emulator: only tests, the demo and the simulation load it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, Protocol

import httpx

from oneshop.plugins import SANDBOX_GROUP, load_group
from oneshop.protocols import Clock
from oneshop.values import TokenPair


class Sandbox(Protocol):
    """A stateful emulator of one marketplace, plus a uniform control surface.

    The same object serves in-process (`transport()`) and on loopback (`wsgi_app`).
    Quantities and ids are the marketplace's own; `external_id`s are the ones the
    connector reports in `Listing.external_id`.
    """

    wsgi_app: Callable[..., Any]
    requests: int
    writes: int

    def transport(self) -> httpx.BaseTransport: ...

    def connector_settings(self, base_url: str) -> dict[str, Any]:
        """Account settings (secrets included) that point a connector at this sandbox."""
        ...

    def issue_tokens(self) -> TokenPair | None:
        """Fresh OAuth tokens for the seeded shop (None where the channel uses static ones)."""
        ...

    def seed_listing(self, sku: str, quantity: int, *, title: str = "") -> str:
        """Create a listing for `sku` showing `quantity`; return its external_id."""
        ...

    def sell(self, external_id: str, quantity: int = 1) -> str:
        """A customer buys; returns the order id. Refused (ValueError) when sold out."""
        ...

    def cancel(self, order_id: str, *, restock: bool = True) -> None: ...

    def quantity(self, external_id: str) -> int | None: ...

    def hand_edit(self, external_id: str, quantity: int) -> None: ...

    def revoke_credentials(self) -> None: ...

    def fail_next(self, count: int, *, status: int = 500, retry_after_s: float = 0.0) -> None:
        """The next `count` API requests fail with `status` (429 carries Retry-After)."""
        ...

    def add_malformed_order(self) -> str:
        """Store an order the connector cannot map (e.g. a line with no quantity)."""
        ...


class SandboxFactory(Protocol):
    """The object registered under `oneshop.sandboxes`."""

    def __call__(self, *, seed: int = 0, latency_s: float = 0.0,
                 clock: Clock | None = None) -> Sandbox:
        """A fresh sandbox; `clock` drives its timestamps and token expiry (virtual time)."""
        ...


EXTRA = "oneshop[sandbox]"
# From a checkout no index has `oneshop-sandboxes`: the Makefile installs sandboxes/ beside.
INSTALL_HINT = (f"the sandboxes are not installed: pip install '{EXTRA}' "
                "(from a checkout: make install)")


class SandboxMissing(LookupError):
    """No sandbox is installed for a connector (the `oneshop[sandbox]` extra is not)."""


@cache
def available_sandboxes() -> dict[str, SandboxFactory]:
    """Every installed sandbox factory, by connector kind; a broken one is reported."""
    found: dict[str, SandboxFactory] = load_group(SANDBOX_GROUP, callable, "not callable",
                                                  extra=EXTRA)
    return found


def sandbox_for(kind: str, *, seed: int = 0, latency_s: float = 0.0,
                clock: Clock | None = None) -> Sandbox:
    """A fresh sandbox of the `kind` connector's marketplace."""
    factory = available_sandboxes().get(kind)
    if factory is None:
        raise SandboxMissing(f"no sandbox for {kind!r}: {INSTALL_HINT}")
    return factory(seed=seed, latency_s=latency_s, clock=clock)
