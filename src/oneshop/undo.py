"""`oneshop undo BATCH [--dry-run]`: take an operator batch back, and say what the
channels will show once the service pushes it.

The undo itself is the ledger's (`ledger.batches.undo`: compensating movements and the
noted changes put back, never a delete, orders never undone). Here it runs in one
transaction with the question "which listings are now out of step, and how": committed,
or rolled back for a dry run, so the dry run says exactly what the undo would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from oneshop.config import Config
from oneshop.ledger import batches, catalog, pausing
from oneshop.ledger import undoers as _undoers  # noqa: F401  (fills batches.UNDOERS)


@dataclass(slots=True, kw_only=True)
class UndoReport:
    done: batches.Undone
    dry_run: bool
    moves: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d = self.done
        return {"batch": d.batch, "dry_run": self.dry_run, "undo_batch": d.undo_batch,
                "already_undone_by": d.already_by,
                "stock": [{"sku": sku, "delta": delta} for sku, delta in d.stock],
                "restored": d.restored, "kept": d.kept, "channels": self.moves}


def run_undo(cfg: Config, batch_id: int, *, dry_run: bool, command: str, reason: str | None,
             now: datetime) -> UndoReport:
    from oneshop.cli_util import _ledger

    with _ledger(cfg) as ledger, ledger.sessions() as s:
        try:
            done = batches.undo(s, batch_id, command, reason, now)
            report = UndoReport(done=done, dry_run=dry_run,
                                moves=channel_moves(s, cfg, done, now))
        except BaseException:
            s.rollback()
            raise
        if dry_run:
            s.rollback()
        else:
            s.commit()
    return report


def channel_moves(s: Session, cfg: Config, done: batches.Undone, now: datetime
                  ) -> list[dict[str, Any]]:
    """Listings the undo leaves out of step: what each shows, what it will be told."""
    if not done.sku_ids and not done.accounts:
        return []
    out = []
    for name, account in cfg.accounts.items():
        if not account.config.enabled:
            continue
        whole = name in done.accounts
        if not whole and not done.sku_ids:
            continue
        for t in catalog.targets(s, name, reserve=account.config.reserve,
                                 cap=account.config.cap,
                                 sku_ids=None if whole else sorted(done.sku_ids),
                                 off_sale=pausing.off_sale(s, name, now)):
            out.append({"account": name, "sku": t.sku, "listing": t.external_id,
                        "shows": t.observed, "will_show": t.published})
    return sorted(out, key=lambda r: (r["account"], r["sku"], r["listing"]))
