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
    fn,
)

from azsyncd.state.bulk import insert_rows
from azsyncd.state.fields import JSONField, UTCField
from azsyncd.state.models import MirrorEntry, RunClaim, RunSeen

PAGE = 500  # ids a lookup sends at once, rows a pass reads at once
STILL_ON = "login still ON"  # the reason a leaver's row keeps while its login is refused


class Leaver(Model):
    """A managed user azsync saw leave (removed, out of scope or disabled)."""

    tenant = CharField()
    object_id = CharField()
    email = CharField(default="")
    gone_since = UTCField(null=True)  # first run that missed the user; None: present
    gone_run = IntegerField(null=True)  # the run that first missed it (schema step 10)
    # The help desk's required fields as the directory last gave them (step 10): a login
    # write carries them, so an agent who emptied one cannot keep a leaver's login on.
    required_values = JSONField(default=dict)
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

    def _planned_rows(self, run_id: int, tenant: str) -> ModelSelect[RunClaim]:
        """Users the run plans to bind to a contact, not bound yet: their contacts are the
        tenant's as much as the bound ones, whether the run has written them yet or not."""
        bound = MirrorEntry.select(MirrorEntry.object_id).where(
            (MirrorEntry.tenant == tenant)
            & (MirrorEntry.object_id == RunClaim.object_id)
            & (MirrorEntry.target_id != "")
        )
        return RunClaim.select(RunClaim.object_id, RunClaim.email).where(
            (RunClaim.run == run_id)
            & (RunClaim.tenant == tenant)
            & (RunClaim.binds == True)  # noqa: E712 (SQL)
            & ~fn.EXISTS(bound)
        )

    def managed_pages(self, tenant: str, run_id: int) -> Iterator[dict[str, Managed]]:
        """Object id -> its contact, a page at a time, for one tenant: the users bound to a
        contact and those the run plans to bind (target id "" until the run writes them).
        Keyed on the object id so each page is an indexed range, on SQLite and PostgreSQL."""
        after = ""
        while True:
            bound = {
                row.object_id: Managed(row.email, row.target_id)
                for row in self._managed_rows(tenant)
                .where(MirrorEntry.object_id > after)
                .order_by(MirrorEntry.object_id)
                .limit(PAGE)
            }
            planned = {
                row.object_id: Managed(row.email, "")
                for row in self._planned_rows(run_id, tenant)
                .where(RunClaim.object_id > after)
                .order_by(RunClaim.object_id)
                .limit(PAGE)
            }
            keys = sorted(bound.keys() | planned.keys())[:PAGE]
            if not keys:
                return
            after = keys[-1]
            yield {key: bound.get(key) or planned[key] for key in keys}

    def managed(self, tenant: str, object_ids: Iterable[str], run_id: int) -> dict[str, Managed]:
        """The contacts of these users of a tenant (those that have one or will, in this
        run); a contact the run has not written yet has target id ""."""
        wanted = list(set(object_ids))
        found: dict[str, Managed] = {}
        for start in range(0, len(wanted), PAGE):
            part = wanted[start : start + PAGE]
            planned = self._planned_rows(run_id, tenant).where(RunClaim.object_id.in_(part))
            found.update((row.object_id, Managed(row.email, "")) for row in planned)
            query = self._managed_rows(tenant).where(MirrorEntry.object_id.in_(part))
            found.update((row.object_id, Managed(row.email, row.target_id)) for row in query)
        return found

    def unseen_managed(self, run_id: int, tenant: str) -> dict[str, Managed]:
        """The contacts azsync keeps for users of a tenant that the run did not read: as many
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

    def gone(
        self, keys: Iterable[tuple[str, str]], run_id: int, tenants: Iterable[str]
    ) -> set[tuple[str, str]]:
        """Of these (tenant, object id), the users gone from their tenant: seen removed by a
        run before ``run_id``, or of a tenant no longer in the configuration (``tenants``)."""
        wanted, configured = set(keys), set(tenants)
        found = {key for key in wanted if key[0] not in configured}
        for tenant in {t for t, _ in wanted - found}:
            ids = [o for t, o in wanted if t == tenant]
            for start in range(0, len(ids), PAGE):
                query = Leaver.select(Leaver.object_id).where(
                    (Leaver.tenant == tenant)
                    & Leaver.object_id.in_(ids[start : start + PAGE])
                    & Leaver.gone_since.is_null(False)
                    & (Leaver.gone_run.is_null() | (Leaver.gone_run != run_id))
                )
                found.update((tenant, row.object_id) for row in query)
        return found

    def leavers(self, tenant: str) -> dict[str, Leaver]:
        return {row.object_id: row for row in Leaver.select().where(Leaver.tenant == tenant)}

    def disabled(self, tenant: str, object_ids: Iterable[str]) -> set[str]:
        """Of these users, those whose account the last read of them gave as disabled."""
        ids, found = list(object_ids), set[str]()
        for start in range(0, len(ids), PAGE):
            query = Leaver.select(Leaver.object_id).where(
                (Leaver.tenant == tenant)
                & Leaver.disabled
                & Leaver.object_id.in_(ids[start : start + PAGE])
            )
            found.update(row.object_id for row in query)
        return found

    def logins_still_on(self, tenant: str) -> list[Leaver]:
        """Leavers whose login the help desk refused to turn off (tried again every sync)."""
        query = Leaver.select().where(
            (Leaver.tenant == tenant) & Leaver.reason.startswith(STILL_ON) & ~Leaver.acted
        )
        return list(query.order_by(Leaver.email))

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
                    names = (
                        "email",
                        "gone_since",
                        "gone_run",
                        "disabled",
                        "acted",
                        "reason",
                        "required_values",
                    )
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

    def forget_leavers(self, keys: Iterable[tuple[str, str]]) -> None:
        """Forget these users' leaver rows: their contacts were taken over by another user."""
        for tenant, object_id in keys:
            Leaver.delete().where(
                (Leaver.tenant == tenant) & (Leaver.object_id == object_id)
            ).execute()

    def members(
        self, tenant: str, object_ids: Iterable[str] | None = None
    ) -> dict[str, dict[str, bool]]:
        """Group -> {object id: access_tickets} of the memberships azsync made for a tenant's
        users (for these users only, when given)."""
        query = RuleMember.select().where(RuleMember.tenant == tenant)
        if object_ids is None:
            pages = [query]
        else:
            wanted = list(set(object_ids))
            pages = [
                query.where(RuleMember.object_id.in_(wanted[start : start + PAGE]))
                for start in range(0, len(wanted), PAGE)
            ]
        found: dict[str, dict[str, bool]] = {}
        for page in pages:
            for row in page.iterator():
                found.setdefault(row.group, {})[row.object_id] = row.access_tickets
        return found

    def member_contacts(self, tenant: str, group: str, object_ids: list[str]) -> dict[str, str]:
        """Object id -> the contact azsync put in ``group`` for it (what a removal names)."""
        found: dict[str, str] = {}
        for start in range(0, len(object_ids), PAGE):
            query = RuleMember.select(RuleMember.object_id, RuleMember.target_id).where(
                (RuleMember.tenant == tenant)
                & (RuleMember.group == group)
                & RuleMember.object_id.in_(object_ids[start : start + PAGE])
            )
            found.update((row.object_id, row.target_id) for row in query)
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
