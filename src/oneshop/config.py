"""The one config file: TOML parsed into models that forbid unknown keys.

Secrets are never in the file: each names an environment variable or a credential file,
resolved against $CREDENTIALS_DIRECTORY (systemd LoadCredential=) or /run/secrets (Docker).
Every problem is reported as "FILE: key.path: what is wrong"; secret values never are.
Whatever `oneshop run` would trip on is refused here, at load, so `config check` and `run`
refuse the same things. The file's models: configfile.py; rules that need more than
the models: configrules.py.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import platformdirs
from pydantic import BaseModel, SecretStr, ValidationError

from oneshop import configrules as rules
from oneshop.configfile import AccountConfig as AccountConfig
from oneshop.configfile import AlertsConfig as AlertsConfig
from oneshop.configfile import FileConfig as FileConfig
from oneshop.configfile import LoggingConfig as LoggingConfig
from oneshop.configfile import MetricsConfig as MetricsConfig
from oneshop.configfile import SecretRef as SecretRef
from oneshop.configfile import ServiceConfig as ServiceConfig
from oneshop.configfile import SkuOverride as SkuOverride
from oneshop.configfile import WebhooksConfig as WebhooksConfig
from oneshop.errors import ConfigError
from oneshop.plugins import available_connectors
from oneshop.protocols import ConnectorFactory, StoreIdentity

DEFAULT_PATH = Path("/etc/oneshop/oneshop.toml")
SECRET_DIRS = ("CREDENTIALS_DIRECTORY",)
DOCKER_SECRETS = Path("/run/secrets")


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    name: str
    config: AccountConfig
    factory: ConnectorFactory
    settings: BaseModel
    webhook_secret: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    path: Path
    file: FileConfig
    database_url: str
    state_dir: Path
    accounts: dict[str, Account]
    secrets: tuple[str, ...]  # every resolved secret value, for log redaction
    # `[alerts] notify`, each secret reference resolved (also among `secrets`).
    notify_urls: tuple[str, ...] = ()
    status_page_auth: str | None = None  # "user:password" of [status_page] basic_auth


def default_path() -> Path:
    return Path(os.environ.get("ONESHOP_CONFIG") or DEFAULT_PATH)


def state_dir(service: ServiceConfig, env: Mapping[str, str]) -> Path:
    if service.state_dir is not None:
        return service.state_dir
    if env.get("STATE_DIRECTORY"):
        return Path(env["STATE_DIRECTORY"].split(":")[0])
    return Path(platformdirs.user_data_dir("oneshop"))


def resolve_secret(ref: SecretRef, env: Mapping[str, str]) -> str:
    """The secret's value; ValueError says where it was looked for (never the value)."""
    if ref.env is not None:
        value = env.get(ref.env)
        if value is None:
            raise ValueError(f"environment variable {ref.env} is not set")
        if not value.strip():
            raise ValueError(f"environment variable {ref.env} is empty")
        return value.strip()
    assert ref.credential is not None
    if "/" in ref.credential or ref.credential.startswith("."):
        raise ValueError("a credential is a file name, not a path")
    dirs = [Path(env[d]) for d in SECRET_DIRS if env.get(d)] + [DOCKER_SECRETS]
    for directory in dirs:
        candidate = directory / ref.credential
        if candidate.is_file():
            try:
                value = candidate.read_text().strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise ValueError(f"credential file {candidate} is unreadable: "
                                 f"{getattr(exc, 'strerror', None) or 'not UTF-8 text'}"
                                 ) from None
            if not value:
                raise ValueError(f"credential file {candidate} is empty")
            return value
    raise ValueError(f"credential {ref.credential!r} not found in "
                     + ", ".join(str(d) for d in dirs))


def _loc(prefix: str, loc: tuple[int | str, ...]) -> str:
    return ".".join([prefix, *map(str, loc)] if prefix else list(map(str, loc)))


def _message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key"
    return str(err["msg"]).removeprefix("Value error, ")


