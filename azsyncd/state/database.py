"""Opening the state database and bringing its schema up to date."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from peewee import (
    CharField,
    Database,
    Field,
    IntegerField,
    Model,
    PeeweeException,
    PostgresqlDatabase,
    SqliteDatabase,
    TextField,
)
from playhouse import migrate as schema
from playhouse.db_url import connect

from azsyncd.errors import StateError
from azsyncd.state import joiners, lifecycle, models, shared_tables
from azsyncd.state.fields import JSONField, UTCField, utcnow

SQLITE_PRAGMAS = {
    "journal_mode": "wal",  # readers (the API) never wait for the sync writer
    "synchronous": "normal",  # durable at each WAL checkpoint; safe with WAL
    "foreign_keys": 1,
    "busy_timeout": 10000,
}


# Tables a later step creates: the first step must not create them before it.
V9 = (models.TenantHealth, models.RaisedAlert)
LATER = (models.AuditEntry, models.FailingUser, models.RunSeen, models.RunClaim, *V9)


class _AddressMirror(Model):
    """The mirror as steps 1 to 9 kept it, one row per address (step 10 binds each contact
    to its directory object instead): only the steps before 10 and step 10 use it."""

    email = CharField(primary_key=True)
    target_id = CharField(default="")
    tenant = CharField()
    object_id = CharField()
    fingerprint = CharField(default="")
    welcome_state = CharField(default="")
    welcome_name = TextField(default="")
    welcome_run = IntegerField(null=True)
    welcome_sent_at = UTCField(null=True)
    updated_at = UTCField(default=utcnow)

    class Meta:
        table_name = "mirrorentry"


def _v1(db: Database) -> None:
    # The built-in store's "contact" table was created here too until it moved to the local
    # target, which creates it when missing (targets/local/table.py): a database of either
    # layout opens the same way.
    _AddressMirror.bind(db)
    db.create_tables([m for m in models.ALL if m not in LATER and m is not models.MirrorEntry])
    db.create_tables([_AddressMirror])


def _v2(db: Database) -> None:
    db.create_tables([models.AuditEntry])


def _v3(db: Database) -> None:
    """When each tenant was last read: incremental ticks update it without recording a run."""
    _add_columns(db, models.TenantState, last_checked_at=UTCField(null=True))


def _v4(db: Database) -> None:
    """Welcome emails claimed and confirmed one recipient at a time; failing users kept for
    the next runs; the time of each tenant's last full reconciliation (idempotent)."""
    if db.table_exists("mirrorentry"):  # step 10 replaced it: nothing to add there then
        _AddressMirror.bind(db)
        _add_columns(
            db,
            _AddressMirror,
            welcome_state=CharField(default=""),
            welcome_name=TextField(default=""),
            welcome_run=IntegerField(null=True),
        )
        # Before, a claimed welcome was taken for sent.
        db.execute_sql(
            "UPDATE mirrorentry SET welcome_state = 'sent' "
            "WHERE welcome_sent_at IS NOT NULL AND welcome_state = ''"
        )
    _add_columns(
        db,
        models.TenantState,
        last_full_at=UTCField(null=True),
        failures_retried_at=UTCField(null=True),
    )
    db.create_tables([models.FailingUser])


def _v6(db: Database) -> None:
    """A running sync's bookkeeping: the users it read, the addresses it gave out
    (idempotent: tables that exist are kept)."""
    db.create_tables([models.RunSeen, models.RunClaim])


def _v7(db: Database) -> None:
    """The tables daemons sharing the state use together: the leader, the stored settings,
    each account's rate-limit calls and 429 lock (idempotent)."""
    shared_tables.create(db, shared_tables.ALL)


def _add_columns(db: Database, model: type[Model], **fields: Field) -> None:
    table = model._meta.table_name
    present = {column.name for column in db.get_columns(table)}
    migrator = schema.SchemaMigrator.from_database(db)
    schema.migrate(
        *[
            migrator.add_column(table, name, field)
            for name, field in fields.items()
            if name not in present
        ]
    )


def _v8(db: Database) -> None:
    """Leavers seen and the contact-group memberships rules made. Earlier builds created
    the tables when first used (or at step 5), so they may be there already (idempotent)."""
    db.create_tables(lifecycle.TABLES, safe=True)


def _v9(db: Database) -> None:
    """Each tenant's failed syncs in a row and its quarantine; the alerts raised and not yet
    resolved (idempotent: an existing table is kept)."""
    db.create_tables(V9)


BOUND = (
    "tenant, object_id, email, target_id, fingerprint, welcome_state, welcome_name, "
    "welcome_run, welcome_sent_at, updated_at"
)


