"""Opening the state database and bringing its schema up to date."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from peewee import Database, PeeweeException, SqliteDatabase
from playhouse.db_url import connect
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as migrate_schema

from azsyncd.errors import StateError
from azsyncd.state import models
from azsyncd.state.fields import UTCField

SQLITE_PRAGMAS = {
    "journal_mode": "wal",  # readers (the API) never wait for the sync writer
    "synchronous": "normal",  # durable at each WAL checkpoint; safe with WAL
    "foreign_keys": 1,
    "busy_timeout": 10000,
}


def _v1(db: Database) -> None:
    # The built-in store's "contact" table was created here too until it moved to the local
    # target, which creates it when missing (targets/local/table.py): a database of either
    # layout opens the same way.
    db.create_tables([m for m in models.ALL if m is not models.AuditEntry])


def _v2(db: Database) -> None:
    db.create_tables([models.AuditEntry])


def _v3(db: Database) -> None:
    """When each tenant was last read: incremental ticks update it without recording a run."""
    table = models.TenantState._meta.table_name
    if "last_checked_at" not in {c.name for c in db.get_columns(table)}:
        # A database made by an earlier release; a fresh one got the column from _v1.
        migrator = SchemaMigrator.from_database(db)
        migrate_schema(migrator.add_column(table, "last_checked_at", UTCField(null=True)))


# Each step takes the schema from version N-1 to N. Append, never edit a released step.
MIGRATIONS: dict[int, Callable[[Database], None]] = {1: _v1, 2: _v2, 3: _v3}
LATEST = max(MIGRATIONS)


def database_for(url: str, state_dir: Path) -> Database:
    """A database from a URL, or SQLite under the state directory when the URL is empty."""
    if not url:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return SqliteDatabase(str(state_dir / "state.db"), pragmas=SQLITE_PRAGMAS)
    if url.startswith("sqlite:"):
        path = (
            url.removeprefix("sqlite:///")
            if url.startswith("sqlite:///")
            else url.removeprefix("sqlite:")
        )
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SqliteDatabase(path, pragmas=SQLITE_PRAGMAS)
    try:
        return connect(url)
    except (ValueError, RuntimeError, ImportError) as exc:
        raise StateError(
            f"cannot use database_url: {exc}; use sqlite:///path or postgresql://user@host/db"
            " (PostgreSQL needs: pip install 'azsync[postgres]')"
        ) from None


def open_database(url: str, state_dir: Path) -> Database:
    """Connect, bind the models and migrate to the latest schema."""
    db = database_for(url, state_dir)
    db.bind(models.ALL)
    try:
        db.connect(reuse_if_open=True)
        migrate(db)
    except PeeweeException as exc:
        raise StateError(f"cannot open the state database: {exc}") from exc
    return db


def schema_version(db: Database) -> int:
    if not db.table_exists(models.DbInfo._meta.table_name):
        return 0
    row = models.DbInfo.get_or_none(models.DbInfo.key == "schema_version")
    return int(row.value) if row else 0


def _set_info(key: str, value: str) -> None:
    # INSERT ... ON CONFLICT works on SQLite and PostgreSQL alike (REPLACE is SQLite only).
    (
        models.DbInfo.insert(key=key, value=value)
        .on_conflict(conflict_target=[models.DbInfo.key], update={models.DbInfo.value: value})
        .execute()
    )


def migrate(db: Database) -> None:
    with db.atomic():
        current = schema_version(db)
        if current > LATEST:
            raise StateError(
                f"the state database has schema version {current}, newer than this azsyncd "
                "understands"
                f" ({LATEST}); upgrade azsyncd or point database_url at another database"
            )
        for version in range(current + 1, LATEST + 1):
            MIGRATIONS[version](db)
            _set_info("schema_version", str(version))
