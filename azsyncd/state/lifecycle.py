"""What azsync remembers about leavers and rule memberships, between runs.

Kept in tables of their own, created by schema step 8 (state/database.py). A contact is
managed when the mirror holds it: azsync created or adopted it. Nothing here loads a
tenant's every contact: lookups go by the ids a step names, and a pass over all contacts
reads them a page at a time, so a run's memory stays flat at any directory size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from peewee import (
    BooleanField,
    CharField,
    CompositeKey,
    Database,
    IntegerField,
    Model,
    ModelSelect,
    TextField,
)

from azsyncd.state.bulk import insert_rows
from azsyncd.state.fields import UTCField
from azsyncd.state.models import MirrorEntry, RunSeen

PAGE = 500  # ids a lookup sends at once, rows a pass reads at once


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


class RunMatch(Model):
    """A user a running sync found matching a contact-group rule: by an attribute of the
    user it read, or as a member of the rule's Entra group. Kept for the run, like RunSeen."""

    run = IntegerField()
    tenant = CharField()
    object_id = CharField()
    group = CharField()

    class Meta:
        table_name = "run_match"
        primary_key = CompositeKey("run", "tenant", "object_id", "group")


TABLES: list[type[Model]] = [Leaver, RuleMember, RunMatch]
RUN_MATCH = (RunMatch.run, RunMatch.tenant, RunMatch.object_id, RunMatch.group)


@dataclass(frozen=True)
class Managed:
    email: str
    target_id: str


class LifecycleState:
    def __init__(self, db: Database) -> None:
        self.db = db
        db.bind(TABLES)

    def _managed_rows(self, tenant: str) -> ModelSelect[MirrorEntry]:
        return MirrorEntry.select(
            MirrorEntry.object_id, MirrorEntry.email, MirrorEntry.target_id
        ).where((MirrorEntry.tenant == tenant) & (MirrorEntry.target_id != ""))

    def managed_pages(self, tenant: str) -> Iterator[dict[str, Managed]]:
        """Object id -> the contact azsync wrote for it, a page at a time, for one tenant.
        Keyed on the address so each page is an indexed range, on SQLite and PostgreSQL."""
        after = ""
        while True:
            page = list(
                self._managed_rows(tenant)
                .where(MirrorEntry.email > after)
                .order_by(MirrorEntry.email)
                .limit(PAGE)
            )
            if not page:
                return
            after = page[-1].email
            yield {row.object_id: Managed(row.email, row.target_id) for row in page}

    def managed(self, tenant: str, object_ids: Iterable[str]) -> dict[str, Managed]:
        """The contacts azsync wrote for these users of a tenant (those it has)."""
        wanted = list(set(object_ids))
        found: dict[str, Managed] = {}
        for start in range(0, len(wanted), PAGE):
            query = self._managed_rows(tenant).where(
                MirrorEntry.object_id.in_(wanted[start : start + PAGE])
            )
            found.update((row.object_id, Managed(row.email, row.target_id)) for row in query)
        return found

    def unseen_managed(self, run_id: int, tenant: str) -> dict[str, Managed]:
        """The contacts azsync wrote for users of a tenant that the run did not read: as many
        as users left, read from the database's own join, never a set of every user."""
        seen = RunSeen.select(RunSeen.object_id).where(
            RunSeen.run == run_id, RunSeen.tenant == tenant
        )
        query = self._managed_rows(tenant).where(MirrorEntry.object_id.not_in(seen))
        return {row.object_id: Managed(row.email, row.target_id) for row in query.iterator()}

    def note_matches(self, run_id: int, tenant: str, matches: Iterable[tuple[str, str]]) -> None:
        """Keep (object id, contact group) pairs that matched a rule in this run."""
        rows = [(run_id, tenant, object_id, group) for object_id, group in set(matches)]
        insert_rows(RunMatch, RUN_MATCH, rows, conflict=RUN_MATCH)

    def matches(self, run_id: int, tenant: str, object_ids: Iterable[str]) -> dict[str, set[str]]:
        """Object id -> the contact groups whose rules it matched in this run."""
        wanted = list(set(object_ids))
        found: dict[str, set[str]] = {}
        for start in range(0, len(wanted), PAGE):
            for row in RunMatch.select(RunMatch.object_id, RunMatch.group).where(
                RunMatch.run == run_id,
                RunMatch.tenant == tenant,
                RunMatch.object_id.in_(wanted[start : start + PAGE]),
            ):
                found.setdefault(row.object_id, set()).add(row.group)
        return found

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

    def members(
        self, tenant: str, target_ids: Iterable[str] | None = None
    ) -> dict[str, dict[str, bool]]:
        """Group -> {target id: access_tickets} of the memberships azsync made for a tenant
        (for these contacts only, when given)."""
        query = RuleMember.select().where(RuleMember.tenant == tenant)
        if target_ids is None:
            pages = [query]
        else:
            wanted = list(set(target_ids))
            pages = [
                query.where(RuleMember.target_id.in_(wanted[start : start + PAGE]))
                for start in range(0, len(wanted), PAGE)
            ]
        found: dict[str, dict[str, bool]] = {}
        for page in pages:
            for row in page.iterator():
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
