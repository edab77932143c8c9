"""The ledger's tables. Stock is the sum of append-only movements; `skus.on_hand` is a
cached total kept in the same transaction as the movements that change it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite has no BIGINT autoincrement; INTEGER PRIMARY KEY is its 64-bit rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on SQLite (naive storage) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the ledger")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# PostgreSQL: room on each page for the updates of a row's counters (on_hand,
# observed_qty), which every recorded sale makes: see migration 0003.
COUNTER_PAGES = {"postgresql_with": {"fillfactor": 70}}


class Sku(Base):
    __tablename__ = "skus"
    __table_args__ = (COUNTER_PAGES,)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sku: Mapped[str] = mapped_column(String(255), unique=True)
    title: Mapped[str] = mapped_column(String(500), default="")
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserve: Mapped[int | None] = mapped_column(Integer)
    cap: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # When the SKU's count was adopted (`oneshop adopt`, or first seen after the
    # takeover). Until then the SKU is unknown: its stock is never published, not even 0.
    adopted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The stock model from the config file (oneshop.stock_models, docs/stock-models.md):
    # "tracked" (a count), "unlimited" (never pushed) or "made_to_order" (`advertise`).
    stock_model: Mapped[str] = mapped_column(String(20), default="tracked",
                                             server_default="tracked", index=True)
    advertise: Mapped[int | None] = mapped_column(Integer)
    capacity_per_week: Mapped[int | None] = mapped_column(Integer)
    backorder: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Made to order: this ISO week's sales reached capacity_per_week (channels show 0).
    capacity_full: Mapped[bool] = mapped_column(Boolean, default=False,
                                                server_default=false())


class Binding(Base):
    """One channel listing (bound to a SKU, or not yet: sku_id NULL)."""

    __tablename__ = "bindings"
    __table_args__ = (
        UniqueConstraint("account", "external_id"),
        # Every page of orders looks up the few listings adopted after the takeover
        # (history.load_cutoffs); without it that is a scan of every binding per page.
        Index("ix_bindings_history_until", "account", "history_until"),
        COUNTER_PAGES)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str] = mapped_column(String(255))
    sku_id: Mapped[int | None] = mapped_column(ForeignKey("skus.id"), index=True)
    channel_sku: Mapped[str | None] = mapped_column(String(255), index=True)
    title: Mapped[str] = mapped_column(String(500), default="")
    state: Mapped[str] = mapped_column(String(40), default="active")
    bound_by: Mapped[str | None] = mapped_column(String(20))  # auto | manual
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    observed_qty: Mapped[int | None] = mapped_column(Integer)
    observed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    pushed_qty: Mapped[int | None] = mapped_column(Integer)
    pushed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    deactivated_by_us: Mapped[bool] = mapped_column(Boolean, default=False)
    # A channel rule (Etsy zero-stock policy) holds this listing while the published
    # quantity stays at held_qty: no pushes, no drift, until the SKU's stock changes.
    held_qty: Mapped[int | None] = mapped_column(Integer)
    # A quantity the channel showed that our pushes and its sales do not explain; it is
    # folded in (hand edit) only when the next reconcile sees the same value again, so a
    # sale racing the read is never mistaken for an edit.
    drift_seen: Mapped[int | None] = mapped_column(Integer)
    # Units sold on the channel while one of our writes to it was in flight, on a channel
    # whose writes replace the quantity without compare-and-set (Etsy): the write may
    # have erased them. They are not taken off our belief (the write most likely erased
    # them), and the channel may show up to this many fewer until a read settles it.
    raced_qty: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Push answers that came back stale since the last reconcile, and how many
    # reconciles in a row found some: a listing whose pushes never settle (drift.py).
    stale_pushes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    stale_reconciles: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Units a cancellation booked for this listing that the channel may have put back on
    # its own (undocumented: Etsy): a rise by exactly this much, seen before a push of
    # ours lands, is the channel's restock, not a hand edit.
    restock_pending: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The channel's own order time up to which this listing's sales are already in the
    # SKU's adopted count (NULL: the account's takeover watermark).
    history_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # What the channel showed at our last read of it (a catalog scan or a push's answer),
    # as opposed to observed_qty, what we believe it shows now (it follows sales).
    read_qty: Mapped[int | None] = mapped_column(Integer)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Ignored listings (ledger/ignore.py): "hand" (`oneshop ignore`), "config" (an
    # account's `ignore` glob), "resumed" (ignored once, then not: never adopted from the
    # channel on its own); NULL: never ignored.
    ignored: Mapped[str | None] = mapped_column(String(20))


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("account", "external_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # When the buyer paid, as the channel says (NULL: unpaid, or the channel does not say).
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OrderLine(Base):
    __tablename__ = "order_lines"
    # Schema decision: no index on sku_id (no query looks lines up by SKU; every order
    # line paid for one). The one lookup besides the unique key, `catalog.link` booking
    # the lines a listing sold while unbound, gets a partial index: only unbound lines
    # are in it, so recording bound lines never touches it.
    __table_args__ = (
        UniqueConstraint("order_id", "external_id"),
        Index("ix_order_lines_unbound", "listing_external_id",
              sqlite_where=text("sku_id IS NULL"), postgresql_where=text("sku_id IS NULL")),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Foreign keys kept although on PostgreSQL each check is a query and a parent row
    # lock per recorded line (about a fifth of recording an order): without them the
    # ingest benchmark still misses its target, and the ledger's integrity is the product.
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    external_id: Mapped[str] = mapped_column(String(255))
    sku: Mapped[str | None] = mapped_column(String(255))
    listing_external_id: Mapped[str | None] = mapped_column(String(255))
    sku_id: Mapped[int | None] = mapped_column(ForeignKey("skus.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    # Units refunded on this line (restocked or not); only ever grows (a poll's overlap
    # may bring an older version of the order).
    refunded_quantity: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A line bound to no SKU that its account's takeover read: already in the adopted
    # counts (history), so a later `oneshop link` never books it. Bound lines need no
    # flag: their history movement's source key says so.
    read_at_takeover: Mapped[bool] = mapped_column(Boolean, default=False,
                                                   server_default=false())


class Movement(Base):
    """Append-only. `source_key` makes recording any event idempotent."""

    __tablename__ = "movements"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    kind: Mapped[str] = mapped_column(String(20))  # sale restock adjust count channel_edit
    delta: Mapped[int] = mapped_column(Integer)
    source_key: Mapped[str] = mapped_column(String(400), unique=True)
    account: Mapped[str | None] = mapped_column(String(100))
    order_external_id: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The operator batch (`oneshop batches`) that made this movement; NULL for what the
    # sync books (sales, restocks, hand edits folded in).
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("operator_batches.id"))

    # Schema decision: a SKU's movements newest first (oversell alerts, the SKU timeline)
    # by (sku_id, id), which is what those queries order by; created_at was never used
    # and tripled the size of the index every recorded sale writes to. The batch index is
    # partial: a recorded sale (no batch) never touches it.
    __table_args__ = (Index("ix_movements_sku_id", "sku_id", "id"),
                      Index("ix_movements_batch", "batch_id",
                            sqlite_where=text("batch_id IS NOT NULL"),
                            postgresql_where=text("batch_id IS NOT NULL")))


class Cursor(Base):
    __tablename__ = "cursors"
    account: Mapped[str] = mapped_column(String(100), primary_key=True)
    stream: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RejectedRecord(Base):
    __tablename__ = "rejected_records"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account: Mapped[str] = mapped_column(String(100))
    stream: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Push(Base):
    """What was sent to which channel, when, and what came of it."""

    __tablename__ = "pushes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account: Mapped[str] = mapped_column(String(100))
    binding_id: Mapped[int] = mapped_column(ForeignKey("bindings.id"), index=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    observed_before: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    observed_after: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_pushes_sku_created", "sku_id", "created_at"),)


class Alert(Base):
    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event: Mapped[str] = mapped_column(String(60), index=True)
    severity: Mapped[str] = mapped_column(String(10))
    account: Mapped[str | None] = mapped_column(String(100))
    sku_id: Mapped[int | None] = mapped_column(ForeignKey("skus.id"), index=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(400), unique=True)
    message: Mapped[str] = mapped_column(Text)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # An episode (oneshop.alerts): `episode_key` = event + account + subject, open while
    # `resolved_at` is null; at most one open episode per key (the partial unique index).
    episode_key: Mapped[str | None] = mapped_column(String(400))
    notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reminders: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ux_alerts_open_episode", "episode_key", unique=True,
                            sqlite_where=text("resolved_at IS NULL"),
                            postgresql_where=text("resolved_at IS NULL")),)


class Credential(Base):
    """Rotating OAuth tokens (Etsy), saved before first use."""

    __tablename__ = "credentials"
    account: Mapped[str] = mapped_column(String(100), primary_key=True)
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class AccountState(Base):
    """Health of each account, for `status`, `health` and the stale-channel alert."""

    __tablename__ = "account_state"
    account: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    budget_remaining: Mapped[int | None] = mapped_column(Integer)
    budget_limit: Mapped[int | None] = mapped_column(Integer)
    adopted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The takeover watermark: the channel's own order time up to which its orders were
    # already reflected in the adopted counts. NULL: not taken over yet.
    watermark_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Set while the bulk-zero guard holds pushes to this account (`oneshop release`).
    hold_reason: Mapped[str | None] = mapped_column(Text)
    release_once: Mapped[bool] = mapped_column(Boolean, default=False,
                                               server_default=false())
    # Raised by an operator change that can put listings out of step without a movement
    # (link, unlink, release, resume): the next push plan reads the whole account.
    plan_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The schedule planned from the daily API budget (oneshop.plan), as the service last
    # chose it; NULL for a channel without one. `status` shows it.
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The seller's pause (`oneshop pause`): set while the account's listings are kept off
    # sale; `pause_until` ends it on its own; `pause_batch_id` the batch that began it.
    paused_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    pause_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    pause_reason: Mapped[str | None] = mapped_column(Text)
    pause_batch_id: Mapped[int | None] = mapped_column(BigId)
    # Since when the channel itself says the shop is on vacation (Etsy `is_vacation`).
    vacation_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class BundleComponent(Base):
    """A bundle (kit) SKU is made of `quantity` units of each component SKU; it has no
    stock of its own (`ledger/bundles.py`). Kept from the config file's `bundle` keys."""

    __tablename__ = "bundle_components"
    bundle_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True,
                                              index=True)
    quantity: Mapped[int] = mapped_column(Integer)


class OperatorBatch(Base):
    """Every write a person makes (adjust, adopt, link, pause...): who asked what, and why.

    Its movements carry its id; `changes` lists what it changed besides stock (a binding,
    a pause), with the value before, so `oneshop undo` can put it back."""

    __tablename__ = "operator_batches"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    command: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    undoes: Mapped[int | None] = mapped_column(ForeignKey("operator_batches.id"))
    undone_by: Mapped[int | None] = mapped_column(ForeignKey("operator_batches.id"))
