"""The hot path's own parameter conversion gives what SQLAlchemy would store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import BigInteger, Column, Engine, MetaData, Numeric, String, Table, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import psycopg

from oneshop.ledger import booking, bulk_params
from oneshop.ledger import models as m
from oneshop.ledger.db import sessions, transaction
from oneshop.values import Order, OrderLine

STAMPS = [
    datetime(2026, 1, 1, tzinfo=UTC),
    datetime(2026, 1, 1, 0, 0, 5, 123456, tzinfo=UTC),
    datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 5, 5, 1, 2, 3, 4, tzinfo=ZoneInfo("Europe/Paris")),
    datetime(2026, 5, 5, 1, 2, 3, tzinfo=timezone(timedelta(hours=-5))),
    None,
]


@pytest.mark.parametrize("dialect", [sqlite.dialect(), psycopg.dialect()],
                         ids=["sqlite", "postgresql"])
def test_timestamps_bind_as_sqlalchemy_binds_them(dialect: object) -> None:
    # SQLite compares the stored text (excluded.updated_at >= orders.updated_at): it
    # must be byte-identical to SQLAlchemy's.
    kind = m.Order.__table__.c.updated_at.type
    slow = kind.dialect_impl(dialect).bind_processor(dialect)
    assert slow is not None
    fast = bulk_params.bind_processor(kind, dialect, {})
    assert fast is not None
    assert [fast(v) for v in STAMPS] == [slow(v) for v in STAMPS]
    with pytest.raises(ValueError, match="naive"):
        fast(datetime(2026, 1, 1))


@pytest.mark.parametrize(("dialect", "form"), [(sqlite.dialect(), "text"),
                                              (psycopg.dialect(), "as is")],
                         ids=["sqlite", "postgresql"])
def test_timestamps_take_the_fast_path(dialect: object, form: str) -> None:
    # The fast conversions stand in for SQLAlchemy's only where its own conversion of a
    # probe matches them; a SQLAlchemy that converts otherwise makes ingestion slower
    # without failing anything else, so it fails here.
    kind = m.Order.__table__.c.updated_at.type
    slow = bulk_params.sqlalchemy_processor(kind, dialect)
    assert slow is not None
    assert bulk_params.timestamp_form(slow) == form


def test_array_literals_round_trip(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL array literals")
    meta = MetaData()
    t = Table("bind_values_probe", meta, Column("s", String(255)), Column("i", BigInteger()),
              Column("n", Numeric(14, 4)), Column("d", m.UtcDateTime()))
    strings = ["a", "", "NULL", None, 'x"y', "b\\c", "{,}", " sp ", "é€", "two\nlines"]
    columns = {
        "s": strings,
        "i": [1, -2, 0, None, 2**40, 5, 6, 7, 8, 9],
        "n": [Decimal("12.50"), Decimal("-0.0001"), Decimal("1E+3"), None, 3,
              Decimal("9999999999.9999"), Decimal(0), Decimal("1.5"), 2, 3],
        "d": [*STAMPS[:5], None, *STAMPS[:4]],
    }
    plain = {k: [v for v in vals if v is not None] for k, vals in columns.items()}
    plain["s"] = [v.replace('"', "").replace("\\", "") for v in plain["s"]]  # the join path
    meta.create_all(engine)
    try:
        for cols in (columns, plain):
            literals = [bulk_params.pg_array_literal(t.c[k].type, cols[k]) for k in "sind"]
            assert None not in literals
            with engine.begin() as conn:
                conn.execute(t.delete())
                cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
                cur.execute(f"INSERT INTO {t.name} SELECT * FROM unnest(%t::varchar(255)[],"
                            " %t::bigint[], %t::numeric(14, 4)[], %t::timestamptz[])", literals)
                got = conn.execute(select(t.c.s, t.c.i, t.c.n, t.c.d)).all()
            assert sorted(map(tuple, got), key=repr) == sorted(zip(*[cols[k] for k in "sind"],
                                                                   strict=True), key=repr)
    finally:
        meta.drop_all(engine)
    # Values it does not cover go the driver's way.
    assert bulk_params.pg_array_literal(t.c.i.type, [True, 1]) is None
    with pytest.raises(ValueError, match="naive"):
        bulk_params.pg_array_literal(t.c.d.type, [datetime(2026, 1, 1)])


def test_order_with_odd_text_is_recorded_as_given(engine: Engine) -> None:
    factory = sessions(engine)
    at = datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=ZoneInfo("America/New_York"))
    odd = 'ord "7" \\ {x,y}'
    with transaction(factory) as s:
        booking.record_orders(s, "acct", [Order(
            external_id=odd, status="open", currency="EUR", total=Decimal("1.5"),
            created_at=at, updated_at=at,
            lines=(OrderLine(external_id="NULL", sku=None, listing_external_id=None,
                             quantity=1, unit_price=Decimal("1.5")),))])
    with sessions(engine)() as s:
        row = s.execute(select(m.Order.external_id, m.Order.updated_at)).one()
        assert row == (odd, at)
        assert s.execute(select(m.OrderLine.external_id, m.OrderLine.sku)).one() == ("NULL", None)
