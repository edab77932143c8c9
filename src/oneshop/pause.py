"""`oneshop pause` and `oneshop resume`: the seller's pause, recorded as an operator batch,
then carried out on the channels at once when this process may sync.

The pause lives in the ledger (`ledger/pausing.py`), and the push plan publishes every
listing of a paused account at 0, which each channel turns into off sale by its own
means: Shopify shows 0, Etsy applies the account's zero-stock policy (an active listing
is deactivated and marked as ours), Gumroad's cap drops to the units sold. Resuming
publishes the counts again, and only the listings our pushes took off sale go back on
sale (Etsy reactivates a listing only when we deactivated it): one the seller had turned
off stays off. Both are states, not steps: a pause or resume cut short by a crash is
finished by running the command again or by the service's next poll, and nothing is
put back twice.

Orders keep being pulled and booked while paused. Each command pulls the account's
orders before pushing (a resume may raise quantities only after its channel's sales are
in). When another process syncs the SQLite ledger (`oneshop run`), the command records
the change and the service carries it out at its next poll of the account.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from oneshop.config import Config
from oneshop.ledger import batches, catalog, pausing
from oneshop.ledger.db import transaction


@dataclass(slots=True, kw_only=True)
class Outcome:
    """One account's pause or resume: what changed, what the channel was told."""

    account: str
    changed: bool = False
    ended: list[str] = field(default_factory=list)  # resume: which pauses ended
    to_move: int = 0  # listings out of step with the (un)pause when recorded
    left: int | None = None  # still out of step after the pushes (None: not pushed here)
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"account": self.account, "changed": self.changed, "ended": self.ended,
                "listings": self.to_move, "left": self.left, "note": self.note}


def _out_of_step(s: Any, cfg: Config, account: str, now: datetime) -> int:
    rules = cfg.accounts[account].config
    return len(catalog.targets(s, account, reserve=rules.reserve, cap=rules.cap,
                               off_sale=pausing.off_sale(s, account, now)))


def record_pause(cfg: Config, accounts: Sequence[str], *, now: datetime,
                 until: datetime | None, reason: str, command: str) -> list[Outcome]:
    """Record the pause of `accounts` in one batch (none when nothing changes)."""
    from oneshop.cli_util import _ledger

    out = []
    with _ledger(cfg) as ledger, transaction(ledger.sessions) as s:
        todo = [a for a in accounts if _differs(pausing.pause_of(s, a), until, reason)]
        if todo:
            with batches.operator_batch(s, command, reason, kind="pause", now=now) as batch:
                for account in todo:
                    before = pausing.begin(s, account, now=now, until=until, reason=reason,
                                           batch=batch.id)
                    batch.note({"what": "pause", "account": account, "before": before})
        for account in accounts:
            out.append(Outcome(account=account, changed=account in todo,
                               to_move=_out_of_step(s, cfg, account, now)))
    return out


def _differs(p: pausing.Pause, until: datetime | None, reason: str) -> bool:
    return not p.seller or p.until != until or p.reason != reason


def record_resume(cfg: Config, accounts: Sequence[str], *, now: datetime,
                  reason: str, command: str) -> list[Outcome]:
    """End whichever pauses the accounts are in, in one batch (none when none was)."""
    from oneshop.cli_util import _ledger

    out = []
    with _ledger(cfg) as ledger, transaction(ledger.sessions) as s:
        todo = [a for a in accounts if (p := pausing.pause_of(s, a)).seller or p.credentials]
        if todo:
            with batches.operator_batch(s, command, reason, kind="resume", now=now) as batch:
                for account in todo:
                    ended, before, credentials = pausing.end(s, account)
                    batch.note({"what": "resume", "account": account, "before": before,
                                "credentials": credentials})
                    out.append(Outcome(account=account, changed=True, ended=ended))
        done = {o.account for o in out}
        out += [Outcome(account=a) for a in accounts if a not in done]
        for o in out:
            o.to_move = _out_of_step(s, cfg, o.account, now)
            vacation = pausing.pause_of(s, o.account).vacation_since
            if vacation is not None:
                o.note = f"{pausing.VACATION} (since {vacation:%Y-%m-%d %H:%M}Z): " \
                         "pushes stay suspended until it says it is back"
    return out


def carry_out(cfg: Config, outcomes: Sequence[Outcome], *, credentials_only: set[str]
              ) -> None:
    """Pull and push the accounts now; when another process syncs the ledger, say the
    service does it at its next poll."""
    from oneshop import app as app_mod
    from oneshop.lock import LedgerBusy
    from oneshop.service import Runner

    todo = [o for o in outcomes if o.to_move and o.account not in credentials_only]
    if not todo:
        for o in outcomes:
            o.left = o.to_move if o.account not in credentials_only else None
        return
    try:
        application = app_mod.build(cfg)
    except LedgerBusy:
        for o in todo:
            o.note = o.note or "the running service carries it out at its next poll"
        return
    with application:
        runner = Runner(application)
        for o in todo:
            if o.account in application.accounts.connectors:
                runner.poll(o.account)
        with application.sessions() as s:
            for o in outcomes:
                o.left = _out_of_step(s, cfg, o.account, application.clock())
                if o.left:
                    o.note = o.note or ("some listings could not be written now; the "
                                        "next poll (or running this again) finishes it")
