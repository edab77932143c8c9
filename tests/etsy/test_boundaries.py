"""The connector stays inside its layer, and transport failures are retried."""

from __future__ import annotations

import ast
from pathlib import Path

import oneshop_connectors.etsy as package

from .conftest import Rig

ALLOWED_CORE = {"oneshop.errors", "oneshop.values", "oneshop.protocols", "oneshop.retry",
                "oneshop.http", "oneshop.testing", "oneshop.testing.sandboxkit", "oneshop"}
FORBIDDEN = ("sqlalchemy", "apscheduler", "time", "structlog.stdlib", "logging.config")


def test_connector_imports_only_the_core_contracts() -> None:
    root = Path(package.__file__).parent
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                if name.startswith("oneshop.") or name == "oneshop":
                    assert name in ALLOWED_CORE, f"{path.name} imports {name}"
                assert not name.startswith(FORBIDDEN) or (
                    name == "time" and "sandbox" in path.parts), f"{path.name} imports {name}"


def test_dropped_connections_and_server_errors_are_retried(rig: Rig) -> None:
    external_id = rig.sandbox.seed_listing("DROP-1", 2)
    rig.sandbox.faults.drop_next(1)
    rig.sandbox.fail_next(1, status=502)
    assert external_id in rig.listings()
    assert rig.sandbox.requests == 3 + 2  # two failed attempts, then the three pages


def test_hand_edit_to_zero_marks_the_listing_sold_out(rig: Rig) -> None:
    external_id = rig.sandbox.seed_listing("EDIT-0", 2)
    rig.sandbox.hand_edit(external_id, 0)
    listing = rig.listings()[external_id]
    assert (listing.state, listing.quantity) == ("sold_out", 0)