def _v10(db: Database) -> None:
    """Contacts bound to directory objects: the mirror is keyed by (tenant, object id), no
    longer by address. Each row of the old mirror becomes its user's binding; a user that had
    two (an address change used to create a second contact) keeps its newest. The run's
    claims name the user; a leaver row says in which run its user was first missed (a shared
    address is taken over only at a later run). Idempotent, like every step."""
    db.create_tables([models.MirrorEntry], safe=True)
    if db.table_exists("mirrorentry"):
        db.execute_sql(
            f"INSERT INTO contact_binding ({BOUND}, principal) SELECT {BOUND}, '' "
            "FROM mirrorentry m "
            "WHERE NOT EXISTS (SELECT 1 FROM mirrorentry n WHERE n.tenant = m.tenant "
            "AND n.object_id = m.object_id AND (n.updated_at > m.updated_at "
            "OR (n.updated_at = m.updated_at AND n.email > m.email))) "
            "AND NOT EXISTS (SELECT 1 FROM contact_binding b WHERE b.tenant = m.tenant "
            "AND b.object_id = m.object_id)"
        )
        db.execute_sql("DROP TABLE mirrorentry")
    if "object_id" not in {c.name for c in db.get_columns("runclaim")}:
        db.drop_tables([models.RunClaim])  # a running sync's only: no run runs now
        db.create_tables([models.RunClaim])
    _add_columns(
        db,
        lifecycle.Leaver,
        gone_run=IntegerField(null=True),
        required_values=JSONField(default=dict),
    )


def _v11(db: Database) -> None:
    """What fixes a failing user, beside the reason (the quality report groups by it); the
    joiners whose contacts exist before their hire date. Idempotent."""
    _add_columns(db, models.FailingUser, fixes=JSONField(default=list))
    db.create_tables(joiners.TABLES, safe=True)


# Each step takes the schema to its version from the one before. Append, never edit a
# released step. A step keeps the number it was given, so the numbers may have a gap: the
# steps run in order, each once.
MIGRATIONS: dict[int, Callable[[Database], None]] = {
    1: _v1,
    2: _v2,
    3: _v3,
    4: _v4,
    6: _v6,
    7: _v7,
    8: _v8,
    9: _v9,
    10: _v10,
    11: _v11,
}
LATEST = max(MIGRATIONS)


class OwnerOnlySqlite(SqliteDatabase):
    """SQLite whose file and companions (-wal, -shm, -journal) only their owner may read,
    whatever the umask of whoever started the daemon: they hold every contact's data and the
    delta links. The file is created 0600 before SQLite opens it (SQLite gives the companions
    the database's own mode) and an older, wider file is narrowed."""

    def _connect(self) -> Any:
        path = str(self.database)
        if path and path != ":memory:" and not path.startswith("file:"):
            owner_only(Path(path))
        connection = super()._connect()  # type: ignore[misc]  # peewee has no stubs
        if path and path != ":memory:" and not path.startswith("file:"):
            for suffix in ("-wal", "-shm", "-journal"):
                owner_only(Path(path + suffix), create=False)
        return connection


def owner_only(path: Path, create: bool = True) -> None:
    """Make ``path`` (created empty if missing and ``create``) readable by its owner only.

    Never by opening and closing it once it exists: closing any descriptor of a SQLite file
    drops every POSIX lock this process holds on it, other connections' included.
    """
    if create:
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
            return
        except FileExistsError:
            pass
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    if stat.S_ISREG(st.st_mode) and st.st_mode & 0o077 and st.st_uid == os.geteuid():
        os.chmod(path, stat.S_IMODE(st.st_mode) & 0o700)


def database_for(url: str, state_dir: Path) -> Database:
    """A database from a URL, or SQLite under the state directory when the URL is empty."""
    if not url:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return OwnerOnlySqlite(str(state_dir / "state.db"), pragmas=SQLITE_PRAGMAS)
    if url.startswith("sqlite:"):
        path = (
            url.removeprefix("sqlite:///")
            if url.startswith("sqlite:///")
            else url.removeprefix("sqlite:")
        )
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return OwnerOnlySqlite(path, pragmas=SQLITE_PRAGMAS)
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
    db.bind([*models.ALL, *lifecycle.TABLES, *joiners.TABLES])
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
        if isinstance(db, PostgresqlDatabase):
            # Daemons starting together on one PostgreSQL state migrate one after the other.
            db.execute_sql(
                "SELECT pg_advisory_xact_lock(%s)", (shared_tables.lock_key("azsyncd schema"),)
            )
        current = schema_version(db)
        if current > LATEST:
            raise StateError(
                f"the state database has schema version {current}, newer than this azsyncd "
                "understands"
                f" ({LATEST}); upgrade azsyncd or point database_url at another database"
            )
        for version in sorted(v for v in MIGRATIONS if v > current):
            MIGRATIONS[version](db)
            _set_info("schema_version", str(version))