def _problems(path: Path, prefix: str, exc: ValidationError) -> list[str]:
    return [f"{path}: {_loc(prefix, err['loc'])}: {_message(err)}"
            for err in exc.errors(include_input=False, include_url=False)]


def load(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read, validate and resolve the config; ConfigError lists every problem."""
    path = path or default_path()
    env = os.environ if env is None else env
    try:
        # utf-8-sig: editors on Windows start the file with a BOM, which TOML refuses.
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: cannot read: no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: invalid TOML: {exc}"]) from None
    try:
        file = FileConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_problems(path, "", exc)) from None
    problems: list[str] = []
    url_given = file.service.database_url
    if url_given is not None and (wrong := rules.database_url_problem(url_given)) is not None:
        problems.append(f"{path}: service.database_url: {wrong}")
    if not file.accounts:
        problems.append(f"{path}: accounts: no account configured; add an [accounts.NAME] "
                        "table (see config/oneshop.example.toml)")
    problems += [f"{path}: {key}: {why}" for key, why in rules.bundle_problems(file.skus)]
    secrets: list[str] = []
    accounts = {name: acc for name, cfg in file.accounts.items()
                if (acc := _account(path, name, cfg, env, problems, secrets)) is not None}
    problems += _same_store(path, accounts)
    problems += [f"{path}: skus.{sku}.{key}: {why}" for sku, o in file.skus.items()
                 for key, why in rules.stock_model_problems(
                     o.stock, advertise=o.advertise, capacity=o.capacity_per_week,
                     backorder=o.backorder, reserve=o.reserve, cap=o.cap)]
    notify = _notify_urls(path, file.alerts, env, problems, secrets)
    page_auth = _status_page_auth(path, file, env, problems, secrets)
    if problems:
        raise ConfigError(problems)
    sdir = state_dir(file.service, env)
    url = file.service.database_url or f"sqlite:///{sdir / 'oneshop.sqlite3'}"
    return Config(path=path, file=file, database_url=url, state_dir=sdir, accounts=accounts,
                  secrets=tuple(secrets), notify_urls=notify,
                  status_page_auth=page_auth)


def _same_store(path: Path, accounts: Mapping[str, Account]) -> list[str]:
    """Two enabled accounts on one store would each book every sale: refuse them."""
    identities: dict[str, str | None] = {}
    for name, acc in accounts.items():
        if acc.config.enabled and isinstance(acc.factory, StoreIdentity):
            try:
                identity = acc.factory.store_identity(acc.settings)
            except Exception:  # a third-party hook's bug must not hide the other problems
                identity = None
            identities[name] = None if identity is None else f"{acc.config.kind}:{identity}"
    return [f"{path}: {', '.join(f'accounts.{n}' for n in names)}: point at the same store "
            f"({identity.split(':', 1)[1]}); each would book every sale, so keep one of them"
            for names, identity in rules.same_store(identities)]


def _settings_problems(path: Path, where: str, cfg: AccountConfig,
                       model: type[BaseModel]) -> dict[str, str]:
    """Settings keys refused before the connector's model sees them, with why."""
    secret_fields = {name for name, field in model.model_fields.items()
                     if SecretStr in (field.annotation, *get_args(field.annotation))}
    refused: dict[str, str] = {}
    for key, value in cfg.settings.items():
        if key in secret_fields or rules.looks_secret(key):
            refused[key] = (f"{path}: {where}.settings.{key}: a secret is never written in "
                            f"the file; put it under [{where}.secrets] as "
                            '{ env = "…" } or { credential = "…" }')
        elif (bad := next(rules.non_finite(value, (key,)), None)) is not None:
            refused[key] = f"{path}: {_loc(f'{where}.settings', bad)}: Input should be a " \
                           "finite number"
    return refused


def _account(path: Path, name: str, cfg: AccountConfig, env: Mapping[str, str],
             problems: list[str], secrets: list[str]) -> Account | None:
    where = f"accounts.{name}"
    factory = available_connectors().get(cfg.kind)
    if factory is None:
        known = ", ".join(sorted(available_connectors())) or "none"
        problems.append(f"{path}: {where}.kind: unknown connector {cfg.kind!r} "
                        f"(installed: {known})")
        return None
    refused = _settings_problems(path, where, cfg, factory.settings_model)
    problems += refused.values()
    values: dict[str, Any] = {k: v for k, v in cfg.settings.items() if k not in refused}
    refs = dict(cfg.secrets)
    missing: set[str] = set(refused)
    for key, ref in refs.items():
        try:
            values[key] = SecretStr(resolve_secret(ref, env))
            secrets.append(values[key].get_secret_value())
        except ValueError as exc:
            missing.add(key)
            problems.append(f"{path}: {where}.secrets.{key}: {exc}")
    hook = None
    if cfg.webhook_secret is not None:
        try:
            hook = resolve_secret(cfg.webhook_secret, env)
            secrets.append(hook)
        except ValueError as exc:
            problems.append(f"{path}: {where}.webhook_secret: {exc}")
    try:
        settings = factory.settings_model.model_validate(values)
    except ValidationError as exc:
        for err in exc.errors(include_input=False, include_url=False):
            if err["loc"] and err["loc"][0] in missing:
                continue  # reported above, once: where the secret was looked for
            section = "secrets" if err["loc"] and err["loc"][0] in refs else "settings"
            problems.append(f"{path}: {_loc(f'{where}.{section}', err['loc'])}: "
                            f"{_message(err)}")
        return None
    if refused:
        return None
    return Account(name=name, config=cfg, factory=factory, settings=settings, webhook_secret=hook)


def _notify_urls(path: Path, alerts: AlertsConfig | None, env: Mapping[str, str],
                 problems: list[str], secrets: list[str]) -> tuple[str, ...]:
    """The `[alerts] notify` URLs, resolved; each is a secret (never logged or shown)."""
    urls: list[tuple[int, str]] = []
    for index, item in enumerate(alerts.notify if alerts is not None else []):
        try:
            url = item if isinstance(item, str) else resolve_secret(item, env)
        except ValueError as exc:
            problems.append(f"{path}: alerts.notify.{index}: {exc}")
            continue
        secrets.append(url)
        if (wrong := rules.notify_url_problem(url)) is not None:
            problems.append(f"{path}: alerts.notify.{index}: {wrong}")
            continue
        urls.append((index, url))
    if urls:
        from oneshop.alertnotify import apprise_problems

        problems += [f"{path}: alerts.notify{where}: {why}"
                     for where, why in apprise_problems(urls)]
    return tuple(url for _, url in urls)


def _status_page_auth(path: Path, file: FileConfig, env: Mapping[str, str],
                      problems: list[str], secrets: list[str]) -> str | None:
    """The status page's basic-auth credential; a page reachable from other machines
    without one is refused (it shows stock, order ids and alerts)."""
    from oneshop.status_page.access import credential_problem, is_loopback

    page = file.status_page
    if page is None:
        return None
    host, _ = rules.listen_host(page.listen)
    if page.basic_auth is None:
        if not is_loopback(host):
            problems.append(f"{path}: status_page.basic_auth: required when status_page.listen "
                            f"({page.listen}) is not a loopback address; add basic_auth = "
                            '{ credential = "…" } holding USER:PASSWORD, or listen on '
                            "127.0.0.1")
        return None
    try:
        value = resolve_secret(page.basic_auth, env)
    except ValueError as exc:
        problems.append(f"{path}: status_page.basic_auth: {exc}")
        return None
    if (wrong := credential_problem(value)) is not None:
        problems.append(f"{path}: status_page.basic_auth: {wrong}")
        return None
    secrets.append(value)
    secrets.append(value.partition(":")[2])  # the password alone, for log redaction
    return value
