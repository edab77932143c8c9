"""Run the real CLI entry point in-process (exit code, stdout, stderr)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from oneshop.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "oneshop.example.toml"
# Dummy secret values for the example's references; distinctive, so a leak is obvious.
# The example names credential files only (the names deploy/ loads), no variables.
EXAMPLE_ENV: dict[str, str] = {}
EXAMPLE_CREDENTIALS = {"etsy_shared_secret": "etsy-SECRET-0003",
                       "shopify_client_secret": "shpss-SECRET-0001",
                       "gumroad_access_token": "gum-SECRET-0002",
                       "gumroad_webhook_token": "hook-SECRET-0004"}
Run = Callable[..., tuple[int, str, str]]
SECRET = "tok-VERY-SECRET-4242"  # the token GOOD configs (test_check.py) read from T_GUM_TOKEN


@pytest.fixture
def example_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The environment and credential files the example config names."""
    creds = tmp_path / "credentials"
    creds.mkdir()
    for name, value in EXAMPLE_CREDENTIALS.items():
        (creds / name).write_text(value + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    for name, value in EXAMPLE_ENV.items():
        monkeypatch.setenv(name, value)
    return creds


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    def invoke(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["oneshop", *args])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = int(exc.code or 0) if not isinstance(exc.code, str) else 1
        out = capsys.readouterr()
        return code, out.out, out.err
    return invoke


@pytest.fixture
def write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where a test writes its config; T_GUM_TOKEN set, no credentials directory."""
    monkeypatch.setenv("T_GUM_TOKEN", SECRET)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    return tmp_path / "oneshop.toml"
