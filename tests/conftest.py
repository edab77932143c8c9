"""Shared fixtures: a ledger database on SQLite always, and on PostgreSQL when
ONESHOP_TEST_DATABASE_URL is set (CI sets it)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_URL = os.environ.get("ONESHOP_TEST_DATABASE_URL")
PG_SKIP = "ONESHOP_TEST_DATABASE_URL is not set: PostgreSQL ledger tests skipped"


def _pg_database() -> Iterator[str]:
    assert PG_URL is not None
    name = f"oneshop_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty ledger database URL (not yet migrated)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
        return
    if not PG_URL:
        pytest.skip(PG_SKIP)
    yield from _pg_database()


@pytest.fixture
def specs_dir() -> Path:
    here = Path(os.environ.get("ONESHOP_SPECS_DIR") or
                Path(__file__).resolve().parents[1].parent / "shared" / "specs")
    if not here.is_dir():
        pytest.skip(f"real API contracts not found at {here} (set ONESHOP_SPECS_DIR)")
    return here
