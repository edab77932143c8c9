"""The example config, the systemd unit and the compose file name the same secrets: copying
the example under systemd or compose finds every credential it asks for."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from .conftest import REPO

EXAMPLE = REPO / "config" / "oneshop.example.toml"
COMPOSE_CONFIG = REPO / "deploy" / "oneshop.compose.toml"
UNIT = REPO / "deploy" / "oneshop.service"
COMPOSE = REPO / "deploy" / "compose.yaml"


def secret_refs(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, str]]]:
    """Every `{ env = … }` / `{ credential = … }` table in a parsed config, with its key."""
    if isinstance(node, dict):
        if set(node) in ({"env"}, {"credential"}):
            yield where, node
            return
        for key, value in node.items():
            yield from secret_refs(value, f"{where}.{key}" if where else key)


def credentials(config: Path) -> dict[str, str]:
    """credential file name -> the first key that names it."""
    found: dict[str, str] = {}
    for key, ref in secret_refs(tomllib.loads(config.read_text())):
        if "credential" in ref:
            found.setdefault(ref["credential"], key)
    return found


def unit_credentials(unit: Path) -> dict[str, str]:
    """LoadCredential=NAME:PATH lines of the [Service] section: NAME -> PATH."""
    section, found = "", {}
    for raw in unit.read_text().splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and line.startswith("LoadCredential="):
            name, _, path = line.removeprefix("LoadCredential=").partition(":")
            found[name] = path
    return found


def compose_secrets() -> tuple[set[str], dict[str, str]]:
    """(secrets the oneshop service gets, declared secret -> its file)."""
    data = yaml.safe_load(COMPOSE.read_text())
    given = {s if isinstance(s, str) else s["source"]
             for s in data["services"]["oneshop"].get("secrets", [])}
    return given, {name: spec["file"] for name, spec in data["secrets"].items()}


def test_the_example_names_its_secrets_as_credentials_only() -> None:
    refs = list(secret_refs(tomllib.loads(EXAMPLE.read_text())))
    assert len(refs) >= 5  # every account's secrets plus the webhook secrets
    assert [key for key, ref in refs if "env" in ref] == [], \
        "under systemd and compose a secret is a credential file, not a variable"


def test_every_credential_of_the_example_is_loaded_by_the_unit() -> None:
    wanted, loaded = credentials(EXAMPLE), unit_credentials(UNIT)
    assert set(wanted) <= set(loaded), {n: wanted[n] for n in set(wanted) - set(loaded)}
    # and nothing the example does not use: a LoadCredential= whose file is missing
    # stops the start, so an extra line is a start failure for whoever copies both.
    assert set(loaded) <= set(wanted)
    assert all(path == f"/etc/oneshop/credentials/{name}" for name, path in loaded.items())


def test_every_credential_of_the_example_is_given_to_the_compose_service() -> None:
    wanted = credentials(EXAMPLE)
    given, declared = compose_secrets()
    assert set(wanted) <= given, {n: wanted[n] for n in set(wanted) - given}
    assert all(declared[name] == f"./secrets/{name}" for name in wanted)


def test_the_compose_config_uses_the_example_names_and_gets_them() -> None:
    used = credentials(COMPOSE_CONFIG)
    given, _ = compose_secrets()
    assert set(used) <= set(credentials(EXAMPLE)) and set(used) <= given
