"""The ledger: SQLAlchemy tables (`models`), the database engine (`db`, `schema`) and the
functions that read and write them, one module per job:

- `booking` a page of orders: order book rows, lines, movements; `races` sales that
  raced a blind write; `history` which orders a takeover made history;
- `stock` SKUs, movements, on_hand; `binding` the binding's state machine (every write
  to what we believe a listing shows); `catalog` listings, links and push targets;
  `drift` hand edits found by a reconcile; `oversell` SKUs sold below zero;
  `typed_over` hand edits over an oversold SKU (the bulk-zero guard asks);
- `takeover` adopted counts and watermarks; `account_state` account health; `cursors`;
  `pushes` the log of stock writes; `records` rejected records and alerts; `views`
  read-only values for status, reports and metrics; `bulk`, `bulk_params` the
  driver-level SQL of the hot path.

Callers get frozen values back, except where they still use ORM classes: `app` (the
token rows of `LedgerTokenStore`, per-SKU overrides), `alerts` (it stores the alert
episodes), the demo (`oneshop_sandboxes.demo`) and the simulation (they inspect the
tables directly), and the migrations (the metadata).
"""
