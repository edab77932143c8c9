"""Shopify search syntax (the subset the sandbox filters on) and opaque paging cursors.

`updated_at:>'2026-05-01T00:00:00Z'`: a field, an optional comparator (`>`, `>=`, `<`,
`<=`, none for equality), and a value that is bare or quoted with single or double quotes
(dates with colons must be quoted). Terms are joined by whitespace or `AND`. Unknown
fields are ignored and reported, as Shopify does, rather than failing the query.
"""

from __future__ import annotations

import base64
import json
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_TERM = re.compile(
    r"""(?P<field>[a-z_]+):(?P<op>>=|<=|>|<)?(?:'(?P<sq>[^']*)'|"(?P<dq>[^"]*)"|(?P<bare>\S+))"""
)
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "": operator.eq,
}
DATE_FIELDS = ("updated_at", "created_at")


@dataclass(frozen=True, slots=True)
class Term:
    field: str
    op: str
    value: str


def parse_query(text: str | None) -> tuple[list[Term], list[str]]:
    """Terms the sandbox understands, and the fields it ignored."""
    terms: list[Term] = []
    ignored: list[str] = []
    for match in _TERM.finditer(text or ""):
        value = match["sq"] if match["sq"] is not None else match["dq"]
        value = value if value is not None else match["bare"]
        term = Term(match["field"], match["op"] or "", value)
        if term.field in DATE_FIELDS:
            terms.append(term)
        else:
            ignored.append(term.field)
    return terms, ignored


def parse_date(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def matches(terms: list[Term], values: dict[str, datetime]) -> bool:
    for term in terms:
        wanted = parse_date(term.value)
        if wanted is None:
            return False
        if not _OPS[term.op](values[term.field], wanted):
            return False
    return True


def encode_cursor(last_id: int, last_value: str | None = None) -> str:
    """Opaque like Shopify's: base64 JSON of the sort key and id of the last node."""
    raw = json.dumps({"last_id": last_id, "last_value": last_value}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, str | None]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return int(data["last_id"]), data.get("last_value")
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError("Invalid cursor for current pagination sort.") from exc
