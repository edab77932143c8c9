"""A whole shop on sandboxes: the three emulators plus a config that points oneshop at
them. Used by `oneshop demo`, `oneshop sandbox`, the end-to-end tests and the benchmarks."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from oneshop import app as app_mod
from oneshop.config import (
    Account,
    AccountConfig,
    Config,
    FileConfig,
    ServiceConfig,
    SkuOverride,
)
from oneshop.plugins import available_connectors
from oneshop.protocols import Clock, secret_values
from oneshop.testing.sandbox import Sandbox, sandbox_for
from oneshop.wsgi_server import Served, serve

KINDS = ("etsy", "shopify", "gumroad")


def wait_for(check: Callable[[], bool], timeout_s: float = 20.0, what: str = "",
             step_s: float = 0.05) -> None:
    """Poll `check` until true; AssertionError naming `what` when time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(step_s)
    assert check(), f"timed out after {timeout_s:g} s waiting for {what or check}"


@dataclass(slots=True, kw_only=True)
class SandboxShop:
    state_dir: Path
    kinds: Sequence[str] = KINDS
    serve_http: bool = False
    latency_s: float = 0.0
    clock: Clock | None = None
    database_url: str | None = None
    account_options: Mapping[str, Any] = field(default_factory=dict)
    # Per-kind connector settings on top of what the sandbox suggests (e.g. pacing).
    settings_overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    sandboxes: dict[str, Sandbox] = field(default_factory=dict)
    served: dict[str, Served] = field(default_factory=dict)
    webhooks_listen: str | None = None
    webhook_secrets: dict[str, str] = field(default_factory=dict)
    # The config file's [skus."X"] tables (reserve, cap, bundle, …).
    skus: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for seed, kind in enumerate(self.kinds):
            self.sandboxes[kind] = sandbox_for(kind, seed=seed + 1, latency_s=self.latency_s,
                                               clock=self.clock)
            if self.serve_http:
                self.served[kind] = serve(self.sandboxes[kind].wsgi_app)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.database_url = self.database_url or f"sqlite:///{self.state_dir / 'oneshop.sqlite3'}"

    def base_url(self, kind: str) -> str:
        return self.served[kind].url if kind in self.served else "http://sandbox.invalid"

    def settings(self, kind: str) -> dict[str, Any]:
        return {**self.sandboxes[kind].connector_settings(self.base_url(kind)),
                **self.settings_overrides.get(kind, {})}

    def config(self) -> Config:
        """An in-memory config (secrets inline), for in-process use."""
        assert self.database_url is not None
        factories = available_connectors()
        accounts = {}
        for kind in self.kinds:
            cfg = AccountConfig.model_validate({"kind": kind, **self.account_options})
            settings = factories[kind].settings_model.model_validate(self.settings(kind))
            accounts[kind] = Account(name=kind, config=cfg, factory=factories[kind],
                                     settings=settings, webhook_secret=None)
        file = FileConfig(service=ServiceConfig(database_url=self.database_url,
                                                state_dir=self.state_dir),
                          skus={k: SkuOverride.model_validate(v) for k, v in self.skus.items()})
        return Config(path=self.state_dir / "oneshop.toml", file=file,
                      database_url=self.database_url, state_dir=self.state_dir,
                      accounts=accounts, secrets=())

    def enable_webhooks(self, listen: str) -> None:
        """Make every sandbox deliver its webhooks to a receiver that will listen there."""
        import secrets

        self.webhooks_listen = listen
        base = f"http://{listen}/webhooks"
        for kind, sandbox in self.sandboxes.items():
            hooks: Any = sandbox
            if kind == "gumroad":
                token = secrets.token_urlsafe(16)
                hooks.deliver_webhooks_to(f"{base}/{kind}/{token}")
                self.webhook_secrets[kind] = token
            elif kind == "etsy":
                self.webhook_secrets[kind] = hooks.deliver_webhooks_to(f"{base}/{kind}")
            else:
                secret = secrets.token_hex(16)
                hooks.deliver_webhooks_to(f"{base}/{kind}", secret)
                self.webhook_secrets[kind] = secret

    def prepare_ledger(self, *, take_over: bool = False) -> None:
        """Migrate the ledger and store OAuth tokens the sandboxes issued (Etsy).

        take_over: then adopt the counts the sandboxes show now (`oneshop adopt --min`),
        so `oneshop run` may start; listings seeded later are adopted where first seen."""
        assert self.database_url is not None
        with app_mod.open_ledger(self.database_url, check_schema=False) as ledger:
            ledger.upgrade()
            for kind, sandbox in self.sandboxes.items():
                tokens = sandbox.issue_tokens()
                if tokens is not None:
                    ledger.token_store(kind, self.state_dir).save(tokens)
        if take_over:
            from oneshop.adopt import adopt_with

            # On the sandboxes' clock: a read stamped by the wall clock would sit before
            # or after their orders' times at random.
            application = self.build_app(**({"clock": self.clock} if self.clock else {}))
            try:
                adopt_with(application, source=None, force=False)
            finally:
                application.close()

    def build_app(self, **kwargs: Any) -> app_mod.App:
        transports: dict[str, httpx.BaseTransport] = {
            k: s.transport() for k, s in self.sandboxes.items() if k not in self.served}
        return app_mod.build(self.config(), transports=transports, **kwargs)

    def write_config(self, path: Path, *, poll_seconds: float = 2.0,
                     extra: str = "") -> dict[str, str]:
        """Write a TOML config for a separate `oneshop run`; returns the env with secrets."""
        env: dict[str, str] = {}
        factories = available_connectors()
        lines = ["[service]", f"database_url = {json.dumps(self.database_url)}",
                 f"state_dir = {json.dumps(str(self.state_dir))}", "",
                 "[logging]", 'format = "json"', "",
                 *([f'[webhooks]\nlisten = "{self.webhooks_listen}"', ""]
                   if self.webhooks_listen else [])]
        for kind in self.kinds:
            raw = self.settings(kind)
            secret_names = set(secret_values(factories[kind].settings_model.model_validate(raw)))
            hook = self.webhook_secrets.get(kind)
            if hook:
                env[f"ONESHOP_{kind.upper()}_WEBHOOK_SECRET"] = hook
            lines += [f"[accounts.{kind}]", f'kind = "{kind}"',
                      f"poll_seconds = {poll_seconds}",
                      *([f'webhook_secret = {{ env = "ONESHOP_{kind.upper()}_WEBHOOK_SECRET" }}']
                        if hook else []),
                      *(f"{k} = {json.dumps(v)}" for k, v in self.account_options.items()),
                      f"[accounts.{kind}.settings]"]
            lines += [f"{k} = {json.dumps(v)}" for k, v in raw.items()
                      if k not in secret_names and v is not None]
            lines.append(f"[accounts.{kind}.secrets]")
            for name in sorted(secret_names):
                var = f"ONESHOP_{kind.upper()}_{name.upper()}"
                env[var] = str(raw[name])
                lines.append(f'{name} = {{ env = "{var}" }}')
            lines.append("")
        for sku, table in self.skus.items():
            lines += [f"[skus.{json.dumps(sku)}]",
                      *(f"{k} = {_toml(v)}" for k, v in table.items()), ""]
        path.write_text("\n".join(lines) + extra)
        return env

    def seed(self, sku: str, quantity: int, *, title: str = "") -> dict[str, str]:
        """The same SKU listed on every channel with the same quantity."""
        return {kind: s.seed_listing(sku, quantity, title=title or sku)
                for kind, s in self.sandboxes.items()}

    def close(self) -> None:
        for served in self.served.values():
            served.close()
        self.served.clear()


def _toml(value: Any) -> str:
    """A TOML value: an inline table for a mapping (a bundle's components), else JSON's."""
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)
