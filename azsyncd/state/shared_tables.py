"""Tables the daemons sharing one state use together, and the key of a PostgreSQL lock.

Who leads (``azsync_leader``), the settings the active daemon stored (``azsync_settings``)
and each help desk account's calls, 429 lock and notes (``rate_call``, ``rate_lock``,
``rate_note``: what status says of the account, such as bulk calls refused). Schema step 7
creates them in the state database; the rate tables are also made in the rate-limit file a
host's daemons share when the state is SQLite. Every statement creates only what is missing.
"""

from __future__ import annotations

import hashlib

from peewee import Database

LEADER = (
    "CREATE TABLE IF NOT EXISTS azsync_leader (id INTEGER PRIMARY KEY, host TEXT NOT NULL,"
    " pid INTEGER NOT NULL)",
)
SETTINGS = (
    "CREATE TABLE IF NOT EXISTS azsync_settings (id INTEGER PRIMARY KEY, document TEXT NOT NULL,"
    " host TEXT NOT NULL, at DOUBLE PRECISION NOT NULL)",
)
RATE = (
    "CREATE TABLE IF NOT EXISTS rate_call (account TEXT NOT NULL, kind TEXT NOT NULL,"
    " at DOUBLE PRECISION NOT NULL)",
    "CREATE INDEX IF NOT EXISTS rate_call_account_kind_at ON rate_call (account, kind, at)",
    "CREATE TABLE IF NOT EXISTS rate_lock (account TEXT PRIMARY KEY,"
    " until DOUBLE PRECISION NOT NULL)",
    "CREATE TABLE IF NOT EXISTS rate_note (account TEXT NOT NULL, note TEXT NOT NULL,"
    " text TEXT NOT NULL, PRIMARY KEY (account, note))",
)
ALL = (*LEADER, *SETTINGS, *RATE)


def create(db: Database, statements: tuple[str, ...]) -> None:
    for statement in statements:
        db.execute_sql(statement)


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for a PostgreSQL advisory lock named ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
