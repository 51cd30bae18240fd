"""What azsync remembers about leavers and rule memberships, between runs.

Kept in tables of their own, created by schema step 5 (state/database.py). A contact is
managed when the mirror holds it: azsync created or adopted it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from peewee import BooleanField, CharField, CompositeKey, Database, Model, TextField

from azsyncd.state.fields import UTCField
from azsyncd.state.models import MirrorEntry


class Leaver(Model):
    """A managed user azsync saw leave (removed, out of scope or disabled)."""

    tenant = CharField()
    object_id = CharField()
    email = CharField(default="")
    gone_since = UTCField(null=True)  # first run that missed the user; None: present
    disabled = BooleanField(default=False)  # accountEnabled false when last read
    acted = BooleanField(default=False)  # its login was turned off by azsync
    reason = TextField(default="")

    class Meta:
        table_name = "leaver"
        primary_key = CompositeKey("tenant", "object_id")


class RuleMember(Model):
    """A contact azsync put in a contact group because a rule matched."""

    group = CharField()
    target_id = CharField()
    tenant = CharField()
    object_id = CharField()
    access_tickets = BooleanField(default=False)

    class Meta:
        table_name = "rule_member"
        primary_key = CompositeKey("group", "target_id")


TABLES: list[type[Model]] = [Leaver, RuleMember]


@dataclass(frozen=True)
class Managed:
    email: str
    target_id: str


class LifecycleState:
    def __init__(self, db: Database) -> None:
        self.db = db
        db.bind(TABLES)

    def managed(self, tenant: str) -> dict[str, Managed]:
        """Object id -> the contact azsync wrote for it, for one tenant."""
        query = (
            MirrorEntry.select(MirrorEntry.object_id, MirrorEntry.email, MirrorEntry.target_id)
            .where((MirrorEntry.tenant == tenant) & (MirrorEntry.target_id != ""))
            .iterator()
        )
        return {row.object_id: Managed(row.email, row.target_id) for row in query}

    def leavers(self, tenant: str) -> dict[str, Leaver]:
        return {row.object_id: row for row in Leaver.select().where(Leaver.tenant == tenant)}

    def all_leavers(self) -> list[Leaver]:
        return list(Leaver.select().order_by(Leaver.tenant, Leaver.email))

    def save_leavers(self, rows: Iterable[Leaver]) -> None:
        with self.db.atomic():
            for row in rows:
                if row.gone_since is None and not row.disabled and not row.acted:
                    Leaver.delete().where(
                        (Leaver.tenant == row.tenant) & (Leaver.object_id == row.object_id)
                    ).execute()
                else:
                    names = ("email", "gone_since", "disabled", "acted", "reason")
                    values = {getattr(Leaver, f): getattr(row, f) for f in names}
                    (
                        Leaver.insert(
                            {Leaver.tenant: row.tenant, Leaver.object_id: row.object_id, **values}
                        )
                        .on_conflict(
                            conflict_target=[Leaver.tenant, Leaver.object_id],
                            update=values,
                        )
                        .execute()
                    )

    def members(self, tenant: str) -> dict[str, dict[str, bool]]:
        """Group -> {target id: access_tickets} of the memberships azsync made for a tenant."""
        found: dict[str, dict[str, bool]] = {}
        for row in RuleMember.select().where(RuleMember.tenant == tenant).iterator():
            found.setdefault(row.group, {})[row.target_id] = row.access_tickets
        return found

    def add_members(self, rows: list[dict[str, object]]) -> None:
        with self.db.atomic():
            for start in range(0, len(rows), 200):
                (
                    RuleMember.insert_many(rows[start : start + 200])
                    .on_conflict(
                        conflict_target=[RuleMember.group, RuleMember.target_id],
                        preserve=[
                            RuleMember.access_tickets,
                            RuleMember.tenant,
                            RuleMember.object_id,
                        ],
                    )
                    .execute()
                )

    def remove_members(self, group: str, target_ids: list[str]) -> None:
        with self.db.atomic():
            for start in range(0, len(target_ids), 500):
                RuleMember.delete().where(
                    (RuleMember.group == group)
                    & RuleMember.target_id.in_(target_ids[start : start + 500])
                ).execute()
