"""Finding connectors: the `oneshop.connectors` entry-point group and nowhere else."""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

import structlog

from oneshop.protocols import ConnectorFactory

GROUP = "oneshop.connectors"
log = structlog.get_logger("oneshop.plugins")


@cache
def available_connectors() -> dict[str, ConnectorFactory]:
    """Every installed connector factory, by kind; a broken one is reported, not fatal."""
    found: dict[str, ConnectorFactory] = {}
    for ep in entry_points(group=GROUP):
        try:
            factory = ep.load()
        except Exception as exc:
            log.error("connector.unloadable", kind=ep.name, target=ep.value,
                      error=f"{type(exc).__name__}: {exc}")
            continue
        if not all(hasattr(factory, a) for a in ("kind", "settings_model", "build", "sandbox")):
            log.error("connector.invalid", kind=ep.name, target=ep.value,
                      error="not a connector factory (needs kind, settings_model, build, sandbox)")
            continue
        found[ep.name] = factory
    return found
