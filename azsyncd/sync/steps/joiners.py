"""The joiners' step: on a joiner's hire date the portal login goes on and the welcome email
is owed (sent by the welcome step, which applies after this one).

The contacts step creates a joiner's contact with the login off from
``create_before_hire_days`` before the date, and the executor notes the joiner
(``state/joiners.py``) in the transaction that records the creation. This step follows
each joiner the read brings (a date moved, or removed: "now"), forgets those who left, and
starts those whose day came, in the account's time zone. A joiner the read does not bring
(a delta brings only what changed) keeps its date, so the first tick after midnight starts
it as the daily run would. Its memory holds the tenant's joiners, never the directory. The
rules are pure, in ``sync/joiners.py``.

A joiner who leaves the scope before the date is one who left (forgotten, the leavers'
rules apply to the contact); one whose account is disabled waits, login off, and starts at
the first sync that reads it enabled on or after its date (HR flows that enable accounts on
day one).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from azsyncd.errors import SecretError, TargetError
from azsyncd.state.joiners import JoinerState
from azsyncd.state.repository import RecordRow
from azsyncd.sync import joiners
from azsyncd.sync.step import StepPlan
from azsyncd.targets.base import ContactWrite, ExistingContact
from azsyncd.targets.fields import EMPTY, FieldDef

if TYPE_CHECKING:
    from azsyncd.sync.tenant_run import TenantRun


class Joiners:
    name = "joiners"

    def __init__(self, run: TenantRun) -> None:
        self.run, self.services = run, run.services
        self.state = JoinerState(self.services.state.db)
        self.known = self.state.of(run.tenant.name)
        self.seen: dict[str, date | None] = {}  # the known joiners the read brought
        self.enabled: dict[str, bool] = {}  # their accounts, enabled or not

    def see(self, users: list[dict[str, Any]]) -> None:
        if self.known:
            # A user outside [scope] is not present: it left, as if the read had not brought it.
            for user in self.run.read.in_scope(users):
                object_id = str(user.get("id"))
                if object_id in self.known:
                    self.seen[object_id] = joiners.hire_day(user)
                    self.enabled[object_id] = user.get("accountEnabled") is not False

    def plan(self) -> StepPlan:
        plan = StepPlan(self.name, work=([], [], []))
        if not self.known:
            return plan
        read, tenant = self.run.read, self.run.tenant.name
        assert read.directory is not None
        removed = (
            read.directory.removed if read.mode == "delta" else set(self.known) - set(self.seen)
        )
        today = joiners.today(self.services.clock(), self.services.config.account.timezone)
        days = self.services.config.lifecycle.create_before_hire_days
        starts, moved, gone = joiners.plan(self.known, self.seen, removed, today, days)
        disabled = self._disabled()
        if disabled & {s.row.object_id for s in starts}:
            waiting = len(disabled & {s.row.object_id for s in starts})
            self.run.log(f"{waiting} joiner(s) wait for their account to be enabled in Entra ID")
            starts = [s for s in starts if s.row.object_id not in disabled]
        for start in starts:
            plan.change("", [tenant, start.row.object_id, "start"])
        for row in moved:
            plan.change("", [tenant, row.object_id, "hire date", row.hire_date])
        plan.work = (starts, moved, gone)
        plan.notes = joiners.planned(starts)
        return plan

    def _disabled(self) -> set[str]:
        """The joiners whose account is disabled: as this read gave it, else as the leavers'
        rows last saw it."""
        unread = set(self.known) - set(self.enabled)
        kept = self.services.lifecycle.disabled(self.run.tenant.name, unread) if unread else set()
        return kept | {k for k, enabled in self.enabled.items() if not enabled}

    def hold(self, plan: StepPlan) -> None:
        self.services.state.add_records(self.services.run_id, plan.notes)

    def apply(self, plan: StepPlan) -> None:
        starts, moved, gone = plan.work
        tenant = self.run.tenant.name
        if gone:
            self.state.forget(tenant, gone)
            self.run.log(f"{len(gone)} joiner(s) left before their hire date")
        records: list[RecordRow] = []
        if starts:
            try:
                records = self._start(starts)
            except (TargetError, SecretError) as exc:
                self.run.log(f"joiners not started, the next sync retries: {exc}", "error")
                starts = []
        self.services.state.add_records(self.services.run_id, records)
        self.state.save([*moved, *(s.row for s in starts)])
        self._tally(records)

    def _start(self, starts: list[joiners.Start]) -> list[RecordRow]:
        """The login on for each joiner whose day came, then the welcome email owed."""
        services, tenant = self.services, self.run.tenant.name
        bound = services.state.bindings(tenant, {s.row.object_id for s in starts})
        ids = {k: b.target_id for k, b in bound.items() if b.target_id}
        found = services.target.find_by_id(set(ids.values())) if ids else {}
        required = [f for f in services.planning.fields if f.required]
        records: list[RecordRow] = []
        writes: list[tuple[joiners.Start, ContactWrite]] = []
        for start in starts:
            contact = found.get(ids.get(start.row.object_id, ""))
            if contact is None:  # deleted in the help desk: the contacts step creates it anew
                start.row.started = True
                gone = "the contact is no longer in the help desk; the next sync creates it"
                records.append(joiners.record(start, "failed", gone))
                continue
            writes.append((start, _login_on(contact, required)))
        welcome = services.config.welcome_email.enabled
        owed: list[tuple[str, str]] = []
        target = services.target
        for at in range(0, len(writes), target.max_batch):
            batch = writes[at : at + target.max_batch]
            results = target.write([w for _, w in batch])
            for (start, _), result in zip(batch, results, strict=True):
                if result.ok:
                    start.row.started, start.row.reason = True, ""
                    email = bound[start.row.object_id].email
                    owed.append((email, start.row.name or email))
                    text = "Login turned on" + (", welcome email sent" if welcome else "")
                    records.append(joiners.record(start, "success", f"{text}: {start.reason}"))
                else:
                    start.row.reason = f"{joiners.STILL_OFF}: {result.error}"
                    records.append(joiners.record(start, "failed", start.row.reason))
        if welcome and owed:
            services.state.welcome_due(owed, services.run_id)
        return records

    def _tally(self, records: list[RecordRow]) -> None:
        result = self.run.result
        for record in records:
            if record.status == "success":
                result.started += 1
            else:
                result.failed_started += 1
        if records:
            self.run.log(
                f"{result.started} joiner(s) started (login on), {result.failed_started} failed"
                + (" (the next sync tries again)" if result.failed_started else "")
            )


def _login_on(contact: ExistingContact, required: list[FieldDef]) -> ContactWrite:
    """The login on, with the contact's own values and its required fields' values, so a help
    desk that checks them on every edit takes it; nothing else changes."""
    custom = {f.id: contact.custom[f.id] for f in required if contact.custom.get(f.id) not in EMPTY}
    return ContactWrite(
        contact.email, contact.name, contact.phones, custom, existing=contact, login_enabled=True
    )
