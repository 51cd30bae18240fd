"""The leavers step: users deleted in Entra ID, gone from the synced groups or disabled lose
their portal login (after the grace days), and get it back when they return.

It plans from the read and the contacts azsync keeps for the tenant, those the contacts step
of this run plans to create included, so a user disabled when its contact is created loses
the login in that same run, held or not. ``disable`` counts only leavers not yet acted on:
users gone since the last read, and the logins this plan turns off. The rules themselves are
pure and live in ``sync/leavers.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from azsyncd.config.templates import render
from azsyncd.errors import SecretError, TargetError
from azsyncd.state.lifecycle import Leaver, Managed
from azsyncd.sync import leavers
from azsyncd.sync.step import StepPlan
from azsyncd.targets.groups import ContactGroups

if TYPE_CHECKING:
    from azsyncd.sync.tenant_run import TenantRun


class Leavers:
    name = "leavers"

    def __init__(self, run: TenantRun) -> None:
        self.run, self.services = run, run.services
        self.known = self.services.lifecycle.leavers(run.tenant.name)
        self.present: dict[str, bool] = {}  # the users read that the plan needs: enabled?
        self.required: dict[str, dict[str, Any]] = {}  # their required fields' values

    def see(self, users: list[dict[str, Any]]) -> None:
        # A user outside [scope] is not present: it left, as if the read had not brought it.
        users = self.run.read.in_scope(users)
        found = leavers.noted(users, self.known)
        self.present.update(found)
        if found:
            mapper = self.services.planning.mapper
            for user in users:
                if str(user.get("id")) in found:
                    self.required[str(user.get("id"))] = mapper.required_values(user)

    def plan(self) -> StepPlan:
        plan = StepPlan(self.name, work=([], []))
        unseen, removed = self._removed()
        if not self.known and not removed and not self.present:
            return plan  # nobody left, nobody disabled, nobody to bring back
        tenant = self.run.tenant.name
        services = self.services
        # The contacts of just the users named: leavers, disabled, gone (those unseen are in).
        wanted = {*self.known, *self.present, *removed} - unseen.keys()
        managed = {**services.lifecycle.managed(tenant, wanted, services.run_id), **unseen}
        was_gone = {k for k, row in self.known.items() if row.gone_since is not None}
        steps, rows = leavers.plan(
            services.config.lifecycle,
            tenant,
            managed,
            self.known,
            self.present,
            removed,
            services.clock(),
            services.run_id,
        )
        for row in rows:
            row.required_values = self.required.get(row.object_id, row.required_values)
        self._count(plan, steps, rows, was_gone, managed)
        plan.work = (steps, rows)
        plan.notes = leavers.planned(steps)
        return plan

    def _removed(self) -> tuple[dict[str, Managed], set[str]]:
        """The contacts of users a full read did not bring (from the database, never a set of
        every user read), and the users the read says left."""
        read, services, tenant = self.run.read, self.services, self.run.tenant.name
        assert read.directory is not None
        unseen = (
            {}
            if read.mode == "delta"
            else services.lifecycle.unseen_managed(services.run_id, tenant)
        )
        removed = read.directory.removed if read.mode == "delta" else set(unseen)
        self.run.result.removed = len(removed)
        if removed and services.config.lifecycle.on_removed == "keep":
            self.run.log(
                f"{len(removed)} user(s) left the directory or the scope; their contacts are kept"
            )
        return unseen, removed

    def _count(
        self,
        plan: StepPlan,
        steps: list[leavers.Step],
        rows: list[Leaver],
        was_gone: set[str],
        managed: dict[str, Managed],
    ) -> None:
        """Toward ``disable``: leavers not yet acted on. Users gone since the last read count
        whatever on_removed says (a config change that narrows the scope is held before its
        grace days start); a leaver whose login is already off does not."""
        tenant = self.run.tenant.name
        gone = {
            r.object_id
            for r in rows
            if r.gone_since is not None
            and r.object_id not in was_gone
            and not r.acted
            and r.object_id in managed
        }
        off = {s.row.object_id for s in steps if not s.login}
        for object_id in sorted(gone | off):
            plan.change("disable", [tenant, object_id, "off"])
        groups = isinstance(self.services.target, ContactGroups)
        for step in steps:
            if step.login:
                plan.change("", [tenant, step.row.object_id, "on"])
            if groups:
                move = "-" if step.login else "+"
                plan.change("group_changes", [tenant, step.row.object_id, self.group, move])

    @property
    def group(self) -> str:
        """The leavers' contact group of this tenant."""
        label = self.services.label(self.run.tenant)
        return render(self.services.config.lifecycle.group_name, {"tenant": label})

    def hold(self, plan: StepPlan) -> None:
        self.services.state.add_records(self.services.run_id, plan.notes)

    def apply(self, plan: StepPlan) -> None:
        steps, rows = plan.work
        if not steps and not rows:
            return
        services, tenant = self.services, self.run.tenant.name
        bound = services.state.bindings(tenant, {s.row.object_id for s in steps})
        contact_ids = {k: b.target_id for k, b in bound.items() if b.target_id}
        # A contact this run meant to create and could not: its record says why; its login
        # is acted on once it exists.
        steps = [s for s in steps if s.row.object_id in contact_ids]
        records = []
        if steps:  # what the read changed of the rows alone costs the help desk nothing
            required = [f for f in services.planning.fields if f.required]
            try:
                records = leavers.apply(steps, services.target, self.group, contact_ids, required)
            except (TargetError, SecretError) as exc:
                self.run.log(f"leavers not handled, the next sync retries: {exc}", "error")
                return
        services.state.add_records(services.run_id, records)
        services.lifecycle.save_leavers(rows)
        self._tally(records)

    def _tally(self, records: list[Any]) -> None:
        result = self.run.result
        for record in records:
            name = "left" if record.type == leavers.LEAVER else "returned"
            if record.status != "success":
                name = f"failed_{name}"
            setattr(result, name, getattr(result, name) + 1)
        if records:
            failed = result.failed_left + result.failed_returned
            self.run.log(
                f"{result.left} leaver(s) lost their login, {result.returned} got it back, "
                f"{failed} failed" + (" (the next sync tries again)" if failed else "")
            )
