"""Bulk SQL for the ledger's hot paths, public within the ledger package.

Order ingestion writes a page of orders, lines and movements at a time. SQLAlchemy's
per-row parameter handling costs more than the database's work there, so these send
each statement straight to the driver: each column goes through its type's conversion
once (`bulk_params.py`), one statement per page and table. Everything else in the
ledger uses the ORM or Core as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table, any_, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from oneshop.ledger import models as m
from oneshop.ledger.bulk_params import bind_processor, pg_array_literal

# SQLite binds at most 32,766 parameters per statement (3.32+); multi-row inserts are
# split to stay under it.
SQLITE_MAX_PARAMS = 32_766

Fetch = Callable[[], list[tuple[Any, ...]]]


def no_rows() -> list[tuple[Any, ...]]:
    return []


def insert(session: Session, table: Any) -> Any:
    """A dialect insert that knows ON CONFLICT (SQLite and PostgreSQL both do)."""
    dialect = session.get_bind().dialect.name
    mod: Any = postgresql if dialect == "postgresql" else sqlite
    return mod.insert(table)


def is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def table_of(model: type[m.Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def driver_cursor(session: Session) -> Any:
    """A cursor of the DBAPI connection under the session's transaction (begun first)."""
    return session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]


@contextmanager
def pipelined(session: Session) -> Iterator[None]:
    """PostgreSQL: send statements without waiting for each one's result (psycopg's
    pipeline mode), so the server works on one while Python prepares the next.

    Only driver-level statements inside: SQLAlchemy reads each result as it executes.
    """
    if not is_pg(session):
        yield
        return
    with session.connection().connection.driver_connection.pipeline():  # type: ignore[union-attr]
        yield


def among(session: Session, column: Any, values: Sequence[Any]) -> Any:
    """`column IN values`; on PostgreSQL `= ANY(array)`: one parameter, one cached plan."""
    if is_pg(session):
        return column == any_(bindparam("among", list(values), unique=True,
                                        type_=postgresql.ARRAY(column.type)))
    return column.in_(values)


def insert_rows(session: Session, table: Table, cols: Sequence[str],
                rows: Sequence[Sequence[Any]], on_conflict: str,
                returning: str = "") -> Fetch:
    """INSERT rows (values in `cols` order) … `on_conflict` [RETURNING `returning`].

    Returns a function that gives the RETURNING rows: inside `pipelined` (PostgreSQL)
    the statement is only sent, and its rows arrive when asked for.
    """
    if not rows:
        return no_rows
    conn = session.connection()  # begins the transaction (SQLite: takes the write lock)
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
    memo: dict[int, Any] = {}
    for i, c in enumerate(cols):
        proc = bind_processor(table.c[c].type, conn.dialect, memo)
        if proc is not None:
            columns[i] = list(map(proc, columns[i]))
    head = f"INSERT INTO {table.name} ({', '.join(cols)}) "
    tail = f" {on_conflict}" + (f" RETURNING {returning}" if returning else "")
    if conn.dialect.name == "postgresql":
        return _insert_pg(session, table, cols, columns, head, tail, returning)
    return _insert_sqlite(session, list(zip(*columns, strict=True)), head, tail, returning)


def _insert_pg(session: Session, table: Table, cols: Sequence[str],
               columns: Sequence[Sequence[Any]], head: str, tail: str,
               returning: str) -> Fetch:
    """One array per column: the statement text is the same for every page, so psycopg
    prepares it and the server plans it once. Each array goes as one text literal built
    with str.join: psycopg dumps a list element by element in Python, which was a third
    of the ledger's CPU time per order line."""
    dialect = session.get_bind().dialect
    params: list[Any] = []
    arrays = []
    stamps: dict[int, str] = {}
    for c, values in zip(cols, columns, strict=True):
        kind = table.c[c].type
        literal = pg_array_literal(kind, values, stamps)
        params.append(list(values) if literal is None else literal)
        arrays.append(f"{'%b' if literal is None else '%t'}"
                      f"::{kind.compile(dialect=dialect)}[]")
    cursor = driver_cursor(session)
    cursor.execute(f"{head}SELECT * FROM unnest({', '.join(arrays)}){tail}", params)
    return cursor.fetchall if returning else no_rows


def _insert_sqlite(session: Session, values: Sequence[tuple[Any, ...]], head: str,
                   tail: str, returning: str) -> Fetch:
    cursor = driver_cursor(session)
    width = len(values[0])
    one = "(" + ", ".join("?" * width) + ")"
    if not returning:  # the driver's executemany: one prepared statement, a C loop
        cursor.executemany(f"{head}VALUES {one}{tail}", values)
        cursor.close()
        return no_rows
    found: list[tuple[Any, ...]] = []
    step = SQLITE_MAX_PARAMS // width
    for start in range(0, len(values), step):
        chunk = values[start:start + step]
        cursor.execute(f"{head}VALUES {', '.join([one] * len(chunk))}{tail}",
                       [v for row in chunk for v in row])
        found += cursor.fetchall()
    cursor.close()
    return lambda: found


def add_to(session: Session, table: Table, column: str, deltas: Mapping[int, int],
           only_set: bool = False) -> None:
    """Add deltas[id] to `column` of each row, locking rows in id order (no deadlocks).

    only_set: leave rows whose column is NULL as they are.
    """
    rows = sorted((k, d) for k, d in deltas.items() if d)
    if not rows:
        return
    name = table.name
    when_set = f" AND {name}.{column} IS NOT NULL" if only_set else ""
    cursor = driver_cursor(session)
    if not is_pg(session):  # in-process: the driver's executemany is the fast path
        cursor.executemany(f"UPDATE {name} SET {column} = {column} + ? WHERE id = ?"
                           f"{when_set}", [(d, k) for k, d in rows])
        cursor.close()
        return
    # PostgreSQL: one statement. UPDATE … FROM locks rows in whatever order its plan
    # reads them, so the sub-select takes the row locks, in id order, and the update
    # only reaches rows it has locked (NO KEY UPDATE, as an UPDATE takes: it must not
    # conflict with foreign-key checks).
    cursor.execute(
        f"UPDATE {name} SET {column} = {name}.{column} + v.d FROM ("
        f"SELECT id, d FROM {name} JOIN unnest(%t::bigint[], %t::integer[]) AS u(k, d)"
        f" ON id = k ORDER BY id FOR NO KEY UPDATE OF {name}) AS v"
        f" WHERE {name}.id = v.id{when_set}",
        # Arrays as text literals: psycopg dumps a list element by element in Python.
        ["{" + ",".join([str(k) for k, _ in rows]) + "}",
         "{" + ",".join([str(d) for _, d in rows]) + "}"])
