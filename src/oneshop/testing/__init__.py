"""Helpers for testing oneshop and its connectors (like `structlog.testing`).

- `VirtualClock`: time that moves only when slept, advanced or set.
- `MemoryTokenStore`: a `TokenStore` in memory.
- `Sandbox`, `SandboxFactory`, `sandbox_for`: marketplace emulators, found through the
  `oneshop.sandboxes` entry-point group (the `oneshop[sandbox]` extra installs ours).
- `oneshop.testing.sandboxkit`: fault injection and control endpoints for writing one.
- `oneshop.testing.contract.ConnectorContract`: the suite every connector must pass
  (needs pytest); `oneshop.testing.shop.SandboxShop`: a whole shop on sandboxes.

Importing this package loads no sandbox and nothing beyond oneshop's own dependencies.
"""

from oneshop.testing.clock import VirtualClock
from oneshop.testing.sandbox import (
    Sandbox,
    SandboxFactory,
    SandboxMissing,
    available_sandboxes,
    sandbox_for,
)
from oneshop.testing.tokens import MemoryTokenStore

__all__ = ["MemoryTokenStore", "Sandbox", "SandboxFactory", "SandboxMissing", "VirtualClock",
           "available_sandboxes", "sandbox_for"]
