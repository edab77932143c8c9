"""The `oneshop` command line on a real ledger: db upgrade, adjust, history, status, and
errors as one line with a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from oneshop.ledger import models as m
from oneshop.ledger import records, stock
from oneshop.ledger.db import make_engine, sessions, transaction

from .conftest import Run


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Path:
    monkeypatch.setenv("T_GUM_TOKEN", "gum-token-123456")
    path = tmp_path / "oneshop.toml"
    path.write_text(f"""
[service]
database_url = "{database_url}"

[accounts.gum]
kind = "gumroad"
[accounts.gum.secrets]
access_token = {{ env = "T_GUM_TOKEN" }}
""")
    monkeypatch.setenv("ONESHOP_CONFIG", str(path))
    return path


def one_error_line(code: int, out: str, err: str) -> str:
    assert code != 0 and out == ""
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


def seed(database_url: str, sku: str) -> None:
    engine = make_engine(database_url)
    with transaction(sessions(engine)) as s:
        stock.ensure_skus(s, {sku: "a mug"})
    engine.dispose()


def test_help_lists_the_commands() -> None:
    done = subprocess.run([sys.executable, "-m", "oneshop.cli", "--help"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0
    for command in ("config", "db", "adjust", "history", "status"):
        assert f"  {command}" in done.stdout


def test_a_command_on_an_unmigrated_database_says_to_run_db_upgrade(
        run: Run, cfg: Path) -> None:
    line = one_error_line(*run("status", "--json"))
    assert line.startswith("error: ") and "run `oneshop db upgrade`" in line


def test_upgrade_adjust_history_and_status(run: Run, cfg: Path, database_url: str) -> None:
    code, out, err = run("db", "upgrade")
    assert code == 0 and out.startswith("ledger schema: empty -> ")
    seed(database_url, "MUG")
    assert run("adjust", "MUG", "+3", "--reason", "recount") == (
        0, "MUG: +3 (recount); on hand now 3 (batch 1)\n", "")
    assert run("adjust", "MUG", "-2", "--reason", "broken") == (
        0, "MUG: -2 (broken); on hand now 1 (batch 2)\n", "")
    engine = make_engine(database_url)
    with transaction(sessions(engine)) as s:
        add_push_and_alert(s, "MUG")
    engine.dispose()
    code, out, err = run("history", "MUG", "--json")
    assert (code, err) == (0, "")
    events = json.loads(out)
    assert [(e["kind"], e["detail"]) for e in events] == [
        ("adjust", "+3 (recount)"), ("adjust", "-2 (broken)"),
        ("push", "gum 3->1 ok"), ("alert:oversell", "MUG sold twice")]
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    code, out, err = run("status", "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert [(r["sku"], r["on_hand"]) for r in data["skus"]] == [("MUG", 1)]
    assert [c["account"] for c in data["channels"]] == ["gum"]


def add_push_and_alert(s: Session, sku: str) -> None:
    later = datetime.now(UTC) + timedelta(seconds=5)
    sku_id = stock.sku_ids(s, [sku])[sku]
    binding = m.Binding(account="gum", external_id="p1", sku_id=sku_id, extra={})
    s.add(binding)
    s.flush()
    s.add(m.Push(account="gum", binding_id=binding.id, sku_id=sku_id, quantity=1,
                 observed_before=3, status="ok", detail="", created_at=later))
    records.add_alert(s, event="oversell", severity="critical", message=f"{sku} sold twice",
                    sku_id=sku_id, now=later + timedelta(seconds=1))


@pytest.mark.parametrize("args", [("history", "NOPE"), ("adjust", "NOPE", "+1",
                                                       "--reason", "x")])
def test_an_unknown_sku_is_one_line_and_a_non_zero_exit(
        run: Run, cfg: Path, args: tuple[str, ...]) -> None:
    assert run("db", "upgrade")[0] == 0
    line = one_error_line(*run(*args))
    assert "unknown SKU 'NOPE'" in line


def test_a_delta_that_is_not_a_number_is_refused(run: Run, cfg: Path,
                                                 database_url: str) -> None:
    assert run("db", "upgrade")[0] == 0
    seed(database_url, "MUG")
    code, out, err = run("adjust", "MUG", "three", "--reason", "x")
    assert (code, out) == (2, "") and "Traceback" not in err  # a usage error shows usage
    assert err.strip().splitlines()[-1] == (
        "Error: Invalid value: 'three' is not a whole number like +3 or -2")
