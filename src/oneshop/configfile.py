"""The config file's schema: TOML tables as pydantic models that forbid unknown keys and
bound every number (past a bound a value is a typo). What the models cannot say alone
(a secret written in the file, two accounts on one store) oneshop.config checks at load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from oneshop import configrules as rules

# Upper bounds: past them a value is a typo, and some (inf) overflow the scheduler.
DAY_S = 86_400.0
WEEK_S = 7 * DAY_S
MAX_UNITS = 1_000_000  # reserve and cap; no channel shows more (Etsy: 999)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _listen(value: str) -> str:
    problem = rules.listen_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


class SecretRef(Strict):
    """Where a secret lives: an environment variable or a credential file name."""

    env: str | None = Field(None, description="environment variable holding the secret")
    credential: str | None = Field(
        None, description="file name under $CREDENTIALS_DIRECTORY or /run/secrets")

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.credential is None):
            raise ValueError("give exactly one of `env` or `credential`")
        return self


class ServiceConfig(Strict):
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: SQLite file in the state directory")
    state_dir: Path | None = Field(
        None, description="default: $STATE_DIRECTORY, else the per-user data directory")
    adopt_new: Literal["first_seen", "manual"] = Field("first_seen", description=(
        "a SKU that first appears after the takeover: adopted from the channel it appears "
        "on (first_seen), or left unknown until `oneshop adopt` (manual)"))
    bulk_guard_share: float = Field(0.25, ge=0, le=1, description=(
        "hold a push that would take more than this share of an account's listings to 0 "
        "for reasons other than sales, until `oneshop release ACCOUNT`"))
    alert_reminder_s: float = Field(21600.0, gt=0, description=(
        "an alert whose condition lasts is told again at most this often (docs/alerts.md)"))
    ledger_fail_exit_s: float = Field(120.0, gt=0, description=(
        "after this many seconds of the ledger failing every transaction, `run` exits "
        "non-zero so that its supervisor restarts it"))
    low_stock: int | None = Field(None, ge=0, le=MAX_UNITS, description=(
        "alert `low_stock` once when a SKU's available count falls to this or below "
        "(docs/low-stock.md); a SKU's own `low_stock` under [skus.X] wins"))
    reorder_to: int | None = Field(None, ge=1, le=MAX_UNITS, description=(
        "shown in the low_stock alert: how many to order to get back to this many"))
    low_stock_digest_hour: int | None = Field(None, ge=0, le=23, description=(
        "once a day at this UTC hour, one `low_stock_digest` line listing every SKU at or "
        "below its threshold (unset: no digest)"))

    @model_validator(mode="after")
    def _reorder_above_threshold(self) -> ServiceConfig:
        rules.reorder_problem(self.low_stock, self.reorder_to)
        return self


class LoggingConfig(Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class WebhooksConfig(Strict):
    listen: str = Field(description="host:port for the webhook receiver, e.g. 127.0.0.1:8780")
    max_body_bytes: int = Field(1_000_000, gt=0, le=100_000_000)

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        # The receiver binds rpartition(":")'s host verbatim: "[::1]" must lose its brackets.
        host, port = rules.listen_host(_listen(value))
        return f"{host}:{port}"


class AlertsConfig(Strict):
    command: list[str] | None = Field(None, min_length=1, description=(
        "program and arguments run with each alert as JSON on stdin, "
        'e.g. ["ntfy", "publish", "shop"]'))
    min_interval_s: float = Field(60.0, ge=0, le=WEEK_S, description=(
        "at most one run per event and account in this many seconds"))
    timeout_s: float = Field(30.0, gt=0, le=3600, description="a run taking longer is killed")
    notify: list[str | SecretRef] = Field(default_factory=list, max_length=20, description=(
        "Apprise URLs every alert is delivered to (docs/notifications.md); a URL holding a "
        'token belongs in a secret: { env = "…" } or { credential = "…" }'))
    min_severity: Literal["info", "warning", "error", "critical"] = Field(
        "warning", description="deliver to `notify` only alerts at least this severe "
                               "(an episode's resolved line follows its start)")

    @model_validator(mode="after")
    def _something_to_run(self) -> AlertsConfig:
        if self.command is None and not self.notify:
            raise ValueError("give `command`, `notify`, or both (or remove [alerts])")
        return self


class MetricsConfig(Strict):
    listen: str = Field(description="host:port for the Prometheus endpoint, e.g. 127.0.0.1:9464")

    _host_port = field_validator("listen")(_listen)


class StatusPageConfig(Strict):
    """The read-only status page (docs/status-page.md)."""

    listen: str = Field("127.0.0.1:8790", description=(
        "host:port for the status page; anything but a loopback address needs basic_auth"))
    basic_auth: SecretRef | None = Field(None, description=(
        "where the page's USER:PASSWORD lives: { credential = NAME } or { env = VAR }"))
    refresh_s: int = Field(30, ge=5, le=3600, description="the page reloads itself this often")

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, port = rules.listen_host(_listen(value))
        return f"{host}:{port}"


class SkuOverride(Strict):
    reserve: int | None = Field(None, ge=0, le=MAX_UNITS)
    cap: int | None = Field(None, ge=0, le=MAX_UNITS)
    low_stock: int | None = Field(None, ge=0, le=MAX_UNITS, description=(
        "this SKU's low-stock threshold (instead of [service] low_stock)"))
    reorder_to: int | None = Field(None, ge=1, le=MAX_UNITS, description=(
        "this SKU's reorder target (instead of [service] reorder_to)"))

    # Rules across SKUs (no nesting, no self, tracked components): configrules.bundle_problems.
    bundle: dict[str, Annotated[int, Field(ge=1, le=MAX_UNITS)]] | None = Field(
        None, min_length=1, description=(
            "a bundle (kit) with no stock of its own: component SKU -> units of it in one "
            "bundle (docs/bundles.md)"))
    # Stock models (docs/stock-models.md); rules across keys: configrules.stock_model_problems.
    stock: Literal["tracked", "unlimited", "made_to_order"] = Field("tracked", description=(
        "tracked: a physical count; unlimited: never counted nor pushed (digital); "
        "made_to_order: channels show `advertise`"))
    advertise: int | None = Field(None, ge=1, le=MAX_UNITS, description=(
        "made_to_order: the quantity every channel shows"))
    capacity_per_week: int | None = Field(None, ge=1, le=MAX_UNITS, description=(
        "made_to_order: sales per ISO week (UTC) before channels show 0 until Monday"))
    backorder: int = Field(0, ge=0, le=MAX_UNITS, description=(
        "units that may be sold below zero (pre-orders, backorders)"))

    @model_validator(mode="after")
    def _reorder_above_threshold(self) -> SkuOverride:
        rules.reorder_problem(self.low_stock, self.reorder_to)
        return self


class AccountConfig(Strict):
    kind: str = Field(description="connector kind: an installed `oneshop.connectors` entry")
    enabled: bool = True
    poll_seconds: float = Field(60.0, ge=0.5, le=DAY_S)
    reconcile_seconds: float = Field(3600.0, ge=1, le=WEEK_S)
    discover_seconds: float = Field(21600.0, ge=1, le=WEEK_S)
    stale_after_polls: int = Field(10, ge=2, le=10_000)
    reserve: int = Field(0, ge=0, le=MAX_UNITS, description="units held back from this channel")
    cap: int | None = Field(None, ge=0, le=MAX_UNITS, description="show at most this many units")
    hand_edit_policy: Literal["adopt", "overwrite", "alert"] = "adopt"
    webhook_secret: SecretRef | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, SecretRef] = Field(default_factory=dict)
    min_poll_seconds: float = Field(10.0, ge=0.5, le=DAY_S, description=(
        "a channel with a daily API budget (Etsy) polls orders as often as its budget "
        "allows, down to this; `poll_seconds` is then the slowest it polls on its own "
        "(the lower of the two wins)"))
    ignore: list[str] = Field(default_factory=list, description=(
        "globs on the channel SKU (fnmatch, case-sensitive), e.g. [\"SAMPLE-*\", \"*-DRAFT\"]: "
        "matching listings are never written or reconciled; their orders move no stock"))
    duplicate_skus: Literal["refuse", "bind_all"] = Field("refuse", description=(
        "one SKU on several listings of this channel: bind none and alert (refuse), or "
        "bind every one of them and tell each the same quantity (bind_all)"))

    @field_validator("ignore")
    @classmethod
    def _globs(cls, value: list[str]) -> list[str]:
        problem = rules.ignore_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value


class FileConfig(Strict):
    service: ServiceConfig = Field(default_factory=ServiceConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    webhooks: WebhooksConfig | None = None
    alerts: AlertsConfig | None = None
    metrics: MetricsConfig | None = None
    accounts: dict[str, AccountConfig] = Field(default_factory=dict)
    skus: dict[str, SkuOverride] = Field(default_factory=dict)
    status_page: StatusPageConfig | None = None
