"""Parameters for the bulk statements (`bulk.py`), converted as SQLAlchemy would convert
them, only faster: every order has its own timestamps, and SQLAlchemy's per-value chain
(astimezone, then a dict-keyed format on SQLite) cost more than the database's work.

`test_bind_values.py` holds each conversion to SQLAlchemy's own, value for value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Float, Integer, Numeric, String

from oneshop.ledger import models as m

# SQLAlchemy's SQLite DATETIME text, which SQL compares as strings, by position:
# %-formatting a tuple is twice as fast as a dict (or an f-string).
DATETIME_TEXT = "%04d-%02d-%02d %02d:%02d:%02d.%06d"
# What tells which conversion SQLAlchemy makes: an aware UTC time with microseconds.
PROBE = datetime(2001, 2, 3, 4, 5, 6, 7, tzinfo=UTC)
Convert = Callable[[Any], Any]
Form = Literal["text", "as is", "other"]


def _as_text(v: datetime) -> str:
    return DATETIME_TEXT % (v.year, v.month, v.day, v.hour, v.minute, v.second,
                            v.microsecond)


def sqlalchemy_processor(kind: Any, dialect: Any) -> Convert | None:
    """The conversion SQLAlchemy applies to a value of `kind` bound on `dialect`."""
    proc: Convert | None = kind.dialect_impl(dialect).bind_processor(dialect)
    return proc


def timestamp_form(slow: Convert) -> Form:
    """How SQLAlchemy binds a UTC timestamp: "text" (SQLite's DATETIME text, which we
    format ourselves), "as is" (the driver takes the datetime: PostgreSQL) or "other"
    (neither: every value goes through SQLAlchemy)."""
    out = slow(PROBE)
    if isinstance(out, str) and out == _as_text(PROBE):
        return "text"
    if isinstance(out, datetime) and out == PROBE and out.tzinfo is UTC:
        return "as is"
    return "other"


def bind_processor(kind: Any, dialect: Any, memo: dict[int, Any]) -> Convert | None:
    """The type's bind processor; for UTC timestamps a faster one giving the same values.

    On SQLite each datetime object is formatted once per call (`memo`, by identity: the
    rows keep them alive): a page's `now` is in every row, an order's created_at often
    its updated_at.
    """
    slow = sqlalchemy_processor(kind, dialect)
    if slow is None or not isinstance(kind, m.UtcDateTime):
        return slow
    form = timestamp_form(slow)
    if form == "text":
        def to_text(v: Any) -> Any:
            done = memo.get(id(v))
            if done is not None:
                return done
            if v is None or v.tzinfo is not UTC:  # naive (refused) or another zone
                return slow(v)
            done = memo[id(v)] = _as_text(v)
            return done
        return to_text
    if form == "as is":
        def as_utc(v: Any) -> Any:
            return v if v is not None and v.tzinfo is UTC else slow(v)
        return as_utc
    return slow


def _pg_timestamp(v: datetime) -> str:
    if v.tzinfo is not UTC:
        if v.tzinfo is None:
            raise ValueError("naive datetime given to the ledger")
        v = v.astimezone(UTC)
    return _as_text(v) + "+00"


def pg_array_literal(kind: Any, values: Sequence[Any],
                     memo: dict[int, str] | None = None) -> str | None:
    """PostgreSQL's text form of an array of `values` for a column of type `kind`
    (every element quoted), or None for a type or a value it does not cover.

    memo: timestamps already formatted, by id() of datetime objects kept alive.
    """
    kinds = set(map(type, values))
    nulls = type(None) in kinds
    kinds.discard(type(None))
    if isinstance(kind, Integer | Numeric) and not isinstance(kind, Float):
        if not kinds <= {int, Decimal}:  # bool is not int here: type() is exact
            return None
        items = ["NULL" if v is None else str(v) for v in values] if nulls else [
            *map(str, values)]
    elif isinstance(kind, String):
        if kinds - {str}:
            return None
        if not nulls:
            joined = "".join(values)
            if "\\" not in joined and '"' not in joined:  # nothing to escape
                return '{"' + '","'.join(values) + '"}'
        items = ["NULL" if v is None else v.replace("\\", "\\\\").replace('"', '\\"')
                 for v in values]
    elif isinstance(kind, m.UtcDateTime):
        if kinds - {datetime}:
            return None
        items = _pg_timestamps(values, {} if memo is None else memo)
    else:
        return None
    if nulls:  # NULL unquoted, every other element quoted
        return "{" + ",".join(t if t == "NULL" and v is None else f'"{t}"'
                              for t, v in zip(items, values, strict=True)) + "}"
    return '{"' + '","'.join(items) + '"}'


def _pg_timestamps(values: Sequence[datetime | None], memo: dict[int, str]) -> list[str]:
    # Each object formatted once: a page's `now` is in every row.
    return ["NULL" if v is None else memo[id(v)] if id(v) in memo
            else memo.setdefault(id(v), _pg_timestamp(v)) for v in values]
