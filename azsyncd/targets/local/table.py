"""The built-in store's table, kept in the state database under its historic name."""

from __future__ import annotations

from peewee import AutoField, CharField, Database, Model, TextField

from azsyncd.state.fields import JSONField, UTCField, utcnow


class Contact(Model):
    """A contact of the built-in store."""

    id = AutoField()
    email = CharField(unique=True)  # lowercased
    name = TextField()
    phones = JSONField(default=list)
    custom = JSONField(default=dict)
    source_tenant = CharField(default="")
    source_object_id = CharField(default="")
    created_at = UTCField(default=utcnow)
    updated_at = UTCField(default=utcnow)

    class Meta:
        # The state schema's first version created it under this name: databases written
        # before the table moved here open as they are.
        table_name = "contact"


def attach(db: Database) -> None:
    """Use the table in ``db``, creating it there if the database has none yet."""
    db.bind([Contact])
    if not db.table_exists(Contact._meta.table_name):
        db.create_tables([Contact], safe=True)
