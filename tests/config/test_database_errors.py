"""A database failure reaches a person as one line: what failed, the database (password
masked) and what to do; never SQLAlchemy's text with its SQL and its link."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from oneshop.ledger.db import describe_error

from .conftest import Run
from .test_check import GOOD


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: the ledger database ")
    for raw in ("[SQL:", "sqlalche.me", "Background on this error", "Traceback",
                "OperationalError", "DatabaseError"):
        assert raw not in lines[0], lines[0]
    return lines[0]


def test_a_locked_sqlite_ledger_is_one_line_with_what_to_do() -> None:
    exc = OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError(
        "database is locked"))
    assert "[SQL: BEGIN IMMEDIATE]" in str(exc) and "sqlalche.me" in str(exc)  # the raw text
    line = describe_error(exc, "sqlite:////var/lib/oneshop/oneshop.sqlite3")
    assert line == ("the ledger database sqlite:////var/lib/oneshop/oneshop.sqlite3 failed: "
                    "database is locked; another process held its write lock longer than the "
                    "30 s busy timeout; is a second oneshop or a backup writing to it? Try "
                    "again when it is done")


@pytest.mark.parametrize(("message", "advice"), [
    ("attempt to write a readonly database", "the ledger file or its directory is read-only"),
    ("database or disk is full", "the disk is full: free space"),
    ("no such table: skus", "the ledger has no oneshop tables: run `oneshop db upgrade`"),
    ("something new", "check the database, then try again (-v shows the details)"),
])
def test_each_known_cause_gets_its_advice(message: str, advice: str) -> None:
    exc = OperationalError("INSERT INTO x", {"a": 1}, sqlite3.OperationalError(message))
    line = describe_error(exc, "sqlite:///x.db")
    assert f"failed: {message}; {advice}" in line and "\n" not in line


@pytest.mark.parametrize("command", [["status"], ["history", "MUG"], ["adjust", "MUG", "+1",
                                                                      "--reason", "r"]])
def test_a_ledger_that_cannot_be_opened_is_one_line(
        run: Run, write: Path, tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "a-file").write_text("")
    write.write_text(f'[service]\ndatabase_url = "sqlite:///{tmp_path}/a-file/l.db"\n{GOOD}')
    code, _, err = run("--config", str(write), *command)
    assert code == 1
    line = one_error_line(err)
    assert line == (f"error: the ledger database sqlite:///{tmp_path}/a-file/l.db failed: "
                    "unable to open database file; check that the ledger's directory exists "
                    "and that this user may write there")


def test_a_file_that_is_not_a_ledger_is_one_line_also_for_run(
        run: Run, write: Path, tmp_path: Path) -> None:
    (tmp_path / "junk.db").write_bytes(b"not sqlite at all " * 300)
    write.write_text(f'[service]\ndatabase_url = "sqlite:///{tmp_path}/junk.db"\n{GOOD}')
    for command in (["status"], ["run"]):
        code, _, err = run("--config", str(write), *command)
        assert code == 1
        assert "failed: file is not a database; the file is not a oneshop ledger" in \
            one_error_line(err)


def test_postgresql_unreachable_is_one_line_with_the_password_masked(
        run: Run, write: Path) -> None:
    url = "postgresql+psycopg://shop:pw-VERY-SECRET@127.0.0.1:1/oneshop"
    write.write_text(f'[service]\ndatabase_url = "{url}"\n{GOOD}')
    code, _, err = run("--config", str(write), "status")
    assert code == 1
    line = one_error_line(err)
    assert "pw-VERY-SECRET" not in err
    assert line.startswith("error: the ledger database "
                           "postgresql+psycopg://shop:***@127.0.0.1:1/oneshop failed: ")
    assert line.endswith("PostgreSQL does not answer: check that it runs and that the host "
                         "and port are right")


def test_a_password_the_driver_repeats_is_masked_too() -> None:
    exc = OperationalError("SELECT 1", None, Exception(
        "invalid dsn: postgresql://shop:pw-VERY-SECRET@db:5432/oneshop"))
    line = describe_error(exc, "postgresql+psycopg://shop:pw-VERY-SECRET@db:5432/oneshop")
    assert "pw-VERY-SECRET" not in line and "shop:***@db" in line


def test_a_postgresql_database_that_does_not_exist_is_one_line(run: Run, write: Path) -> None:
    from sqlalchemy.engine import make_url

    pg_url = os.environ.get("ONESHOP_TEST_DATABASE_URL")
    if not pg_url:
        pytest.skip("ONESHOP_TEST_DATABASE_URL is not set: PostgreSQL ledger tests skipped")
    url = make_url(pg_url).set(database="oneshop_t_never_created", password="pw-VERY-SECRET")
    write.write_text(f'[service]\ndatabase_url = "{url.render_as_string(hide_password=False)}"'
                     f"\n{GOOD}")
    code, _, err = run("--config", str(write), "status")
    assert code == 1
    line = one_error_line(err)
    assert url.render_as_string(hide_password=True) in line and "pw-VERY-SECRET" not in err
    assert line.endswith('database "oneshop_t_never_created" does not exist; create it, then '
                         "run `oneshop db upgrade`")
