"""The ledger: SQLAlchemy tables (`models`), the database engine (`db`, `schema`) and the
functions that read and write them, one module per job:

- `booking` a page of orders: order book rows, lines, movements; `races` sales that
  raced a blind write; `history` which orders a takeover made history;
- `stock` SKUs, movements, on_hand; `binding` the binding's state machine (every write
  to what we believe a listing shows); `catalog` listings, links and push targets;
  `drift` hand edits found by a reconcile; `oversell` SKUs sold below zero;
- `takeover` adopted counts and watermarks; `account_state` account health; `cursors`;
  `records` rejected records and alerts; `views` read-only values for status, reports
  and metrics; `bulk`, `bulk_params` the driver-level SQL of the hot path;
- `store` the names the engine, service, CLI and simulation call through it.

Callers get frozen values back, except where they still use ORM classes: the sync
engine, the service and `app` (push rows, account health rows and credentials they
write inside their own transactions), `alerts` (it stores the alert episodes), the
demo and the simulation (they inspect the tables directly), and the migrations (the
metadata).
"""
