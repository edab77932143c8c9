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


def reorder_problem(low_stock: int | None, reorder_to: int | None) -> None:
    """A reorder target at or under its threshold would ask to order nothing (or less)."""
    if low_stock is not None and reorder_to is not None and reorder_to <= low_stock:
        raise ValueError(f"reorder_to ({reorder_to}) must be above low_stock ({low_stock})")


_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")


def notify_url_problem(url: str) -> str | None:
    """What is wrong with the shape of a notification URL (never echoed: it may hold a
    token); whether Apprise can send to it is asked at load (config.py)."""
    if _URL_SCHEME.match(url) is None:
        return ("each entry must be an Apprise URL like ntfys://ntfy.sh/TOPIC, or a secret "
                'reference { env = "…" } / { credential = "…" }')
    return None


def bundle_problems(skus: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(key, problem) of each bundle the ledger could not book: one that contains itself,
    contains a bundle (no nesting: a kit's stock is its parts', one level deep), or a
    component whose stock is not a physical count (`stock` other than "tracked")."""
    for name, sku in skus.items():
        if getattr(sku, "bundle", None) and getattr(sku, "stock", "tracked") != "tracked":
            yield f"skus.{name}.stock", ("a bundle has no stock of its own (it is its "
                                         "components'): remove `stock` or `bundle`")
        for part in sorted(getattr(sku, "bundle", None) or {}):
            key = f"skus.{name}.bundle.{part}"
            other = skus.get(part)
            if part == name:
                yield key, "a bundle cannot contain itself"
            elif other is not None and getattr(other, "bundle", None):
                yield key, (f"{part!r} is a bundle itself; bundles do not nest: list its "
                            "components here instead")
            elif other is not None and getattr(other, "stock", "tracked") != "tracked":
                yield key, (f"{part!r} is not a tracked SKU (stock = "
                            f"{getattr(other, 'stock', '')!r}); a bundle is made of counted "
                            "stock only")


def stock_model_problems(stock: str, *, advertise: int | None, capacity: int | None,
                         backorder: int, reserve: int | None, cap: int | None
                         ) -> Iterator[tuple[str, str]]:
    """Keys of one [skus.X] table that contradict its stock model: (key, why)."""
    if stock == "made_to_order" and advertise is None:
        yield "advertise", "a made_to_order SKU needs `advertise` (the quantity channels show)"
    if stock != "made_to_order":
        if advertise is not None:
            yield "advertise", 'only a SKU with stock = "made_to_order" advertises'
        if capacity is not None:
            yield "capacity_per_week", 'only a SKU with stock = "made_to_order" has a capacity'
    if stock != "tracked" and backorder:
        yield "backorder", (f'a SKU with stock = "{stock}" is never out of stock; '
                            "backorder applies to tracked SKUs only")
    if stock == "unlimited":
        for key, value in (("reserve", reserve), ("cap", cap)):
            if value is not None:
                yield key, 'an unlimited SKU is never pushed; remove it or the stock key'
