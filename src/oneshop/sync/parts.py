"""What every step of a sync shares: the ledger's sessions, the accounts, the clock."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from oneshop.accounts import Accounts
from oneshop.ledger.lowstock import LowStockRules
from oneshop.protocols import Clock, SyncObserver


@dataclass(slots=True, kw_only=True)
class Parts:
    sessions: sessionmaker[Session]
    accounts: Accounts
    clock: Clock
    observer: SyncObserver | None = None
    # Set when the service stops: a pull ends after the page it is booking.
    stopping: threading.Event = field(default_factory=threading.Event)
    # The low-stock thresholds, checked where a step commits a stock change.
    low_stock: LowStockRules = field(default_factory=LowStockRules)
