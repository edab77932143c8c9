"""Config rules the models cannot state alone, each a pure function of the parsed file.

Every rule answers with the words of one problem line (config.py adds "FILE: key:"), so
`oneshop config check` and `oneshop run` refuse the same things in the same words.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

# A key under [accounts.X.settings] named like a secret is a secret written in the file:
# it would be stored in clear and never registered for log redaction.
SECRET_WORDS = ("token", "secret", "password", "key")
NOT_SECRET = frozenset({"keystring"})  # Etsy's public app id: it goes in every URL
LEDGER_BACKENDS = ("sqlite", "postgresql")
URL_EXAMPLES = ("sqlite:////var/lib/oneshop/oneshop.sqlite3 or "
                "postgresql+psycopg://USER@HOST/DATABASE")
_LISTEN = re.compile(r"^(?P<host>\[[0-9a-fA-F:.]+\]|[^\s:\[\]/]+):(?P<port>\d{1,5})$")


def looks_secret(name: str) -> bool:
    lowered = name.lower()
    return lowered not in NOT_SECRET and any(word in lowered for word in SECRET_WORDS)


def non_finite(value: Any, loc: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Where the parsed TOML holds inf or nan: no oneshop setting means either."""
    if isinstance(value, float) and not math.isfinite(value):
        yield loc
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            yield from non_finite(inner, (*loc, str(key)))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from non_finite(inner, (*loc, str(index)))


def listen_problem(value: str) -> str | None:
    """What is wrong with a `host:port` listen address, if anything (no DNS here)."""
    found = _LISTEN.match(value)
    if found is None:
        return "must be host:port, e.g. 127.0.0.1:8780 (IPv6: [::1]:8780)"
    if not 1 <= int(found["port"]) <= 65535:
        return "the port must be between 1 and 65535"
    return None


def listen_host(value: str) -> tuple[str, int]:
    """'127.0.0.1:8780' or '[::1]:8780' -> (host, port), brackets removed."""
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)


def database_url_problem(url: str) -> str | None:
    """What is wrong with a ledger URL, if anything, without connecting.

    Never echoes the URL: a malformed one may hold a password in clear.
    """
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
        backend = parsed.get_backend_name()
    except Exception:  # any parse failure means the same thing to the seller
        return f"not a database URL; write {URL_EXAMPLES}"
    if backend not in LEDGER_BACKENDS:
        return (f"unsupported database {backend!r}: the ledger runs on SQLite or PostgreSQL "
                f"({URL_EXAMPLES})")
    try:
        dialect = parsed.get_dialect()
    except Exception:
        return f"unknown database driver {parsed.drivername!r}; write {URL_EXAMPLES}"
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        return (f"the driver of {parsed.drivername!r} is not installed ({exc}); for "
                "PostgreSQL write postgresql+psycopg://… and install oneshop[postgres]")
    if backend == "sqlite" and not parsed.database:
        return "an in-memory SQLite ledger forgets everything on exit; give a file path"
    return None


def ignore_problem(globs: list[str]) -> str | None:
    """What is wrong with an account's `ignore` globs, if anything."""
    for glob in globs:
        if not glob.strip():
            return "an empty glob would match nothing; remove it"
        if glob != glob.strip():
            return f"glob {glob!r} starts or ends with spaces: SKUs are matched exactly"
        if len(glob) > 255:
            return "a glob is at most 255 characters (a SKU's length)"
    if len(set(globs)) != len(globs):
        return "a glob is given twice"
    return None


def same_store(identities: Mapping[str, str | None]) -> list[tuple[list[str], str]]:
    """Groups of two or more accounts whose connectors name the same store."""
    by_store: dict[str, list[str]] = {}
    for account, identity in identities.items():
        if identity is not None:
            by_store.setdefault(identity, []).append(account)
    return [(names, identity) for identity, names in by_store.items() if len(names) > 1]
