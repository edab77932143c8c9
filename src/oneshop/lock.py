"""One process per SQLite ledger, and state files only their owner can read.

Two `oneshop run` on one SQLite file both started and lost units: SQLite serialises
transactions, not syncs, so one process adopted sales the other had pulled but not yet
pushed as hand edits. Whoever syncs (`run`, `sync --once`, `adopt`) therefore holds an OS
lock on a file beside the ledger for as long as its App lives; a second one is refused
with one line. Read-only commands never take it (SQLite's WAL lets them read alongside).
PostgreSQL needs no such lock: instances coordinate per account with advisory locks.

flock(2), not fcntl record locks: a flock belongs to the open file, the kernel drops it
when the process dies (kill -9 included), and no thread of this process can release it by
closing an unrelated descriptor of the same file. Two opens in one process conflict too,
so the process keeps one open file per ledger and counts its holders.
"""

from __future__ import annotations

import fcntl
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from oneshop.errors import OneshopError

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


class LedgerBusy(OneshopError):
    """Another process syncs this SQLite ledger."""


@dataclass(slots=True)
class _Held:
    fd: int
    holders: int


_held: dict[Path, _Held] = {}
_guard = threading.Lock()


def open_private(path: Path, flags: int = os.O_RDWR) -> int:
    """Open (creating it 0600, whatever the umask) a state file; its directory 0700.

    Only files and directories this call creates get these modes; an existing file is
    left as its owner set it.
    """
    path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    return os.open(path, flags | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)


def ledger_file(database_url: str) -> Path | None:
    """The SQLite ledger's file; None for PostgreSQL and in-memory SQLite."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).resolve()


def lock_file(ledger: Path) -> Path:
    return ledger.with_name(ledger.name + ".lock")


def acquire(database_url: str) -> Path | None:
    """Hold the ledger's process lock (shared by this process's holders); LedgerBusy if
    another process holds it. Returns what to pass to `release`."""
    ledger = ledger_file(database_url)
    if ledger is None:
        return None
    path = lock_file(ledger)
    with _guard:
        if (held := _held.get(path)) is not None:
            held.holders += 1
            return path
        fd = open_private(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 300, 0).decode(errors="replace").strip()
            os.close(fd)
            raise LedgerBusy(
                f"the ledger {ledger} is in use by another oneshop process "
                f"({holder or 'pid unknown'}); one process per SQLite ledger: stop that one "
                "first (running several instances needs PostgreSQL)") from None
        except BaseException:
            os.close(fd)
            raise
        # Who holds it, for the refusal above; never truncated while unlocked.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}: {_command()}\n".encode(), 0)
        _held[path] = _Held(fd=fd, holders=1)
    return path


def release(path: Path | None) -> None:
    """Drop one hold; the last closes the file, which releases the lock. The file stays:
    unlinking a lock file lets a late opener lock a file nobody else will look at."""
    if path is None:
        return
    with _guard:
        held = _held.get(path)
        if held is None:
            return
        held.holders -= 1
        if held.holders == 0:
            del _held[path]
            os.close(held.fd)


def _command() -> str:
    words = [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv else ["?"]
    return " ".join(words)[:200]
