"""The package keeps to the core's boundary and registers the right object."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from importlib.metadata import entry_points
from pathlib import Path

import oneshop_connectors.shopify as package
from oneshop_sandboxes.shopify import ShopifySandbox

from oneshop.protocols import Connector, ConnectorContext
from oneshop.testing import MemoryTokenStore

ALLOWED_CORE = {"oneshop.errors", "oneshop.values", "oneshop.protocols", "oneshop.retry",
                "oneshop.http", "oneshop.testing", "oneshop.testing.sandboxkit", "oneshop"}
# structlog is allowed for a logger (one warning when a page size is lowered), never to
# configure logging: that is the core's (checked below).
FORBIDDEN = ("sqlalchemy", "apscheduler", "shopify")


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_only_the_allowed_core_modules_are_imported() -> None:
    root = Path(package.__file__).parent
    for path in root.rglob("*.py"):
        for module in imported_modules(path):
            top = module.split(".")[0]
            assert top not in FORBIDDEN, (path, module)
            if top == "oneshop":
                assert module in ALLOWED_CORE, (path, module)
        assert "structlog.configure" not in path.read_text(), path


def test_the_entry_point_is_the_factory_even_after_every_submodule_is_imported() -> None:
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
    (ep,) = [ep for ep in entry_points(group="oneshop.connectors") if ep.name == "shopify"]
    factory = ep.load()
    assert factory.kind == "shopify"
    sandbox = ShopifySandbox(seed=1)
    settings = factory.settings_model.model_validate(sandbox.connector_settings("http://x"))
    built = factory.build(settings, ConnectorContext(
        account="a", clock=sandbox.clock, sleep=lambda s: None,
        token_store=MemoryTokenStore(), transport=sandbox.transport()))
    assert isinstance(built, Connector)
    assert sandbox.static_token not in repr(built)
    built.close()


def test_sandbox_is_deterministic_given_its_seed() -> None:
    def run(seed: int) -> tuple[str, str, str]:
        sandbox = ShopifySandbox(seed=seed)
        item = sandbox.seed_listing("D", 3)
        return item, sandbox.sell(item, 1), sandbox.static_token

    assert run(4) == run(4)
    assert run(4) != run(5)


def test_the_factory_and_sandbox_satisfy_the_core_protocols_statically() -> None:
    """mypy checks these assignments; at runtime they only have to exist."""
    from oneshop.protocols import ConnectorFactory
    from oneshop.testing import Sandbox

    factory: ConnectorFactory = package.connector
    sandbox: Sandbox = ShopifySandbox()
    assert factory.kind == "shopify" and sandbox.requests == 0
