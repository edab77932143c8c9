"""The connector stays a translator: it imports only the core's contract modules."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import oneshop_connectors.gumroad as package

from oneshop.plugins import GROUP

ALLOWED = {"oneshop.errors", "oneshop.values", "oneshop.protocols", "oneshop.retry",
           "oneshop.http", "oneshop.testing", "oneshop.testing.sandboxkit"}
FORBIDDEN_ROOTS = {"sqlalchemy", "apscheduler", "structlog"}


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names
                                      if node.module == "oneshop"}
    return found


def test_connector_imports_only_the_core_contracts() -> None:
    root = Path(package.__file__).parent
    for path in root.rglob("*.py"):
        for name in imported_modules(path):
            assert name.split(".")[0] not in FORBIDDEN_ROOTS, (path, name)
            if name == "oneshop" or name.startswith("oneshop."):
                assert name in ALLOWED | {"oneshop"}, (path, name)


def test_entry_point_object_survives_importing_every_submodule() -> None:
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
    from importlib.metadata import entry_points

    (ep,) = [e for e in entry_points(group=GROUP) if e.name == "gumroad"]
    factory = ep.load()
    assert factory.kind == "gumroad" and callable(factory.build)


def test_every_setting_is_documented_and_extra_keys_are_refused() -> None:
    from pydantic import ValidationError

    for name, info in package.GumroadSettings.model_fields.items():
        assert info.description, name
    try:
        package.GumroadSettings.model_validate({"access_token": "t", "acess_token": "t"})
    except ValidationError:
        pass
    else:
        raise AssertionError("a misspelt key was accepted")
