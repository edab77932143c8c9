"""What a connector is, as small protocols (structural, no base classes).

A connector package exposes a `ConnectorFactory` object under the entry-point group
`oneshop.connectors`. The factory validates the account's settings and builds a
`Connector`; it also builds the marketplace's `Sandbox` for tests and the demo.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import httpx
from pydantic import BaseModel

from oneshop.values import Budget, ListingsPage, OrdersPage, PushResult, StockLevel, TokenPair

Clock = Callable[[], datetime]
Sleep = Callable[[float], None]


class TokenStore(Protocol):
    """Durable storage for rotating OAuth tokens (the ledger database in production)."""

    def load(self) -> TokenPair | None: ...

    def save(self, tokens: TokenPair) -> None:
        """Persist durably before returning: the old refresh token is already dead."""

    def lock(self) -> AbstractContextManager[None]:
        """Serialise refreshes of this account's tokens across threads and processes."""


@dataclass(slots=True, kw_only=True)
class MemoryTokenStore:
    """A TokenStore in memory, for tests and the sandbox demo."""

    tokens: TokenPair | None = None
    saves: int = 0
    _lock: Any = field(default=None, repr=False)

    def load(self) -> TokenPair | None:
        return self.tokens

    def save(self, tokens: TokenPair) -> None:
        self.tokens = tokens
        self.saves += 1

    def lock(self) -> AbstractContextManager[None]:
        import threading

        if self._lock is None:
            self._lock = threading.Lock()
        lock: AbstractContextManager[None] = self._lock
        return lock


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectorContext:
    """What the core hands a connector: identity, time, transport, token storage."""

    account: str
    clock: Clock
    sleep: Sleep
    token_store: TokenStore
    # None means the real network; tests and the demo pass a sandbox transport.
    transport: httpx.BaseTransport | None = None


@runtime_checkable
class OrderSource(Protocol):
    def fetch_orders(self, cursor: str | None) -> Iterator[OrdersPage]:
        """Orders new or changed since `cursor` (None: the configured look-back), paged.

        Each page carries the cursor to store with it; resuming from any page's cursor
        loses nothing (it overlaps on purpose; recording is idempotent).
        """
        ...


@runtime_checkable
class CatalogSource(Protocol):
    def fetch_listings(self) -> Iterator[ListingsPage]:
        """Every listing the account has, with its current quantity, paged."""
        ...


@runtime_checkable
class StockTarget(Protocol):
    """Where stock is published.

    A connector whose writes replace the channel's quantity without compare-and-set
    (so a sale landing between its read and its write is erased) sets a class attribute
    `blind_writes = True`; the ledger then books such sales knowing the write may have
    erased them. Absent, False. Where one write replaces several listings (an Etsy
    listing's variants), `write_group(external_id) -> str` gives the external-id prefix
    they share; absent, each listing stands alone.
    """

    def push_stock(self, levels: Sequence[StockLevel]) -> Sequence[PushResult]:
        """Publish quantities; one result per level, in the same order."""
        ...


@runtime_checkable
class Connector(OrderSource, CatalogSource, StockTarget, Protocol):
    def budget(self) -> Budget: ...

    def close(self) -> None: ...


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


class ConnectorFactory(Protocol):
    """The object registered under `oneshop.connectors`."""

    kind: str
    settings_model: type[BaseModel]

    def build(self, settings: BaseModel, ctx: ConnectorContext) -> Connector: ...

    def sandbox(
        self, *, seed: int = 0, latency_s: float = 0.0, clock: Clock | None = None
    ) -> Sandbox:
        """A fresh sandbox; `clock` drives its timestamps and token expiry (virtual time)."""
        ...


@runtime_checkable
class InteractiveAuth(Protocol):
    """A factory whose channel needs a person to authorise access (OAuth), once."""

    def authorize(self, settings: BaseModel, ctx: ConnectorContext, *,
                  show: Callable[[str], None], pasted: Callable[[], str] | None,
                  timeout_s: float) -> TokenPair:
        """Run the flow: `show` the URL to open, then take the redirect on a loopback
        listener (or from `pasted()`, the redirected URL the person pastes)."""
        ...


@runtime_checkable
class StoreIdentity(Protocol):
    """A factory that can tell which store an account's settings point at (optional).

    Two accounts on one store would each book every sale; the config refuses them.
    """

    def store_identity(self, settings: BaseModel) -> str | None:
        """Equal for two accounts on the same store, else different; None if unknown.

        Shown to the seller, so never a secret in clear (hash it).
        """
        ...


@runtime_checkable
class WebhookVerifier(Protocol):
    """A factory whose channel signs its webhook deliveries."""

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, secret: str,
                       now_s: float) -> str | None:
        """A delivery id (for de-duplication) when the delivery is authentic, else None.

        Pure: a delivery only ever triggers a pull, it is never trusted as data.
        """
        ...


def secret_values(settings: BaseModel) -> Mapping[str, str]:
    """The secret strings inside a settings model (for log redaction)."""
    from pydantic import SecretStr

    found: dict[str, str] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr) and value.get_secret_value():
            found[name] = value.get_secret_value()
    return found
