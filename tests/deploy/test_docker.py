"""The Dockerfile and compose file, without a Docker engine: lint both, and run the
image's steps (build the wheel, install it into a fresh venv, --help, config check,
health) on this machine."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import REPO

DEPLOY = REPO / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE_CONFIG = DEPLOY / "oneshop.compose.toml"
CREDENTIALS = ("etsy_shared_secret", "shopify_client_secret", "gumroad_access_token")


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        word, _, rest = (pending + line).partition(" ")
        out.append((word.upper(), rest.strip()))
        pending = ""
    return out


def stages(path: Path) -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for ins in instructions(path):
        if ins[0] == "FROM":
            found.append([])
        if found:
            found[-1].append(ins)
    return found


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


# -- lint -------------------------------------------------------------------------------


def test_every_compose_reference_resolves() -> None:
    data = compose()
    services: dict[str, Any] = data["services"]
    volumes, secrets, configs = (set(data.get(k) or {}) for k in ("volumes", "secrets", "configs"))
    assert {"db", "migrate", "oneshop"} <= set(services)
    for name, svc in services.items():
        for ref in svc.get("secrets", []):
            source = ref if isinstance(ref, str) else ref["source"]
            assert source in secrets, f"{name}: secret {source} is not declared"
        for ref in svc.get("configs", []):
            assert ref["source"] in configs, f"{name}: config {ref['source']} is not declared"
        for vol in svc.get("volumes", []):
            source = vol.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in volumes, f"{name}: volume {source} is not declared"
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            assert cond["condition"] in {"service_started", "service_healthy",
                                         "service_completed_successfully"}
            if cond["condition"] == "service_healthy":
                assert "test" in services[dep].get("healthcheck", {}), f"{dep} has no check"
        build = svc.get("build")
        if build:
            context = (DEPLOY / build["context"]).resolve()
            assert (context / build["dockerfile"]).resolve() == DOCKERFILE
    for name, cfg in (data.get("configs") or {}).items():
        assert (DEPLOY / cfg["file"]).is_file(), f"config {name}: {cfg['file']} missing"
    for name, sec in data["secrets"].items():
        assert Path(sec["file"]).parts[:2] == (".", "secrets") or \
            sec["file"].startswith("./secrets/"), f"secret {name} outside ./secrets"
    # Every secret is used by some service, every declared volume is mounted somewhere.
    used = {s if isinstance(s, str) else s["source"]
            for svc in services.values() for s in svc.get("secrets", [])}
    assert used == secrets
    mounted = {v.split(":", 1)[0] for svc in services.values() for v in svc.get("volumes", [])}
    assert volumes <= mounted


def test_compose_runs_migrations_once_before_the_service() -> None:
    services = compose()["services"]
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    deps = services["oneshop"]["depends_on"]
    assert deps["migrate"]["condition"] == "service_completed_successfully"
    assert deps["db"]["condition"] == "service_healthy"
    assert services["oneshop"]["healthcheck"]["test"] == ["CMD", "oneshop", "health"]
    # The secrets the config names are the secrets the service gets.
    names = set(re.findall(r'credential\s*=\s*"([^"]+)"', COMPOSE_CONFIG.read_text()))
    assert names == set(CREDENTIALS) and names <= set(services["oneshop"]["secrets"])
    env = services["oneshop"]["environment"]
    assert env["PGSERVICEFILE"].removeprefix("/run/secrets/") in services["oneshop"]["secrets"]
    target = {c["target"] for c in services["oneshop"]["configs"]}
    assert target == {"/etc/oneshop/oneshop.toml"}


def test_dockerfile_final_stage_is_non_root_with_healthcheck_and_no_source() -> None:
    build, final = stages(DOCKERFILE)
    assert any(i == "RUN" and "python -m build" in a for i, a in build)
    words = dict(final)
    user = words["USER"].split(":")[0]
    assert user not in {"root", "0", ""}
    assert words["STOPSIGNAL"] == "SIGTERM"
    assert "oneshop" in words["HEALTHCHECK"] and "health" in words["HEALTHCHECK"]
    assert "/var/lib/oneshop" in words["VOLUME"]
    assert "STATE_DIRECTORY=/var/lib/oneshop" in words["ENV"]
    assert not [a for i, a in final if i in {"COPY", "ADD"}], "the final stage copies files"
    installs = " ".join(a for i, a in final if i == "RUN")
    assert "pip install" in installs and ".whl" in installs and "src" not in installs.split()
    assert final[0][1].split()[0] == build[0][1].split()[0]  # same slim base both stages
    volume_target = next(v.split(":", 1)[1] for v in compose()["services"]["oneshop"]["volumes"])
    assert volume_target in words["VOLUME"]


def test_dockerfile_base_is_slim_python() -> None:
    arg = next(a for i, a in instructions(DOCKERFILE) if i == "ARG")
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.1[1-9]-slim(-\w+)?", arg)


# -- the image's steps, run here --------------------------------------------------------


def run(argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, **kw)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from exactly what the build stage copies, in a fresh venv."""
    pytest.importorskip("build", reason="`build` is not installed (pip install build)")
    root = tmp_path_factory.mktemp("image")
    context = root / "context"
    context.mkdir()
    build, _ = stages(DOCKERFILE)
    for ins, args in build:
        if ins == "COPY":
            *sources, _dest = args.split()
            for pattern in sources:
                for found in REPO.glob(pattern):
                    copy = shutil.copytree if found.is_dir() else shutil.copy
                    copy(found, context / found.name)
    done = run([sys.executable, "-m", "build", "--wheel", "--outdir", str(root / "dist"),
                str(context)])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    wheel = next((root / "dist").glob("oneshop-*.whl"))
    venv = root / "venv"
    assert run([sys.executable, "-m", "venv", str(venv)]).returncode == 0
    done = run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                f"{wheel}[postgres]"])
    assert done.returncode == 0, done.stderr[-3000:]
    return venv


