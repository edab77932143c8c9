"""What `oneshop config check` adds to loading the config: the machine it runs on.

Loading (config.py) refuses what is wrong in the file itself and is what `run` does too.
These checks look outside the file — DNS, PATH — so they run only when asked: a service
start must not fail because a resolver was slow for a moment.
"""

from __future__ import annotations

import os
import shutil
import socket
from dataclasses import dataclass, field

from oneshop import configrules as rules
from oneshop.config import Config


@dataclass(frozen=True, slots=True, kw_only=True)
class Findings:
    problems: list[str] = field(default_factory=list)  # exit 2: `run` would trip on these
    warnings: list[str] = field(default_factory=list)  # exit 0: it runs, but not as meant


def check(cfg: Config) -> Findings:
    found = Findings()
    listens = {"webhooks.listen": cfg.file.webhooks and cfg.file.webhooks.listen,
               "metrics.listen": cfg.file.metrics and cfg.file.metrics.listen}
    for key, listen in listens.items():
        if listen and (problem := _unresolvable(listen)) is not None:
            found.problems.append(f"{cfg.path}: {key}: {problem}")
    if cfg.file.alerts is not None and cfg.file.alerts.command is not None and \
            (missing := _program_missing(cfg.file.alerts.command[0])):
        found.warnings.append(f"{cfg.path}: alerts.command: {missing}; every alert would "
                              "fail to run it (alerts are still logged)")
    if cfg.accounts and not any(a.config.enabled for a in cfg.accounts.values()):
        found.warnings.append(f"{cfg.path}: accounts: every account has enabled = false; "
                              "`run` would sync nothing")
    return found


def _unresolvable(listen: str) -> str | None:
    host, port = rules.listen_host(listen)
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return f"cannot listen on host {host!r}: {why}"
    return None


def _program_missing(program: str) -> str | None:
    if "/" in program:
        if os.path.isfile(program) and os.access(program, os.X_OK):
            return None
        return f"program {program!r} is not an executable file"
    if shutil.which(program) is None:
        return f"program {program!r} not found on PATH"
    return None
