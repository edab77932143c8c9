"""What a connector is, as small protocols (structural, no base classes).

A connector package exposes a `ConnectorFactory` object under the entry-point group
`oneshop.connectors`. The factory validates the account's settings and builds a
`Connector`. The marketplace's emulator, for tests and the demo, is registered apart
(group `oneshop.sandboxes`, see `oneshop.testing`), so a connector installs without it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

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


class SyncObserver(Protocol):
    """Told when the engine starts and finishes booking one page of an account's orders
    (the simulation replays the ledger page by page, as the oversell check works)."""

    def page_started(self, account: str) -> None: ...

    def page_booked(self, account: str) -> None:
        """The page and its cursor are committed."""


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
    """Where stock is published."""

    # True when a write replaces the channel's quantity without compare-and-set, so a
    # sale landing between the connector's read and its write is erased; the ledger then
    # books such sales knowing the write may have erased them.
    blind_writes: bool

    def write_group(self, external_id: str) -> str:
        """The key shared by every listing one write replaces (an Etsy listing's variants
        share their `{listing_id}:` prefix); a listing written alone returns its own id."""
        ...

    def push_stock(self, levels: Sequence[StockLevel]) -> Sequence[PushResult]:
        """Publish quantities; one result per level, in the same order."""
        ...


@runtime_checkable
class Connector(OrderSource, CatalogSource, StockTarget, Protocol):
    def budget(self) -> Budget: ...

    def close(self) -> None: ...


class ConnectorFactory(Protocol):
    """The object registered under `oneshop.connectors`."""

    kind: str
    settings_model: type[BaseModel]

    def build(self, settings: BaseModel, ctx: ConnectorContext) -> Connector: ...


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
class ShopStatus(Protocol):
    """A connector whose channel can hold the whole shop off sale itself (optional):
    Etsy's vacation mode. While it does, the core pushes nothing there and folds in no
    hand edit (oneshop.sync.vacation)."""

    def channel_paused(self) -> str | None:
        """Why the channel does not sell now (one line, no secret), None when it does."""
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


@runtime_checkable
class RollingCatalog(Connector, Protocol):
    """A connector whose schedule is planned from a daily API budget (oneshop.plan,
    oneshop.planning): it can read chosen listings, so a reconcile reads a slice of the
    catalog per cycle instead of all of it at once, and it says what its reads cost."""

    listings_per_read: int  # listings one read request of `fetch_listings_by_ids` takes

    def fetch_listings_by_ids(self, external_ids: Sequence[str]) -> Iterator[ListingsPage]:
        """These listings as the channel shows them now, paged; with them every listing
        one write replaces (their `write_group`). A listing gone from the channel is
        left out of the pages."""
        ...

    def full_read_requests(self, listings: int) -> int:
        """Requests a whole `fetch_listings` of a catalog this size costs (discovery)."""
        ...

    def own_requests_per_day(self) -> float:
        """Requests a day spent on the connector's own schedule (Etsy's cancellation
        rescan), on top of one per orders poll."""
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
