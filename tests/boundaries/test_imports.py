"""Two layers, one direction: connectors never import the database, the scheduler, or the
core's stateful modules (read from the source with ast, so nothing is imported)."""

from __future__ import annotations

import ast
from pathlib import Path

CONNECTORS = Path(__file__).resolve().parents[2] / "connectors"
FORBIDDEN = ("sqlalchemy", "apscheduler", "alembic", "oneshop.ledger", "oneshop.engine",
             "oneshop.service", "oneshop.app", "oneshop.config", "oneshop.logs",
             "oneshop.daemon", "oneshop.schedule", "oneshop.coordinator",
             "oneshop.configfile", "oneshop.webhook_server")


def imported(tree: ast.AST) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
            # `from oneshop import ledger` imports oneshop.ledger too
            out += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return out


def violations(root: Path) -> list[str]:
    bad = []
    for path in sorted(root.rglob("*.py")):
        for line, name in imported(ast.parse(path.read_text(), str(path))):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
                bad.append(f"{path.relative_to(root)}:{line}: imports {name}")
    return bad


def test_connectors_import_none_of_the_core_state() -> None:
    files = list(CONNECTORS.rglob("*.py"))
    assert len(files) > 20  # the connectors are really there
    assert violations(CONNECTORS) == []


def test_the_check_catches_a_forbidden_import(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("import sqlalchemy.orm\nfrom oneshop import logs\n"
                                     "from oneshop.values import Order\n")
    assert violations(tmp_path) == ["bad.py:1: imports sqlalchemy.orm",
                                    "bad.py:2: imports oneshop.logs"]
