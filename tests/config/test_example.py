"""config/oneshop.example.toml validates and documents every key there is."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel

from oneshop import config as c
from oneshop.plugins import available_connectors

from .conftest import EXAMPLE, EXAMPLE_CREDENTIALS, EXAMPLE_ENV, Run


def test_the_example_validates_with_its_secrets_resolved(example_env: Path) -> None:
    cfg = c.load(EXAMPLE)
    assert {n: a.config.kind for n, a in cfg.accounts.items()} == {
        "etsy_main": "etsy", "shop_main": "shopify", "gumroad_main": "gumroad"}
    assert set(cfg.secrets) == {*EXAMPLE_ENV.values(), *EXAMPLE_CREDENTIALS.values()}
    assert cfg.file.skus["MUG-BLUE"].cap == 10


def test_config_check_accepts_the_example(example_env: Path, run: Run, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"  # the alert program the example names, on PATH
    bin_dir.mkdir()
    (bin_dir / "ntfy").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "ntfy").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ.get('PATH', '')}")
    code, out, err = run("--config", str(EXAMPLE), "config", "check")
    assert (code, err) == (0, "")
    assert out.count("\n") == 1 and "ok: 3 account(s)" in out
    for secret in [*EXAMPLE_ENV.values(), *EXAMPLE_CREDENTIALS.values()]:
        assert secret not in out


def keys_of(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


def test_the_example_mentions_every_key_of_every_model() -> None:
    """Adding a setting without documenting it here fails this test."""
    text = EXAMPLE.read_text()
    raw = tomllib.loads(text)
    written = set(re.findall(r"(?m)^[#\s]*([a-z_]+)\s*=", text))
    assert keys_of(c.FileConfig) <= set(raw)  # every top-level table is shown
    for name, field in c.FileConfig.model_fields.items():  # accounts: checked below
        models = [t for t in (field.annotation, *getattr(field.annotation, "__args__", ()))
                  if isinstance(t, type) and issubclass(t, BaseModel)]
        for model in models:
            extra = {"settings", "secrets"} if model is c.AccountConfig else set()
            assert keys_of(model) <= written | extra, (name, keys_of(model) - written)
    assert keys_of(c.SkuOverride) <= written
    by_kind = {acc["kind"]: acc for acc in raw["accounts"].values()}
    assert set(by_kind) == set(available_connectors()) >= {"etsy", "shopify", "gumroad"}
    account_keys = keys_of(c.AccountConfig)
    for kind, acc in by_kind.items():
        given = set(acc.get("settings", {})) | set(acc.get("secrets", {}))
        model = available_connectors()[kind].settings_model
        # A key may only be shown commented out (e.g. two ways to authenticate).
        assert keys_of(model) <= given | written, (kind, keys_of(model) - given - written)
        assert set(acc) <= account_keys
    assert account_keys <= written | {"settings", "secrets"}
