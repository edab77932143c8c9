"""`pip install oneshop` ships the service, not the emulators: the base wheel, built for
real from a copy of the checkout (sandboxes/ included, so the package discovery must
leave it out), holds no sandbox, no demo and no GraphQL, and does not depend on
graphql-core; the emulators are the `oneshop-sandboxes` distribution's. Source-level
checks keep the service from importing them."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# What a checkout's `pip install .` builds from; sandboxes/ is there too, as in a clone.
CHECKOUT = ("pyproject.toml", "README.md", "src", "connectors", "sandboxes")
KINDS = ("etsy", "shopify", "gumroad")
EMULATOR_MODULES = ("oneshop_sandboxes", "graphql")


def imports(source: str, filename: str) -> set[str]:
    """Every module a file imports, at any depth (a lazy import counts too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def emulator_imports(files: dict[str, str]) -> list[str]:
    """`path: module` for each import of an emulator or of GraphQL among `files`."""
    return [f"{path}: {module}" for path, source in sorted(files.items())
            for module in sorted(imports(source, path))
            if module.split(".")[0] in EMULATOR_MODULES]


@pytest.fixture(scope="module")
def base_wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    pytest.importorskip("build", reason="`build` is not installed (pip install build)")
    root = tmp_path_factory.mktemp("wheel")
    # A copy: a stale build/ in the checkout would otherwise be packed into the wheel.
    for name in CHECKOUT:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / "src-copy" / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
        else:
            (root / "src-copy").mkdir(exist_ok=True)
            shutil.copy(source, root / "src-copy" / name)
    done = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir",
                           str(root / "dist"), str(root / "src-copy")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return zipfile.ZipFile(next((root / "dist").glob("oneshop-*.whl")))


@pytest.mark.slow
def test_the_base_wheel_holds_the_service_and_no_emulator(base_wheel: zipfile.ZipFile) -> None:
    names = base_wheel.namelist()
    # The service and every connector are really in it (a wheel of nothing passes nothing).
    for kind in KINDS:
        assert f"oneshop_connectors/{kind}/__init__.py" in names
    assert "oneshop/cli.py" in names and "oneshop/testing/contract.py" in names
    assert [n for n in names if "sandbox/" in n or n.startswith("oneshop_sandboxes")
            or n == "oneshop/demo.py"] == []
    sources = {n: base_wheel.read(n).decode() for n in names if n.endswith(".py")}
    assert len(sources) > 100
    # The CLI names the demo's module only to say how to install it (tested in tests/cli).
    assert emulator_imports(sources) == ["oneshop/cli_service.py: oneshop_sandboxes.demo"]


@pytest.mark.slow
def test_the_base_wheel_does_not_depend_on_graphql(base_wheel: zipfile.ZipFile) -> None:
    (metadata,) = [n for n in base_wheel.namelist() if n.endswith(".dist-info/METADATA")]
    requires = [line.removeprefix("Requires-Dist: ") for line in
                base_wheel.read(metadata).decode().splitlines()
                if line.startswith("Requires-Dist: ")]
    runtime = [r for r in requires if "extra ==" not in r]
    assert any(r.startswith("SQLAlchemy") for r in runtime)
    assert [r for r in requires if "graphql" in r.lower()] == []
    assert 'oneshop-sandboxes<0.2,>=0.1.0; extra == "sandbox"' in requires
    (entry_points,) = [n for n in base_wheel.namelist() if n.endswith("entry_points.txt")]
    assert "oneshop.sandboxes" not in base_wheel.read(entry_points).decode()


def test_the_sandboxes_distribution_registers_every_emulator_and_brings_graphql() -> None:
    project = tomllib.loads((REPO / "sandboxes" / "pyproject.toml").read_text())["project"]
    assert project["name"] == "oneshop-sandboxes"
    assert any(d.startswith("graphql-core") for d in project["dependencies"])
    assert any(d.startswith("oneshop>") for d in project["dependencies"])
    group = project["entry-points"]["oneshop.sandboxes"]
    assert sorted(group) == sorted(KINDS)
    for kind, target in group.items():
        assert target.startswith(f"oneshop_sandboxes.{kind}:")


def test_the_service_and_connectors_import_no_emulator() -> None:
    """From the source too: what the wheel test sees, for every file `src/` and
    `connectors/` hold now (the wheel test is `slow`)."""
    files = {str(p.relative_to(REPO)): p.read_text()
             for top in ("src", "connectors") for p in sorted((REPO / top).rglob("*.py"))}
    assert len(files) > 100
    assert emulator_imports(files) == ["src/oneshop/cli_service.py: oneshop_sandboxes.demo"]


def test_the_check_catches_an_emulator_import() -> None:
    files = {"a.py": "def f():\n    from graphql import parse\n",
             "b.py": "import oneshop_sandboxes.etsy\n", "c.py": "import graphqlish\n"}
    assert emulator_imports(files) == ["a.py: graphql", "b.py: oneshop_sandboxes.etsy"]
