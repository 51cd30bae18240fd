"""Settings changed through the API on the active daemon, kept in the shared state database.

Each host has its own config file. On PostgreSQL the active daemon also stores its settings
in the database whenever they change (an API edit, in the same transaction as its file, or a
reload); a daemon that becomes active applies them to its own file first, so it syncs as the
previous one did, unless its file was changed after they were stored: the newest wins (a
hand edit followed by a restart is kept, and stored in turn). Keys that name files or
endpoints (secret files, database_url, the control socket...) stay as this host's file has
them: they are the host's, not the account's.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from peewee import Database, PostgresqlDatabase

from azsyncd.config.changes import is_file_only
from azsyncd.state import shared_tables

_MISSING = object()


def shared(db: Database) -> bool:
    return isinstance(db, PostgresqlDatabase)


def publish(db: Database, document: dict[str, Any], host: str) -> None:
    """Store the active daemon's settings (run it in the transaction that writes the file)."""
    shared_tables.create(db, shared_tables.SETTINGS)
    db.execute_sql(
        "INSERT INTO azsync_settings (id, document, host, at) VALUES (1, %s, %s, %s)"
        " ON CONFLICT (id) DO UPDATE SET document = EXCLUDED.document, host = EXCLUDED.host,"
        " at = EXCLUDED.at",
        (json.dumps(document), host, time.time()),
    )


@dataclass(frozen=True)
class Stored:
    document: dict[str, Any]
    host: str
    at: float  # when it was stored, in seconds since the epoch


def stored(db: Database) -> Stored | None:
    """The settings the last active daemon stored; None if none were."""
    shared_tables.create(db, shared_tables.SETTINGS)
    row = db.execute_sql("SELECT document, host, at FROM azsync_settings WHERE id = 1").fetchone()
    return Stored(json.loads(row[0]), str(row[1]), float(row[2])) if row else None


def for_this_host(local: dict[str, Any], stored_document: dict[str, Any]) -> dict[str, Any]:
    """``stored_document``, with this host's value for every key that names a file or endpoint."""

    def merge(mine: Any, theirs: Any, path: str) -> Any:
        if path and mine is not _MISSING and is_file_only(path):
            return mine
        if isinstance(theirs, dict) and isinstance(mine, dict):
            return {
                key: merge(mine.get(key, _MISSING), value, f"{path}.{key}" if path else key)
                for key, value in theirs.items()
            }
        if _tables(theirs) and isinstance(mine, list):
            by_name = {t.get("name"): t for t in mine if isinstance(t, dict)}
            return [
                merge(by_name.get(t.get("name"), _MISSING), t, f"{path}.{t.get('name')}")
                for t in theirs
            ]
        return theirs

    result: dict[str, Any] = merge(local, stored_document, "")
    return result


def _tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)