def env_for(tmp_path: Path) -> dict[str, str]:
    """The secrets as compose provides them: one file each, in a credentials directory."""
    creds = tmp_path / "secrets"
    creds.mkdir()
    for name in CREDENTIALS:
        (creds / name).write_text(f"test-{name}-value\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONESHOP_", "VIRTUAL_ENV"))}
    return {**env, "CREDENTIALS_DIRECTORY": str(creds), "STATE_DIRECTORY": str(tmp_path / "st")}


@pytest.mark.slow
def test_the_wheel_installs_and_runs_the_image_commands(installed: Path, tmp_path: Path) -> None:
    oneshop = str(installed / "bin" / "oneshop")
    where = run([str(installed / "bin" / "python"), "-c",
                 "import oneshop; print(oneshop.__file__)"], cwd=tmp_path)
    assert where.stdout.startswith(str(installed)), where.stdout  # the wheel, not src/
    helped = run([oneshop, "--help"], cwd=tmp_path)
    assert helped.returncode == 0 and "health" in helped.stdout and "run" in helped.stdout

    env = env_for(tmp_path)
    checked = run([oneshop, "--config", str(COMPOSE_CONFIG), "config", "check"], env=env,
                  cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "ok: 3 account(s)" in checked.stdout and "service=oneshop" in checked.stdout

    (tmp_path / "secrets" / "gumroad_access_token").unlink()
    missing = run([oneshop, "--config", str(COMPOSE_CONFIG), "config", "check"], env=env,
                  cwd=tmp_path)
    assert missing.returncode == 2 and "gumroad_access_token" in missing.stderr

    # `oneshop health` on a fresh ledger: the compose config with SQLite instead of PostgreSQL.
    (tmp_path / "secrets" / "gumroad_access_token").write_text("x-value\n")
    local = tmp_path / "oneshop.toml"
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    local.write_text(re.sub(r'(?m)^database_url = .*$', f'database_url = "{url}"',
                            COMPOSE_CONFIG.read_text()).replace('"/var/lib/oneshop"',
                                                                f'"{tmp_path / "st"}"'))
    upgraded = run([oneshop, "--config", str(local), "db", "upgrade"], env=env, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr  # migrations ship inside the wheel
    health = run([oneshop, "--config", str(local), "health"], env=env, cwd=tmp_path)
    assert health.returncode == 1
    lines = health.stdout.strip().splitlines()
    assert len(lines) == 1 and "no successful poll yet" in lines[0]


@pytest.mark.slow
def test_the_wheel_alone_has_no_emulators_and_the_demo_says_how_to_add_them(
        installed: Path, tmp_path: Path) -> None:
    """`pip install oneshop` without the `sandbox` extra: neither the emulators nor
    graphql-core are there, and `oneshop demo` says in one line how to get them."""
    python = str(installed / "bin" / "python")
    for module in ("oneshop_sandboxes", "graphql"):
        found = run([python, "-c", f"import {module}"], cwd=tmp_path)
        assert found.returncode == 1 and "ModuleNotFoundError" in found.stderr, module
    demo = run([str(installed / "bin" / "oneshop"), "demo"], cwd=tmp_path)
    assert demo.returncode == 2 and demo.stdout == ""
    assert demo.stderr.splitlines() == [
        "oneshop demo runs on the marketplace emulators; the sandboxes are not installed: "
        "pip install 'oneshop[sandbox]' (from a checkout: make install)"]
