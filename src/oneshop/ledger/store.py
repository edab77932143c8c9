"""The ledger functions the sync engine, the service, the CLI and the simulation call
through `store.…`; each lives in the module of its job. Code elsewhere imports those
modules: `booking` (a page of orders), `stock` (SKUs, movements, on_hand), `history`
(takeover cut-offs), `cursors`, `records` (rejected records, alerts), `account_state`.
"""

from __future__ import annotations

from oneshop.ledger.account_state import account_state
from oneshop.ledger.booking import Booked, record_orders
from oneshop.ledger.cursors import load_cursor, save_cursor
from oneshop.ledger.history import Cutoffs, account_cutoffs
from oneshop.ledger.records import add_rejected
from oneshop.ledger.stock import on_hand, record_movement, recount, sku_ids

__all__ = ["Booked", "Cutoffs", "account_cutoffs", "account_state", "add_rejected",
           "load_cursor", "on_hand", "record_movement", "record_orders", "recount",
           "save_cursor", "sku_ids"]
