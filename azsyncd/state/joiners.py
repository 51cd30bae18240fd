"""What azsync remembers about joiners: users whose hire date is ahead.

A joiner is first "ahead" (too early for a contact: its directory data is kept, so the run
whose window opens creates the contact though no delta brings the user again), then
"created" (the contact exists with the portal login off and no welcome email) until the
day it starts. Each row is written in the transaction that records the user's plan (the
executor), so a crash cannot leave a joiner's contact that nobody will start; it goes once
the login is on and the welcome email owed. Created by schema step 11
(state/database.py). A tenant holds as many rows as it has upcoming starts, never one per
user.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from peewee import BooleanField, CharField, CompositeKey, Database, IntegerField, Model, TextField

from azsyncd.state.fields import JSONField, UTCField, utcnow

PAGE = 500


class Joiner(Model):
    tenant = CharField()
    object_id = CharField()
    email = CharField(default="")
    name = CharField(default="")  # whom the welcome email greets
    hire_date = CharField()  # YYYY-MM-DD: the day the login goes on, in the account's zone
    created_run = IntegerField(default=0)
    created_at = UTCField(default=utcnow)
    # The help desk refused to turn the login on: "login still OFF: <why>", tried every run.
    reason = TextField(default="")
    started = BooleanField(default=False)
    created = BooleanField(default=False)  # the contact exists (login off); else "ahead"
    user = JSONField(default=dict)  # an ahead joiner's directory data, planned again from it

    class Meta:
        table_name = "joiner"
        primary_key = CompositeKey("tenant", "object_id")

    @property
    def day(self) -> date:
        return date.fromisoformat(self.hire_date)


TABLES: list[type[Model]] = [Joiner]


class JoinerState:
    def __init__(self, db: Database) -> None:
        self.db = db
        db.bind(TABLES)

    def note(self, rows: Iterable[dict[str, object]]) -> None:
        """Joiners as a run planned them (tenant, object_id, email, name, hire_date,
        created_run, created, user): a contact created for one (created), or one too early
        for a contact (ahead, with its directory data); a row already there takes them."""
        for row in rows:
            keys = {Joiner.tenant: row["tenant"], Joiner.object_id: row["object_id"]}
            values = {
                Joiner.email: row["email"],
                Joiner.name: row["name"],
                Joiner.hire_date: row["hire_date"],
                Joiner.created_run: row["created_run"],
                Joiner.created: row["created"],
                Joiner.user: row["user"],
                Joiner.reason: "",
                Joiner.started: False,
            }
            (
                Joiner.insert({**keys, **values})
                .on_conflict(conflict_target=[Joiner.tenant, Joiner.object_id], update=values)
                .execute()
            )

    def of(self, tenant: str) -> dict[str, Joiner]:
        """A tenant's joiners not started yet (ahead or created), by object id."""
        query = Joiner.select().where((Joiner.tenant == tenant) & ~Joiner.started)
        return {row.object_id: row for row in query}

    def due(self, tenant: str, until: date) -> list[Joiner]:
        """Ahead joiners whose contact is due by ``until`` (their hire date minus the days)."""
        query = Joiner.select().where(
            (Joiner.tenant == tenant)
            & ~Joiner.created
            & ~Joiner.started
            & (Joiner.hire_date <= until.isoformat())
        )
        return list(query)

    def any_ahead(self, tenant: str) -> bool:
        return Joiner.select().where((Joiner.tenant == tenant) & ~Joiner.created).exists()

    def drop_ahead(self, tenant: str, object_ids: Iterable[str]) -> None:
        """Ahead rows of users planned otherwise now (created, failing, out of scope)."""
        ids = list(object_ids)
        for start in range(0, len(ids), PAGE):
            Joiner.delete().where(
                (Joiner.tenant == tenant)
                & ~Joiner.created
                & Joiner.object_id.in_(ids[start : start + PAGE])
            ).execute()

    def upcoming(self) -> list[Joiner]:
        """Every joiner not started yet, soonest first."""
        query = Joiner.select().where(~Joiner.started)
        return list(query.order_by(Joiner.hire_date, Joiner.tenant, Joiner.email))

    def save(self, rows: Iterable[Joiner]) -> None:
        """Rows as a run leaves them: a started joiner goes, the others keep their date."""
        with self.db.atomic():
            for row in rows:
                where = (Joiner.tenant == row.tenant) & (Joiner.object_id == row.object_id)
                if row.started:
                    Joiner.delete().where(where).execute()
                else:
                    Joiner.update(
                        hire_date=row.hire_date, reason=row.reason, email=row.email
                    ).where(where).execute()

    def forget(self, tenant: str, object_ids: Iterable[str]) -> None:
        """Joiners whose user left before starting: nothing is started for them."""
        ids = list(object_ids)
        for start in range(0, len(ids), PAGE):
            Joiner.delete().where(
                (Joiner.tenant == tenant) & Joiner.object_id.in_(ids[start : start + PAGE])
            ).execute()
