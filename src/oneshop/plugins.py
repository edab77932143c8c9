"""Finding plugins: connectors in the `oneshop.connectors` entry-point group and nowhere
else; their emulators in `oneshop.sandboxes` (loaded by `oneshop.testing` only)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import structlog

from oneshop.protocols import ConnectorFactory

GROUP = "oneshop.connectors"
SANDBOX_GROUP = "oneshop.sandboxes"
FACTORY_PARTS = ("kind", "settings_model", "build")
log = structlog.get_logger("oneshop.plugins")


def load_group(group: str, valid: Callable[[Any], bool], invalid: str, *,
               extra: str | None = None) -> dict[str, Any]:
    """Every entry point of `group` that loads and is `valid`, by name; the others are
    logged (with `invalid` saying what is wrong) and left out, never fatal.

    extra: the install extra that brings this group's dependencies; an entry point whose
    import finds a module missing is then taken as that extra not installed (no error)."""
    found: dict[str, Any] = {}
    for ep in entry_points(group=group):
        try:
            loaded = ep.load()
        except ModuleNotFoundError as exc:
            if extra is not None:
                log.debug("plugin.extra_missing", group=group, kind=ep.name, extra=extra,
                          missing=exc.name)
            else:
                _unloadable(group, ep, exc)
            continue
        except Exception as exc:
            _unloadable(group, ep, exc)
            continue
        if not valid(loaded):
            log.error("plugin.invalid", group=group, kind=ep.name, target=ep.value,
                      error=invalid)
            continue
        found[ep.name] = loaded
    return found


def _unloadable(group: str, ep: EntryPoint, exc: Exception) -> None:
    log.error("plugin.unloadable", group=group, kind=ep.name, target=ep.value,
              error=f"{type(exc).__name__}: {exc}")


def _is_factory(obj: Any) -> bool:
    return all(hasattr(obj, part) for part in FACTORY_PARTS)


@cache
def available_connectors() -> dict[str, ConnectorFactory]:
    """Every installed connector factory, by kind; a broken one is reported, not fatal."""
    found: dict[str, ConnectorFactory] = load_group(
        GROUP, _is_factory, f"not a connector factory (needs {', '.join(FACTORY_PARTS)})")
    return found
