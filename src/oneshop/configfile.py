"""The config file's schema: TOML tables as pydantic models that forbid unknown keys and
bound every number (past a bound a value is a typo). What the models cannot say alone
(a secret written in the file, two accounts on one store) oneshop.config checks at load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

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
    command: list[str] = Field(min_length=1, description=(
        "program and arguments run with each alert as JSON on stdin, "
        'e.g. ["ntfy", "publish", "shop"]'))
    min_interval_s: float = Field(60.0, ge=0, le=WEEK_S, description=(
        "at most one run per event and account in this many seconds"))
    timeout_s: float = Field(30.0, gt=0, le=3600, description="a run taking longer is killed")


class MetricsConfig(Strict):
    listen: str = Field(description="host:port for the Prometheus endpoint, e.g. 127.0.0.1:9464")

    _host_port = field_validator("listen")(_listen)


class SkuOverride(Strict):
    reserve: int | None = Field(None, ge=0, le=MAX_UNITS)
    cap: int | None = Field(None, ge=0, le=MAX_UNITS)


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
