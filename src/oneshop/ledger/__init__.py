"""The ledger: SQLAlchemy tables, the database engine and the store functions.

ORM classes never leave this package; callers get plain values back.
"""
