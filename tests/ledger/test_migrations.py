"""Migrations: upgrade from empty, refuse an out-of-date schema, models == migration."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from oneshop.ledger.db import make_engine
from oneshop.ledger.models import Base
from oneshop.ledger.schema import (
    SchemaOutOfDate,
    current_revision,
    head_revision,
    require_current,
    upgrade,
)


def test_upgrade_from_empty_creates_every_table_and_is_repeatable(database_url: str) -> None:
    engine = make_engine(database_url)
    assert current_revision(engine) is None
    assert upgrade(engine) == (None, head_revision())
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    assert upgrade(engine) == (head_revision(), head_revision())
    require_current(engine)  # no error at head
    engine.dispose()


def test_an_empty_database_is_refused_with_the_command_to_run(database_url: str) -> None:
    engine = make_engine(database_url)
    with pytest.raises(SchemaOutOfDate, match=r"no oneshop tables.*run `oneshop db upgrade`"):
        require_current(engine)
    engine.dispose()


def test_an_old_schema_is_refused_with_the_command_to_run(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0000_old'"))
    with pytest.raises(SchemaOutOfDate, match=r"is at 0000_old.*`oneshop db upgrade`"):
        require_current(engine)


def test_the_models_and_the_migrations_agree(engine: Engine) -> None:
    """What `alembic check` does: autogenerate finds nothing left to migrate."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True,
                                                     "compare_server_default": True})
        assert compare_metadata(ctx, Base.metadata) == []


def test_postgresql_keeps_room_for_counter_updates(engine: Engine) -> None:
    """skus and bindings rows are updated by every sale: pages keep room for HOT updates."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no fillfactor")
    with engine.connect() as conn:
        options = dict(conn.execute(text(
            "SELECT relname, reloptions FROM pg_class WHERE relname IN ('skus', 'bindings')")
        ).all())
    assert options == {"skus": ["fillfactor=70"], "bindings": ["fillfactor=70"]}
