"""One class in front of the state tables, with explicit transactions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from peewee import Database, fn

from azsyncd.state.bulk import among, insert_rows
from azsyncd.state.fields import utcnow
from azsyncd.state.lifecycle import Leaver, RunMatch
from azsyncd.state.models import (
    AuditEntry,
    DbInfo,
    DeltaLink,
    FailingUser,
    MirrorEntry,
    RaisedAlert,
    RunClaim,
    RunLog,
    RunSeen,
    SyncRecord,
    SyncRun,
    TenantHealth,
    TenantState,
)

MIRROR_COLUMNS = (
    MirrorEntry.email,
    MirrorEntry.target_id,
    MirrorEntry.tenant,
    MirrorEntry.object_id,
    MirrorEntry.fingerprint,
    MirrorEntry.principal,
)
BINDING_KEY = (MirrorEntry.tenant, MirrorEntry.object_id)
CLAIM_COLUMNS = (
    RunClaim.run,
    RunClaim.email,
    RunClaim.tenant,
    RunClaim.object_id,
    RunClaim.principal,
    RunClaim.binds,
)
RECORD_COLUMNS = (
    SyncRecord.run,
    SyncRecord.tenant,
    SyncRecord.user_id,
    SyncRecord.email,
    SyncRecord.type,
    SyncRecord.status,
    SyncRecord.result,
    SyncRecord.changed_fields,
)

FAILING_COLUMNS = (
    FailingUser.tenant,
    FailingUser.object_id,
    FailingUser.email,
    FailingUser.user,
    FailingUser.reason,
    FailingUser.since_run,
    FailingUser.refused,
    FailingUser.existed,
    FailingUser.fixes,
    FailingUser.updated_at,
)

# skipped: no tenant was read (all quarantined, or none enabled): it resolves no alert.
RUN_STATUSES = ("running", "succeeded", "partial", "failed", "interrupted", "held", "skipped")
# What a held run becomes: applied by a later run, refused by an admin, or planned again.
HELD_ENDS = ("approved", "discarded", "superseded")
WELCOME_DUE, WELCOME_SENDING, WELCOME_SENT = "due", "sending", "sent"
WELCOME_FAILED, WELCOME_UNKNOWN = "failed", "unknown"
WELCOME_MAYBE = "welcome email may not have been sent (the daemon stopped while sending)"
AUDIT_KEEP = 10_000  # entries; older ones are pruned as new ones come
RUN_SEEN_KEY = (RunSeen.run, RunSeen.tenant, RunSeen.object_id)
TICK = "tick"  # the trigger of an incremental run, kept only if it did something
LOOKUP_CHUNK = 500  # keys in one IN (...)


def _chunks(keys: Iterable[str]) -> Iterator[list[str]]:
    wanted = list(set(keys))
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        yield wanted[start : start + LOOKUP_CHUNK]


def _kept() -> Any:
    """Runs in the history: all but a tick still running, which may yet turn out idle."""
    return ~((SyncRun.trigger == TICK) & (SyncRun.status == "running"))


class Mirrored(NamedTuple):
    """What the planner compares of one binding (``MIRROR_COLUMNS``)."""

    email: str
    target_id: str
    tenant: str
    object_id: str
    fingerprint: str
    principal: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return self.tenant, self.object_id


class Claim(NamedTuple):
    """Who a running sync gave an address to (``RunClaim``)."""

    tenant: str
    object_id: str
    principal: str
    binds: bool = False


@dataclass(frozen=True)
class RecordRow:
    """One contact's line in a run's log (and CSV report)."""

    tenant: str
    user_id: str
    email: str
    type: str
    status: str
    result: str
    changed_fields: str = ""


class State:
    def __init__(self, db: Database) -> None:
        self.db = db
        # Bumped by every write to the tenants' rows or the runs (after it): a copy of them
        # read before the last bump may be stale.
        self.generation = 0
        self.on_change: Callable[[int], None] | None = None  # told each new generation

    def _changed(self) -> None:
        self.generation += 1
        if self.on_change is not None:
            self.on_change(self.generation)

    def changed_elsewhere(self) -> None:
        """Another process wrote what this generation covers: copies of it are stale."""
        self._changed()

    def _rows(self, query: Any) -> list[tuple[Any, ...]]:
        """A lookup's rows as the driver gives them: for text columns, with nothing to
        convert, peewee's row wrapper costs more than the query."""
        sql, params = query.sql()
        return list(self.db.execute_sql(sql, params).fetchall())

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()

    # --- tenants -----------------------------------------------------------------------

    def tenant(self, name: str) -> TenantState:
        row = TenantState.get_or_none(TenantState.name == name)
        return row if row is not None else TenantState(name=name)

    def tenants(self) -> dict[str, TenantState]:
        return {row.name: row for row in TenantState.select()}

    def set_tenant(self, name: str, **values: Any) -> None:
        if "reason" in values:
            values.setdefault("fix", "")  # a fix belongs to its reason: never keep a stale one
        with self.db.atomic():
            row = self.tenant(name)
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
            row.save(force_insert=TenantState.get_or_none(TenantState.name == name) is None)
        self._changed()

    def health(self, name: str) -> TenantHealth:
        return TenantHealth.get_or_none(TenantHealth.name == name) or TenantHealth(name=name)

    def healths(self) -> dict[str, TenantHealth]:
        return {row.name: row for row in TenantHealth.select()}

    def set_health(
        self, name: str, failures: int, reason: str, quarantined_until: datetime | None
    ) -> None:
        values = {"failures": failures, "reason": reason, "quarantined_until": quarantined_until}
        TenantHealth.insert(name=name, **values).on_conflict(
            conflict_target=[TenantHealth.name], update=values
        ).execute()
        self._changed()

    def fact(self, key: str) -> str:
        """A fact the daemons sharing this state keep (``DbInfo``), "" when unset."""
        row = DbInfo.get_or_none(DbInfo.key == key)
        return str(row.value) if row is not None else ""

    def set_fact(self, key: str, value: str) -> None:
        DbInfo.insert(key=key, value=value).on_conflict(
            conflict_target=[DbInfo.key], update={DbInfo.value: value}
        ).execute()

    def all_failing(self) -> Iterator[FailingUser]:
        """Every tenant's failing users, a page at a time (tenant, then address)."""
        query = FailingUser.select(
            FailingUser.tenant,
            FailingUser.object_id,
            FailingUser.email,
            FailingUser.reason,
            FailingUser.since_run,
            FailingUser.fixes,
        ).order_by(FailingUser.tenant, FailingUser.email, FailingUser.object_id)
        return iter(query.iterator())

    def raised_alerts(self) -> dict[str, str]:
        return {row.key: row.title for row in RaisedAlert.select()}

    def raise_alert(self, key: str, title: str) -> None:
        RaisedAlert.insert(key=key, title=title).on_conflict_ignore().execute()

    def clear_alert(self, key: str) -> None:
        RaisedAlert.delete().where(RaisedAlert.key == key).execute()

    def failed_emails(self, run_id: int) -> set[str]:
        query = SyncRecord.select(SyncRecord.email).where(
            SyncRecord.run == run_id, SyncRecord.status == "failed"
        )
        return {row.email for row in query}

    def finished_runs(self, limit: int = 2) -> list[SyncRun]:
        """The newest real runs that ended in a result (not held, not running)."""
        return list(
            SyncRun.select()
            .where(SyncRun.status.in_(["succeeded", "partial", "failed"]), ~SyncRun.dry_run)
            .order_by(SyncRun.id.desc())
            .limit(limit)
        )

    def held_runs(self) -> list[SyncRun]:
        return list(SyncRun.select().where(SyncRun.status == "held").order_by(SyncRun.id))

    def forget_tenant(self, name: str) -> None:
        with self.db.atomic():
            TenantState.delete().where(TenantState.name == name).execute()
            TenantHealth.delete().where(TenantHealth.name == name).execute()
            DeltaLink.delete().where(DeltaLink.tenant == name).execute()
            FailingUser.delete().where(FailingUser.tenant == name).execute()
        self._changed()

    def delta_link(self, tenant: str, scope_key: str) -> str | None:
        row = DeltaLink.get_or_none(DeltaLink.tenant == tenant, DeltaLink.scope_key == scope_key)
        return row.link if row else None

    def set_delta_link(self, tenant: str, scope_key: str, link: str) -> None:
        with self.db.atomic():
            # One baseline per tenant: a link for other settings is useless once they changed.
            DeltaLink.delete().where(DeltaLink.tenant == tenant).execute()
            DeltaLink.create(tenant=tenant, scope_key=scope_key, link=link)

    # --- the mirror of what was pushed to the target -----------------------------------

    def mirror(self, emails: Iterable[str]) -> dict[str, Mirrored]:
        """The bindings holding these addresses, by address: plain tuples, read for every
        user of a resync (a model per row, with its timestamps, costs more than the query)."""
        found: dict[str, Mirrored] = {}
        for part in _chunks(emails):
            query = MirrorEntry.select(*MIRROR_COLUMNS).where(among(MirrorEntry.email, part))
            for row in self._rows(query):
                entry = Mirrored(*row)
                if entry.target_id or entry.email not in found:  # a bound contact first
                    found[entry.email] = entry
        return found

    def bindings(self, tenant: str, object_ids: Iterable[str]) -> dict[str, Mirrored]:
        """These users' bindings (those that have one), by object id."""
        found: dict[str, Mirrored] = {}
        for part in _chunks(object_ids):
            query = MirrorEntry.select(*MIRROR_COLUMNS).where(
                MirrorEntry.tenant == tenant, among(MirrorEntry.object_id, part)
            )
            found.update((row[3], Mirrored(*row)) for row in self._rows(query))
        return found

    def mirror_entry(self, email: str) -> MirrorEntry | None:
        """One address's whole binding row, its welcome email's state included."""
        return MirrorEntry.get_or_none(MirrorEntry.email == email)

    def remember(self, rows: list[dict[str, Any]]) -> None:
        """Upsert bindings (tenant, object_id, email, target_id, fingerprint, principal), one
        statement. A new row owes no welcome email; an existing row keeps its welcome state."""
        now = MirrorEntry.updated_at.db_value(utcnow())
        columns = (*MIRROR_COLUMNS, MirrorEntry.updated_at)
        values = [(*(row.get(c.name, c.default) for c in MIRROR_COLUMNS), now) for row in rows]
        # The welcome columns have no default in the database: the insert names them.
        welcome = (MirrorEntry.welcome_state, MirrorEntry.welcome_name)
        kept = [c for c in columns if c.name not in ("tenant", "object_id")]
        insert_rows(
            MirrorEntry,
            (*columns, *welcome),
            [(*row, "", "") for row in values],
            conflict=BINDING_KEY,
            update=kept,
        )

    def release(self, bindings: Iterable[tuple[str, str]]) -> None:
        """Drop bindings (tenant, object id) whose contact another user took over, with the
        leaver rows of their users: no leaver step applies to that contact any more."""
        for tenant, object_id in bindings:
            MirrorEntry.delete().where(
                MirrorEntry.tenant == tenant, MirrorEntry.object_id == object_id
            ).execute()
            Leaver.delete().where(Leaver.tenant == tenant, Leaver.object_id == object_id).execute()

    # --- welcome emails: due at creation, claimed just before sending, confirmed after ---

    def welcome_due(self, contacts: list[tuple[str, str]], run_id: int) -> None:
        """(email, name) of contacts this run created: each is owed one welcome email."""
        for email, name in contacts:
            MirrorEntry.update(
                welcome_state=WELCOME_DUE, welcome_name=name, welcome_run=run_id
            ).where(MirrorEntry.email == email, MirrorEntry.welcome_state == "").execute()

    def due_welcomes(
        self, emails: Iterable[str] | None = None, tenant: str | None = None
    ) -> list[tuple[str, str]]:
        """(name, email) of the welcome emails still owed, among ``emails`` (or a tenant's
        contacts) or all."""
        query = MirrorEntry.select(MirrorEntry.welcome_name, MirrorEntry.email).where(
            MirrorEntry.welcome_state == WELCOME_DUE
        )
        if emails is not None:
            query = query.where(MirrorEntry.email.in_(list(emails)))
        if tenant is not None:
            query = query.where(MirrorEntry.tenant == tenant)
        return [
            (row.welcome_name or row.email, row.email) for row in query.order_by(MirrorEntry.email)
        ]

    def claim_welcome(self, email: str, *, again: bool = False) -> bool:
        """Claim one contact's welcome email; False if it is not owed. A crash between the
        claim and ``settle_welcome`` leaves this one recipient, and only it, uncertain.

        ``again`` (an admin's resend) also claims one that failed or may not have arrived.
        """
        owed = [WELCOME_DUE, WELCOME_FAILED, WELCOME_UNKNOWN] if again else [WELCOME_DUE]
        claimed = (
            MirrorEntry.update(welcome_state=WELCOME_SENDING, welcome_sent_at=utcnow())
            .where(MirrorEntry.email == email, MirrorEntry.welcome_state.in_(owed))
            .execute()
        )
        return bool(claimed)

    def settle_welcome(self, email: str, error: str = "") -> None:
        """Confirm a claimed welcome email; a failure goes into the contact's record."""
        with self.db.atomic():
            state = WELCOME_FAILED if error else WELCOME_SENT
            MirrorEntry.update(welcome_state=state).where(MirrorEntry.email == email).execute()
            row = MirrorEntry.get_or_none(MirrorEntry.email == email)
            if error and row is not None and row.welcome_run is not None:
                self.append_result(row.welcome_run, email, error)

    def orphaned_welcomes(self) -> list[str]:
        """Welcome emails a stopped daemon claimed but never confirmed: maybe sent, maybe not.
        Each is marked unknown and the record of the run that created its contact says so."""
        with self.db.atomic():
            rows = list(
                MirrorEntry.select(MirrorEntry.email, MirrorEntry.welcome_run).where(
                    MirrorEntry.welcome_state == WELCOME_SENDING
                )
            )
            for row in rows:
                MirrorEntry.update(welcome_state=WELCOME_UNKNOWN).where(
                    MirrorEntry.email == row.email
                ).execute()
                if row.welcome_run is not None:
                    self.append_result(row.welcome_run, row.email, WELCOME_MAYBE)
                    self.log(
                        row.welcome_run,
                        f"{row.email}: {WELCOME_MAYBE}; azsyncctl welcome resend {row.email} "
                        "sends it",
                        "warning",
                    )
        return [row.email for row in rows]

    # --- users whose contact failed: planned again every run -----------------------------

    def failing(
        self, tenant: str, object_ids: Iterable[str] | None = None
    ) -> dict[str, FailingUser]:
        """The tenant's failing users (among ``object_ids``, or all), by object id."""
        query = FailingUser.select().where(FailingUser.tenant == tenant)
        if object_ids is None:
            return {row.object_id: row for row in query}
        found: dict[str, FailingUser] = {}
        for part in _chunks(object_ids):
            found.update(
                (row.object_id, row) for row in query.where(among(FailingUser.object_id, part))
            )
        return found

    def keep_failures(self, rows: list[dict[str, Any]]) -> None:
        """Upsert failing users (tenant, object_id, email, user, reason, since_run, refused,
        existed), one statement: the run of the first failure stays."""
        now = utcnow()
        values = [
            tuple(
                c.db_value({"fixes": [], **row, "updated_at": now}[c.name]) for c in FAILING_COLUMNS
            )
            for row in rows
        ]
        refreshed = [c for c in FAILING_COLUMNS[2:] if c is not FailingUser.since_run]
        insert_rows(
            FailingUser, FAILING_COLUMNS, values, conflict=FAILING_COLUMNS[:2], update=refreshed
        )

    def first_failing_with(self, email: str, tenants: list[str]) -> str:
        """The first of ``tenants`` (in their order) with a failing user of this address."""
        query = FailingUser.select(FailingUser.tenant).where(
            FailingUser.email == email, FailingUser.tenant.in_(tenants)
        )
        found = {row.tenant for row in query}
        return next((t for t in tenants if t in found), "")

    def forget_failures(self, tenant: str, object_ids: Iterable[str]) -> None:
        """These users no longer fail (they synced, left the scope or the directory)."""
        for part in _chunks(object_ids):
            FailingUser.delete().where(
                FailingUser.tenant == tenant, among(FailingUser.object_id, part)
            ).execute()

    def contact_count(self, tenant: str) -> int:
        """The contacts azsync keeps for a tenant: what a percentage threshold is of."""
        return int(MirrorEntry.select().where(MirrorEntry.tenant == tenant).count())

    # --- a running sync's bookkeeping: users seen, addresses claimed ---------------------

    def see_users(self, run_id: int, tenant: str, object_ids: Iterable[str]) -> int:
        """Note users read by the run; returns how many had not been seen before."""
        values = [(run_id, tenant, object_id) for object_id in dict.fromkeys(object_ids)]
        return insert_rows(
            RunSeen, (RunSeen.run, RunSeen.tenant, RunSeen.object_id), values, conflict=RUN_SEEN_KEY
        )

    def seen_among(self, run_id: int, tenant: str, object_ids: Iterable[str]) -> set[str]:
        """Which of these users the run has read."""
        found: set[str] = set()
        for part in _chunks(object_ids):
            query = RunSeen.select(RunSeen.object_id).where(
                RunSeen.run == run_id, RunSeen.tenant == tenant, among(RunSeen.object_id, part)
            )
            found.update(row[0] for row in self._rows(query))
        return found

    def unseen_mirrored(self, run_id: int, tenant: str) -> int:
        """Users azsync wrote for ``tenant`` that the run did not read."""
        seen = RunSeen.select(RunSeen.object_id).where(
            RunSeen.run == run_id, RunSeen.tenant == tenant
        )
        return int(
            MirrorEntry.select()
            .where(MirrorEntry.tenant == tenant, MirrorEntry.object_id.not_in(seen))
            .count()
        )

    def claims(self, run_id: int, emails: Iterable[str]) -> dict[str, Claim]:
        """email -> who the run already gave it to."""
        found: dict[str, Claim] = {}
        for part in _chunks(emails):
            query = RunClaim.select(*CLAIM_COLUMNS[1:]).where(
                RunClaim.run == run_id, among(RunClaim.email, part)
            )
            found.update(
                (email, Claim(tenant, object_id, principal, bool(binds)))
                for email, tenant, object_id, principal, binds in self._rows(query)
            )
        return found

    def claim(self, run_id: int, claims: dict[str, Claim]) -> None:
        values = [(run_id, email, *claim) for email, claim in claims.items()]
        insert_rows(RunClaim, CLAIM_COLUMNS, values, conflict=CLAIM_COLUMNS[:2])

    def forget_run_users(self, run_id: int) -> None:
        """Drop one run's bookkeeping, at its end. Only its own: a daemon that lost the lead
        ends its run while the daemon that took over runs the next one on the same state."""
        with self.db.atomic():
            RunSeen.delete().where(RunSeen.run == run_id).execute()
            RunClaim.delete().where(RunClaim.run == run_id).execute()
            RunMatch.delete().where(RunMatch.run == run_id).execute()

    def forget_dead_runs_users(self, run_id: int) -> None:
        """Before run ``run_id`` starts: drop the bookkeeping of every run no longer running
        (a daemon killed mid-run leaves its own) and any left under this run's id."""
        live = SyncRun.select(SyncRun.id).where(SyncRun.status == "running", SyncRun.id != run_id)
        with self.db.atomic():  # a preview's (a negative id) are its own to drop
            RunSeen.delete().where(RunSeen.run.not_in(live), RunSeen.run >= 0).execute()
            RunClaim.delete().where(RunClaim.run.not_in(live), RunClaim.run >= 0).execute()
            RunMatch.delete().where(RunMatch.run.not_in(live), RunMatch.run >= 0).execute()

    def forget_previews(self) -> None:
        """Drop what previews (negative run ids) left: called as one starts, when no other
        preview of this daemon runs (a standby daemon previews nothing)."""
        with self.db.atomic():
            RunSeen.delete().where(RunSeen.run < 0).execute()
            RunClaim.delete().where(RunClaim.run < 0).execute()
            RunMatch.delete().where(RunMatch.run < 0).execute()

    # --- runs --------------------------------------------------------------------------

    def start_run(
        self, trigger: str, *, dry_run: bool = False, options: dict[str, Any] | None = None
    ) -> int:
        run = SyncRun.create(trigger=trigger, dry_run=dry_run, options=options or {})
        self._changed()
        return int(run.id)

    def log(self, run_id: int, message: str, level: str = "info") -> None:
        RunLog.create(run=run_id, message=message, level=level)

    def add_records(self, run_id: int, rows: Iterable[RecordRow]) -> None:
        values = [
            (run_id, r.tenant, r.user_id, r.email, r.type, r.status, r.result, r.changed_fields)
            for r in rows
        ]
        with self.db.atomic():
            insert_rows(SyncRecord, RECORD_COLUMNS, values)

    def finish_run(
        self, run_id: int, status: str, message: str = "", counts: dict[str, Any] | None = None
    ) -> None:
        assert status in RUN_STATUSES + HELD_ENDS
        values: dict[Any, Any] = {
            SyncRun.status: status,
            SyncRun.message: message,
            SyncRun.finished_at: utcnow(),
        }
        if counts is not None:
            values[SyncRun.counts] = counts
        SyncRun.update(values).where(SyncRun.id == run_id).execute()
        self._changed()

    def set_run_status(self, run_id: int, status: str, message: str) -> None:
        """A held run's end (approved, discarded, superseded), said in its log too."""
        assert status in HELD_ENDS
        SyncRun.update(status=status, message=message).where(SyncRun.id == run_id).execute()
        self._changed()
        self.log(run_id, f"{status}: {message}")

    def discard_run(self, run_id: int) -> None:
        """Forget a run that did nothing worth keeping (an idle tick), with its records and log."""
        with self.db.atomic():
            SyncRecord.delete().where(SyncRecord.run == run_id).execute()
            RunLog.delete().where(RunLog.run == run_id).execute()
            SyncRun.delete().where(SyncRun.id == run_id).execute()
        self._changed()

    def mark_interrupted(self, reason: str) -> list[int]:
        """Runs still 'running' belong to a daemon that died: say so in their history, and
        in the record of a contact whose welcome email it was sending."""
        with self.db.atomic():
            ids = [r.id for r in SyncRun.select(SyncRun.id).where(SyncRun.status == "running")]
            for run_id in ids:
                self.finish_run(run_id, "interrupted", reason)
                self.log(run_id, reason, "error")
            self.orphaned_welcomes()
        return ids

    def prune_history(self, keep: int) -> int:
        """Keep the newest ``keep`` runs; the foreign keys remove their records and logs."""
        with self.db.atomic():
            newest = [
                r.id for r in SyncRun.select(SyncRun.id).order_by(SyncRun.id.desc()).limit(keep)
            ]
            if not newest:
                return 0
            stale = SyncRun.select(SyncRun.id).where(
                # A held run waits for an admin, however many runs come after it.
                SyncRun.id.not_in(newest),
                SyncRun.status.not_in(["running", "held"]),
            )
            stale_ids = [r.id for r in stale]
            if stale_ids:
                SyncRecord.delete().where(SyncRecord.run.in_(stale_ids)).execute()
                RunLog.delete().where(RunLog.run.in_(stale_ids)).execute()
                SyncRun.delete().where(SyncRun.id.in_(stale_ids)).execute()
        self._changed()
        return len(stale_ids)

    def runs(self, limit: int = 30, offset: int = 0) -> list[SyncRun]:
        query = SyncRun.select().where(_kept()).order_by(SyncRun.id.desc())
        return list(query.limit(limit).offset(offset))

    def run(self, run_id: int) -> SyncRun | None:
        return SyncRun.get_or_none(SyncRun.id == run_id)

    def latest_run(self, *, include_dry: bool = False) -> SyncRun | None:
        """The last sync: the newest run that did something (not an idle tick)."""
        query = SyncRun.select().where(_kept()).order_by(SyncRun.id.desc())
        if not include_dry:
            query = query.where(~SyncRun.dry_run)
        return query.first()

    def last_finished_scheduled(self) -> SyncRun | None:
        return (
            SyncRun.select()
            .where(SyncRun.trigger.in_(["first", "scheduled", "catch-up"]), ~SyncRun.dry_run)
            .order_by(SyncRun.id.desc())
            .first()
        )

    def records(
        self,
        run_id: int,
        *,
        status: str | None = None,
        search: str = "",
        limit: int | None = None,
        offset: int = 0,
    ) -> list[SyncRecord]:
        query = self._records_query(run_id, status, search).order_by(SyncRecord.id).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        return list(query)

    def count_records(self, run_id: int, *, status: str | None = None, search: str = "") -> int:
        return int(self._records_query(run_id, status, search).count())

    def iter_records(self, run_id: int) -> Iterator[SyncRecord]:
        yield from (
            SyncRecord.select().where(SyncRecord.run == run_id).order_by(SyncRecord.id).iterator()
        )

    def _records_query(self, run_id: int, status: str | None, search: str) -> Any:
        query = SyncRecord.select().where(SyncRecord.run == run_id)
        if status:
            query = query.where(SyncRecord.status == status)
        if search:
            query = query.where(fn.LOWER(SyncRecord.email).contains(search.lower()))
        return query

    def append_result(self, run_id: int, email: str, text: str) -> None:
        """Add to a contact's Result after the fact (a welcome email that could not be sent)."""
        (
            SyncRecord.update(result=SyncRecord.result.concat(f"; {text}"))
            .where(SyncRecord.run == run_id, SyncRecord.email == email)
            .execute()
        )

    def log_lines(self, run_id: int) -> list[RunLog]:
        return list(RunLog.select().where(RunLog.run == run_id).order_by(RunLog.id))

    # --- the audit log of changes made through the control socket ------------------------

    def audit(self, user: str, uid: int | None, action: str, status: int, detail: list[str]) -> int:
        with self.db.atomic():
            entry = AuditEntry.create(
                user=user, uid=uid, action=action, status=status, detail="\n".join(detail)
            )
            if entry.id % 100 == 0:
                AuditEntry.delete().where(AuditEntry.id <= entry.id - AUDIT_KEEP).execute()
        return int(entry.id)

    def audit_update(self, entry_id: int, status: int, detail: list[str]) -> None:
        """Finish an entry written when its request began: the answer and what changed."""
        with self.db.atomic():
            AuditEntry.update(status=status, detail="\n".join(detail)).where(
                AuditEntry.id == entry_id
            ).execute()

    def audit_entries(
        self, limit: int = 50, offset: int = 0, user: str = ""
    ) -> tuple[int, list[AuditEntry]]:
        """Newest first."""
        query = AuditEntry.select()
        if user:
            query = query.where(AuditEntry.user == user)
        rows = query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
        return int(query.count()), list(rows)
