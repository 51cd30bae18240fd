"""Tables of the state database. Bound to a database by ``open_database``."""

from __future__ import annotations

from peewee import (
    AutoField,
    BooleanField,
    CharField,
    CompositeKey,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from azsyncd.state.fields import JSONField, UTCField, utcnow


class Base(Model):
    pass


class DbInfo(Base):
    """Key/value facts about the database itself, such as its schema version."""

    key = CharField(primary_key=True)
    value = TextField()


class TenantState(Base):
    name = CharField(primary_key=True)
    status = CharField(default="new")  # new | active | disabled
    reason = TextField(default="")
    fix = TextField(default="")
    display_name = TextField(default="")
    authorized_at = UTCField(null=True)
    last_sync_at = UTCField(null=True)  # the last run that did something for this tenant
    last_checked_at = UTCField(null=True)  # the last complete read, idle ticks included
    last_user_count = IntegerField(null=True)
    last_full_at = UTCField(null=True)  # the last full reconciliation with the help desk
    failures_retried_at = UTCField(null=True)  # failing users last planned again (ticks: hourly)
    updated_at = UTCField(default=utcnow)


class DeltaLink(Base):
    tenant = CharField()
    scope_key = CharField()  # hash of the selected attributes and scope the link tracks
    link = TextField()
    created_at = UTCField(default=utcnow)

    class Meta:
        primary_key = CompositeKey("tenant", "scope_key")


class SyncRun(Base):
    id = AutoField()
    trigger = CharField()  # first | scheduled | catch-up | manual | tick
    dry_run = BooleanField(default=False)
    options = JSONField(default=dict)
    status = CharField(default="running")  # running | succeeded | partial | failed | interrupted
    message = TextField(default="")
    counts = JSONField(default=dict)
    started_at = UTCField(default=utcnow)
    finished_at = UTCField(null=True)


class RunLog(Base):
    id = AutoField()
    run = ForeignKeyField(SyncRun, backref="log_lines", on_delete="CASCADE")
    at = UTCField(default=utcnow)
    level = CharField(default="info")
    message = TextField()


class SyncRecord(Base):
    id = AutoField()
    run = ForeignKeyField(SyncRun, backref="records", on_delete="CASCADE")
    tenant = CharField()
    user_id = CharField(default="")
    email = CharField(default="")
    type = CharField(default="")  # New | Existing
    status = CharField()  # success | failed | skipped | unchanged
    result = TextField(default="")
    changed_fields = TextField(default="")

    class Meta:
        indexes = ((("run", "status"), False), (("run", "email"), False))


class MirrorEntry(Base):
    """What was last pushed to the target for one email: lets a resync write only changes."""

    email = CharField(primary_key=True)  # lowercased
    target_id = CharField(default="")
    tenant = CharField()
    object_id = CharField()
    fingerprint = CharField(default="")
    # The welcome email of a contact azsync created: "" (none due), due, sending, sent,
    # failed, unknown (claimed by a daemon that stopped before confirming it).
    welcome_state = CharField(default="")
    welcome_name = TextField(default="")  # the name it greets
    welcome_run = IntegerField(null=True)  # the run that created the contact: its record
    welcome_sent_at = UTCField(null=True)  # when it was claimed
    updated_at = UTCField(default=utcnow)


class AuditEntry(Base):
    """One change made through the control socket: who, when, what, and the answer."""

    id = AutoField()
    at = UTCField(default=utcnow, index=True)
    user = CharField()  # the caller's user name, or "uid N"
    uid = IntegerField(null=True)  # None when the caller's credentials were not available
    action = CharField()  # e.g. "PATCH /v1/settings"
    status = IntegerField()  # the HTTP status of the answer
    detail = TextField(default="")  # what changed, one line each; never a secret


class FailingUser(Base):
    """A directory user whose contact failed, kept with its last directory data so that
    every run plans it again (a fix in the help desk or the mapping works at once) and
    lists it, without reading the directory in full."""

    tenant = CharField()
    object_id = CharField()
    email = CharField(default="")
    user = JSONField(default=dict)  # the selected properties, as Graph last gave them
    reason = TextField(default="")
    since_run = IntegerField()  # the run in which it first failed
    refused = TextField(default="")  # what the help desk refused: not sent again unchanged
    existed = BooleanField(default=False)  # the help desk held the contact before
    updated_at = UTCField(default=utcnow)

    class Meta:
        primary_key = CompositeKey("tenant", "object_id")


class RunSeen(Base):
    """A user a running sync has read: kept here, not in memory, so a run's memory is flat."""

    run = IntegerField()
    tenant = CharField()
    object_id = CharField()

    class Meta:
        primary_key = CompositeKey("run", "tenant", "object_id")


class RunClaim(Base):
    """An address a running sync gave to a tenant's user: the first tenant to sync it owns it."""

    run = IntegerField()
    email = CharField()
    tenant = CharField()
    principal = CharField()  # the user principal name, named when another tenant collides

    class Meta:
        primary_key = CompositeKey("run", "email")


ALL = [
    DbInfo,
    TenantState,
    DeltaLink,
    SyncRun,
    RunLog,
    SyncRecord,
    MirrorEntry,
    AuditEntry,
    FailingUser,
    RunSeen,
    RunClaim,
]
