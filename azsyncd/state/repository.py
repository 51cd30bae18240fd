"""One class in front of the state tables, with explicit transactions."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from peewee import Database, fn

from azsyncd.state.fields import utcnow
from azsyncd.state.models import (
    AuditEntry,
    DeltaLink,
    FailingUser,
    MirrorEntry,
    RunLog,
    SyncRecord,
    SyncRun,
    TenantState,
)

RUN_STATUSES = ("running", "succeeded", "partial", "failed", "interrupted")
WELCOME_DUE, WELCOME_SENDING, WELCOME_SENT = "due", "sending", "sent"
WELCOME_FAILED, WELCOME_UNKNOWN = "failed", "unknown"
WELCOME_MAYBE = "welcome email may not have been sent (the daemon stopped while sending)"
AUDIT_KEEP = 10_000  # entries; older ones are pruned as new ones come
TICK = "tick"  # the trigger of an incremental run, kept only if it did something


def _kept() -> Any:
    """Runs in the history: all but a tick still running, which may yet turn out idle."""
    return ~((SyncRun.trigger == TICK) & (SyncRun.status == "running"))


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

    def forget_tenant(self, name: str) -> None:
        with self.db.atomic():
            TenantState.delete().where(TenantState.name == name).execute()
            DeltaLink.delete().where(DeltaLink.tenant == name).execute()
            FailingUser.delete().where(FailingUser.tenant == name).execute()

    def delta_link(self, tenant: str, scope_key: str) -> str | None:
        row = DeltaLink.get_or_none(DeltaLink.tenant == tenant, DeltaLink.scope_key == scope_key)
        return row.link if row else None

    def set_delta_link(self, tenant: str, scope_key: str, link: str) -> None:
        with self.db.atomic():
            # One baseline per tenant: a link for other settings is useless once they changed.
            DeltaLink.delete().where(DeltaLink.tenant == tenant).execute()
            DeltaLink.create(tenant=tenant, scope_key=scope_key, link=link)

    # --- the mirror of what was pushed to the target -----------------------------------

    def mirror(self, emails: Iterable[str]) -> dict[str, MirrorEntry]:
        wanted = list(set(emails))
        found: dict[str, MirrorEntry] = {}
        for start in range(0, len(wanted), 500):
            for row in MirrorEntry.select().where(
                MirrorEntry.email.in_(wanted[start : start + 500])
            ):
                found[row.email] = row
        return found

    def remember(self, rows: list[dict[str, Any]]) -> None:
        """Upsert mirror rows (email, target_id, tenant, object_id, fingerprint)."""
        now = utcnow()
        for start in range(0, len(rows), 200):
            chunk = [{**row, "updated_at": now} for row in rows[start : start + 200]]
            (
                MirrorEntry.insert_many(chunk)
                .on_conflict(
                    conflict_target=[MirrorEntry.email],
                    preserve=[
                        MirrorEntry.target_id,
                        MirrorEntry.tenant,
                        MirrorEntry.object_id,
                        MirrorEntry.fingerprint,
                        MirrorEntry.updated_at,
                    ],
                )
                .execute()
            )

    # --- welcome emails: due at creation, claimed just before sending, confirmed after ---

    def welcome_due(self, contacts: list[tuple[str, str]], run_id: int) -> None:
        """(email, name) of contacts this run created: each is owed one welcome email."""
        for email, name in contacts:
            MirrorEntry.update(
                welcome_state=WELCOME_DUE, welcome_name=name, welcome_run=run_id
            ).where(MirrorEntry.email == email, MirrorEntry.welcome_state == "").execute()

    def due_welcomes(self, emails: Iterable[str] | None = None) -> list[tuple[str, str]]:
        """(name, email) of the welcome emails still owed, among ``emails`` or all."""
        query = MirrorEntry.select(MirrorEntry.welcome_name, MirrorEntry.email).where(
            MirrorEntry.welcome_state == WELCOME_DUE
        )
        if emails is not None:
            query = query.where(MirrorEntry.email.in_(list(emails)))
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
        wanted = list(set(object_ids))
        found: dict[str, FailingUser] = {}
        for start in range(0, len(wanted), 500):
            part = query.where(FailingUser.object_id.in_(wanted[start : start + 500]))
            found.update((row.object_id, row) for row in part)
        return found

    def keep_failures(self, rows: list[dict[str, Any]]) -> None:
        """Upsert failing users (tenant, object_id, email, user, reason, since_run, refused,
        existed): the run of the first failure stays."""
        now = utcnow()
        for start in range(0, len(rows), 200):
            chunk = [{**row, "updated_at": now} for row in rows[start : start + 200]]
            (
                FailingUser.insert_many(chunk)
                .on_conflict(
                    conflict_target=[FailingUser.tenant, FailingUser.object_id],
                    preserve=[
                        FailingUser.email,
                        FailingUser.user,
                        FailingUser.reason,
                        FailingUser.refused,
                        FailingUser.existed,
                        FailingUser.updated_at,
                    ],
                )
                .execute()
            )

    def forget_failures(self, tenant: str, object_ids: Iterable[str]) -> None:
        """These users no longer fail (they synced, left the scope or the directory)."""
        gone = list(set(object_ids))
        for start in range(0, len(gone), 500):
            FailingUser.delete().where(
                FailingUser.tenant == tenant, FailingUser.object_id.in_(gone[start : start + 500])
            ).execute()

    def mirrored_ids(self, tenant: str) -> Iterator[str]:
        yield from (
            r.object_id
            for r in MirrorEntry.select(MirrorEntry.object_id)
            .where(MirrorEntry.tenant == tenant)
            .iterator()
        )

    # --- runs --------------------------------------------------------------------------

    def start_run(
        self, trigger: str, *, dry_run: bool = False, options: dict[str, Any] | None = None
    ) -> int:
        run = SyncRun.create(trigger=trigger, dry_run=dry_run, options=options or {})
        return int(run.id)

    def log(self, run_id: int, message: str, level: str = "info") -> None:
        RunLog.create(run=run_id, message=message, level=level)

    def add_records(self, run_id: int, rows: Iterable[RecordRow]) -> None:
        batch = [dict(run=run_id, **row.__dict__) for row in rows]
        with self.db.atomic():
            for start in range(0, len(batch), 500):
                SyncRecord.insert_many(batch[start : start + 500]).execute()

    def finish_run(
        self, run_id: int, status: str, message: str = "", counts: dict[str, Any] | None = None
    ) -> None:
        assert status in RUN_STATUSES
        values: dict[Any, Any] = {
            SyncRun.status: status,
            SyncRun.message: message,
            SyncRun.finished_at: utcnow(),
        }
        if counts is not None:
            values[SyncRun.counts] = counts
        SyncRun.update(values).where(SyncRun.id == run_id).execute()

    def discard_run(self, run_id: int) -> None:
        """Forget a run that did nothing worth keeping (an idle tick), with its records and log."""
        with self.db.atomic():
            SyncRecord.delete().where(SyncRecord.run == run_id).execute()
            RunLog.delete().where(RunLog.run == run_id).execute()
            SyncRun.delete().where(SyncRun.id == run_id).execute()

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
                SyncRun.id.not_in(newest), SyncRun.status != "running"
            )
            stale_ids = [r.id for r in stale]
            if stale_ids:
                SyncRecord.delete().where(SyncRecord.run.in_(stale_ids)).execute()
                RunLog.delete().where(RunLog.run.in_(stale_ids)).execute()
                SyncRun.delete().where(SyncRun.id.in_(stale_ids)).execute()
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

    def audit_entries(
        self, limit: int = 50, offset: int = 0, user: str = ""
    ) -> tuple[int, list[AuditEntry]]:
        """Newest first."""
        query = AuditEntry.select()
        if user:
            query = query.where(AuditEntry.user == user)
        rows = query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
        return int(query.count()), list(rows)
