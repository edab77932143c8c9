"""Deterministic fault-injecting simulation of the whole shop (`make sim SEEDS=N`).

A development tool, not part of the installed package: run it from the repository root
(`python -m sim --seeds N`). It drives the engine `app.build` assembles and watches it
through a `SyncObserver`, never by reaching into the engine.

A seed fixes everything: the catalog, the sales (races for the last unit included, and
sales landing while one of our stock writes to that channel is in flight),
cancellations and refunds, hand edits, revoked and expiring credentials, API faults
(429, 5xx, timeouts, dropped connections, slow answers, a pull failing half-way,
webhooks delivered twice or never) and the points where the service "crashes". The real
engine runs in-process on a virtual clock; `--real-process` runs `oneshop run` and
SIGKILLs it instead. After the faults stop and the service is quiet, `check` asserts the
invariants; a failing seed prints its trace and reproduces when run again.
"""

from __future__ import annotations

from sim.scenario import Result, run_seed

__all__ = ["Result", "run_seed"]
