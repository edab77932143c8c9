"""Operator batches: every write a person makes, with its id, time, command line and
reason, so `oneshop batches` lists them and `oneshop undo` can take one back.

A command records its writes in one line:

    with batches.operator_batch(session, command, reason, kind="adjust") as batch:
        stock.record_movement(...)          # the movement carries batch.id
        batch.note({"what": "binding", ...})  # a change besides stock, with its before

Movements made inside the block carry the batch's id (`stock.insert_movements` reads it
from the session), so stock needs no parallel log; changes besides stock (a binding, a
pause, a release) are noted with the value they replaced. Undoing appends: compensating
movements under source keys `undo:BATCH:MOVEMENT` (an undo repeated or raced books
nothing twice) and the noted changes put back by their undoer (`ledger.undoers`). Sales
and restocks a batch happened to book (a `link` books the listing's pending sales) are
orders: never undone. Take a Session, never commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from oneshop.ledger import models as m
from oneshop.ledger import stock
from oneshop.ledger.stock import BATCH_KEY

# Movement kinds an undo compensates: a person's counts and corrections. Sales, restocks
# and history are orders (never undone), hand edits are the channel's.
UNDOABLE = frozenset({"adjust", "count"})
UNDO = "undo"  # kind of the batch an undo records
CONFIG = "config"  # kind of the batch of per-SKU overrides applied from the config file

# what -> undoer(session, change, now) -> a line saying what was put back. Filled by
# `ledger.undoers`, beside the modules that make those changes.
Undoer = Callable[[Session, Mapping[str, Any], datetime], str]
UNDOERS: dict[str, Undoer] = {}


@dataclass(slots=True)
class Batch:
    """The batch being recorded: its id, and `note` for a change besides stock."""

    id: int
    row: m.OperatorBatch

    def note(self, change: Mapping[str, Any]) -> None:
        # A new list, so the JSON column is seen as changed.
        self.row.changes = [*(self.row.changes or []), dict(change)]


@contextmanager
def operator_batch(session: Session, command: str, reason: str | None, *, kind: str,
                   now: datetime | None = None) -> Iterator[Batch]:
    """Record one person's write: the movements made inside carry the batch's id."""
    row = m.OperatorBatch(kind=kind, command=command[:4000], reason=(reason or "")[:2000],
                          created_at=now or m.utcnow(), changes=[])
    session.add(row)
    session.flush()
    outer = session.info.get(BATCH_KEY)
    session.info[BATCH_KEY] = row.id
    try:
        yield Batch(id=row.id, row=row)
    finally:
        if outer is None:
            session.info.pop(BATCH_KEY, None)
        else:
            session.info[BATCH_KEY] = outer
        session.flush()


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchView:
    id: int
    kind: str
    at: datetime
    command: str
    reason: str
    movements: int
    units: int  # the sum of the deltas of its movements
    changes: int
    undone_by: int | None
    undoes: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"batch": self.id, "at": self.at.isoformat(timespec="seconds"),
                "kind": self.kind, "command": self.command, "reason": self.reason,
                "movements": self.movements, "units": self.units, "changes": self.changes,
                "undone_by": self.undone_by, "undoes": self.undoes}


def listed(session: Session, *, limit: int = 50) -> list[BatchView]:
    """The newest batches first, each with its movement count and net units."""
    rows = list(session.scalars(select(m.OperatorBatch)
                                .order_by(m.OperatorBatch.id.desc()).limit(limit)))
    ids = [r.id for r in rows]
    moved: dict[int, tuple[int, int]] = {}
    if ids:
        moves = session.execute(select(m.Movement.batch_id, m.Movement.delta)
                                .where(m.Movement.batch_id.in_(ids))).all()
        for row in moves:
            n, units = moved.get(int(row[0] or 0), (0, 0))
            moved[int(row[0] or 0)] = (n + 1, units + int(row[1]))
    return [BatchView(id=r.id, kind=r.kind, at=r.created_at, command=r.command,
                      reason=r.reason, movements=moved.get(r.id, (0, 0))[0],
                      units=moved.get(r.id, (0, 0))[1], changes=len(r.changes or []),
                      undone_by=r.undone_by, undoes=r.undoes) for r in rows]


@dataclass(slots=True, kw_only=True)
class Undone:
    """What an undo did (or, dry, would do)."""

    batch: int
    undo_batch: int | None = None
    already_by: int | None = None  # undone before, by this batch: nothing done now
    stock: list[tuple[str, int]] = field(default_factory=list)  # (sku, delta) booked
    sku_ids: set[int] = field(default_factory=set)
    restored: list[str] = field(default_factory=list)  # changes besides stock put back
    kept: list[str] = field(default_factory=list)  # what is not undone, and why
    accounts: set[str] = field(default_factory=set)  # accounts whose pause state changed


class CannotUndo(Exception):
    """The batch does not exist or is not something an undo takes back."""


def undo(session: Session, batch_id: int, command: str, reason: str | None,
         now: datetime) -> Undone:
    """Append what takes batch `batch_id` back, as a batch of its own."""
    row = session.get(m.OperatorBatch, batch_id, with_for_update=True)
    if row is None:
        raise CannotUndo(f"no batch {batch_id} (`oneshop batches` lists them)")
    if row.kind == UNDO:
        raise CannotUndo(f"batch {batch_id} is itself an undo (of batch {row.undoes}); "
                         "run the original command again instead")
    if row.kind == CONFIG:
        raise CannotUndo(f"batch {batch_id} is the config file's; edit the file (its "
                         "[skus.X] overrides) and reload instead")
    done = Undone(batch=batch_id)
    if row.undone_by is not None:
        done.already_by = row.undone_by
        return done
    with operator_batch(session, command, reason or f"undo of batch {batch_id}", kind=UNDO,
                        now=now) as batch:
        batch.row.undoes = batch_id
        row.undone_by = batch.id
        done.undo_batch = batch.id
        _compensate(session, batch_id, done)
        for change in row.changes or []:
            _restore(session, change, now, done)
    return done


def _compensate(session: Session, batch_id: int, done: Undone) -> None:
    rows = session.execute(select(m.Movement.id, m.Movement.sku_id, m.Movement.kind,
                                  m.Movement.delta, m.Sku.sku)
                           .join(m.Sku, m.Sku.id == m.Movement.sku_id)
                           .where(m.Movement.batch_id == batch_id)
                           .order_by(m.Movement.id)).all()
    orders = 0
    for mv_id, sku_id, kind, delta, sku in rows:
        if kind not in UNDOABLE:
            orders += 1
            continue
        if delta and stock.record_movement(
                session, sku_id=sku_id, kind="adjust", delta=-delta,
                source_key=f"undo:{batch_id}:{mv_id}", reason=f"undo of batch {batch_id}"):
            done.stock.append((sku, -delta))
            done.sku_ids.add(sku_id)
    if orders:
        done.kept.append(f"{orders} sale/restock movement(s) it booked stay: orders are "
                         "never undone")


def _restore(session: Session, change: Mapping[str, Any], now: datetime,
             done: Undone) -> None:
    undoer = UNDOERS.get(str(change.get("what")))
    if undoer is None:
        done.kept.append(f"{change.get('what')}: not undoable here "
                         f"({change.get('why_not', 'no undo for it')})")
        return
    done.restored.append(undoer(session, change, now))
    if "sku_id" in change and change["sku_id"] is not None:
        done.sku_ids.add(int(change["sku_id"]))
    if change.get("what") in ("pause", "resume") and change.get("account"):
        done.accounts.add(str(change["account"]))


def command_line(words: Sequence[str]) -> str:
    import shlex

    return shlex.join(words)
