"""The group rules step: contact groups follow ``[[contact_groups]]`` rules (an Entra group,
or an attribute condition), over the tenant's contacts a page at a time.

What each user matched is noted in the state database as the read goes (``RunMatch``), not
kept in memory; the contacts the contacts step plans to create count as the tenant's, so a
first sync, held or not, plans the same memberships. The rules themselves are pure and live
in ``sync/group_rules.py``.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from azsyncd.config.model import ContactGroupRule
from azsyncd.directory.lookup import member_pages
from azsyncd.errors import GraphError, SecretError, TargetError
from azsyncd.state.lifecycle import Managed
from azsyncd.state.repository import RecordRow
from azsyncd.sync import group_rules
from azsyncd.sync.step import StepPlan
from azsyncd.targets.groups import ContactGroups

if TYPE_CHECKING:
    from azsyncd.sync.tenant_run import TenantRun


class GroupRules:
    name = "group rules"

    def __init__(self, run: TenantRun) -> None:
        self.run, self.services = run, run.services
        self.rules = self.services.config.contact_groups

    def log(self, message: str, level: str = "info") -> None:
        self.run.log(f"contact groups: {message}", level)

    def see(self, users: list[dict[str, Any]]) -> None:
        if self.rules:
            # A user outside [scope] matches no rule: it is treated as not read.
            matches = group_rules.attribute_matches(self.rules, self.run.read.in_scope(users))
            self.services.lifecycle.note_matches(
                self.services.run_id, self.run.tenant.name, matches
            )

    def plan(self) -> StepPlan:
        plan = StepPlan(self.name, work=[])
        if not self.rules:
            return plan
        if not isinstance(self.services.target, ContactGroups):
            self.log("this help desk has no contact groups; the rules are not applied", "warning")
            return plan
        rules = self._readable_rules()
        planned: Counter[str] = Counter()
        services, tenant = self.services, self.run.tenant.name
        lifecycle, run_id = services.lifecycle, services.run_id
        for managed in lifecycle.managed_pages(tenant, run_id):
            services.ctx.checkpoint()
            changes = group_rules.plan(
                rules,
                managed,
                services.state.seen_among(run_id, tenant, managed),
                lifecycle.matches(run_id, tenant, managed),
                lifecycle.members(tenant, managed),
            )
            for change in changes:
                self._count(plan, change, managed)
                planned[f"+{change.group}"] += len(change.add)
                planned[f"-{change.group}"] += len(change.remove)
            plan.work.extend(changes)
        would = "would " if services.dry_run else ""
        for group in dict.fromkeys(r.group for r in rules):
            if planned[f"+{group}"] or planned[f"-{group}"]:
                add, remove = planned[f"+{group}"], planned[f"-{group}"]
                self.log(f'"{group}": {would}add {add}, {would}remove {remove}')
        return plan

    def _readable_rules(self) -> list[ContactGroupRule]:
        """Note the members of each rule's Entra group; a group with a rule that could not be
        read keeps its members: no guess from half."""
        services, tenant, unread = self.services, self.run.tenant.name, set()
        assert self.run.graph is not None
        for group_id in {r.entra_group for r in self.rules if r.entra_group}:
            names = {r.group for r in self.rules if r.entra_group == group_id}
            try:
                for ids in member_pages(self.run.graph, group_id):
                    services.lifecycle.note_matches(
                        services.run_id, tenant, ((i, name) for i in ids for name in names)
                    )
            except GraphError as exc:
                unread.add(group_id)
                fix = (
                    " (fix: copy the group's object id from Entra ID)" if exc.status == 404 else ""
                )
                self.log(
                    f"Entra ID group {group_id} could not be read ({exc}); its contact group is"
                    f" left as it is{fix}",
                    "warning",
                )
        held = {r.group for r in self.rules if r.entra_group in unread}
        return [r for r in self.rules if r.group not in held]

    def _count(
        self, plan: StepPlan, change: group_rules.GroupChange, managed: dict[str, Managed]
    ) -> None:
        """Each membership change counts toward group_changes; a run that does not write at
        once keeps the record it would show."""
        tenant = self.run.tenant.name
        moves = [(o, f"+{'t' if v else ''}") for o, v in change.add.items()]
        moves += [(o, "-") for o in change.remove]
        for object_id, how in moves:
            plan.change("group_changes", [tenant, object_id, change.group, how])
            if self.services.writing:
                continue  # written at once: no plan to show, none kept
            what = "add to" if how.startswith("+") else "remove from"
            tickets = " (sees its tickets)" if how == "+t" else ""
            text = f'Would {what} contact group "{change.group}"{tickets}'
            email = managed[object_id].email
            row = RecordRow(tenant, object_id, email, group_rules.GROUP, "success", text, "groups")
            plan.notes.append(row)

    def hold(self, plan: StepPlan) -> None:
        self.services.state.add_records(self.services.run_id, plan.notes)

    def apply(self, plan: StepPlan) -> None:
        """One change at a time: a refusal fails only what it named, and stops the rest."""
        services, tenant, result = self.services, self.run.tenant.name, self.run.result
        target = services.target
        failed: Exception | None = None
        for change in plan.work:
            if failed is None:
                try:
                    contacts = self._contacts(change)
                    assert isinstance(target, ContactGroups)
                    added, taken = group_rules.apply(
                        change, target, services.lifecycle, tenant, contacts
                    )
                    result.grouped += added
                    result.ungrouped += taken
                    continue
                except (TargetError, SecretError) as exc:
                    failed = exc
            result.failed_grouped += len(change.add)
            result.failed_ungrouped += len(change.remove)
        if failed is not None:
            self.log(f"not all changes were made, the next sync retries: {failed}", "error")

    def _contacts(self, change: group_rules.GroupChange) -> dict[str, str]:
        """Object id -> the contact bound to it now, for the users a change adds."""
        bound = self.services.state.bindings(self.run.tenant.name, change.add)
        return {o: b.target_id for o, b in bound.items() if b.target_id}
