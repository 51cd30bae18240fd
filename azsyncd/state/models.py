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


class TenantHealth(Base):
    """Failed syncs in a row, and the quarantine they led to (None: not quarantined)."""

    name = CharField(primary_key=True)
    failures = IntegerField(default=0)
    reason = TextField(default="")  # the last failure's
    quarantined_until = UTCField(null=True)  # the next try


class RaisedAlert(Base):
    """A condition an alert was sent for: kept until it clears and "resolved" is sent."""

    key = CharField(primary_key=True)  # e.g. "held-42", "tenant-contoso-quarantined"
    title = TextField()
    raised_at = UTCField(default=utcnow)


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
    # running | succeeded | partial | failed | interrupted | held (then approved, discarded,
    # superseded)
    status = CharField(default="running")
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
    """One contact azsync keeps, bound to one directory object: ``(tenant, object_id)`` ->
    the contact's id and address in the help desk, and what was last written to it (so a
    resync writes only changes). The binding stays while the user exists: an address change
    edits the same contact, and the row's ``email`` follows it. The first tenant (in the
    file's order) to bind an address owns it; another tenant's user with that address fails
    until the owner's user is gone (``sync/identity.py``)."""

    tenant = CharField()
    object_id = CharField()
    email = CharField(index=True)  # lowercased: the contact's address as last written
    target_id = CharField(default="")  # the help desk's id; "" while a create is pending
    principal = TextField(default="")  # the user principal name, named to another tenant
    fingerprint = CharField(default="")
    # The welcome email of a contact azsync created: "" (none due), due, sending, sent,
    # failed, unknown (claimed by a daemon that stopped before confirming it).
    welcome_state = CharField(default="")
    welcome_name = TextField(default="")  # the name it greets
    welcome_run = IntegerField(null=True)  # the run that created the contact: its record
    welcome_sent_at = UTCField(null=True)  # when it was claimed
    updated_at = UTCField(default=utcnow)

    class Meta:
        table_name = "contact_binding"  # schema step 10; "mirrorentry" was keyed by address
        primary_key = CompositeKey("tenant", "object_id")


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
    # What fixes it (``sync/fixes.py``), beside the reason: the quality report groups by it.
    fixes = JSONField(default=list)

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
    """An address a running sync plans to give a user (a contact created, adopted or taken
    over, or an address changed): the first user planned for an address has it, in the
    tenants' order; the others fail, naming it. ``binds``: the user gets a contact it was not
    bound to, which the later steps (leavers, rules) count as the tenant's."""

    run = IntegerField()
    email = CharField()
    tenant = CharField()
    object_id = CharField(default="")
    principal = CharField()  # the user principal name, named when another user collides
    binds = BooleanField(default=False)

    class Meta:
        primary_key = CompositeKey("run", "email")
        indexes = ((("run", "tenant", "object_id"), False),)


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
    TenantHealth,
    RaisedAlert,
]
