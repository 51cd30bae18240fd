"""One sync run: every enabled tenant in order, users streamed in chunks, planned, applied.

Per tenant: read (full, delta or groups) -> map -> plan against the mirror and the target
-> apply in batches, then plan again the users that failed in earlier runs. A tenant that
cannot be read is disabled with the reason; the others still sync. One failing contact
never stops the others. Every ``[sync] full_every`` days (or on request) a tenant's sync is
a full reconciliation: all users read and compared with the help desk's own contacts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from azsyncd.config.model import Config, Tenant
from azsyncd.directory.authorize import Verdict
from azsyncd.directory.client import GraphClient
from azsyncd.directory.lookup import find_user, groups_of, member_pages
from azsyncd.directory.source import DirectoryRead, DirectorySource, scope_key, select_for
from azsyncd.directory.tenants import TenantService
from azsyncd.errors import AuthError, GraphError, SecretError, TargetError
from azsyncd.state import State
from azsyncd.state.fields import utcnow
from azsyncd.state.lifecycle import Leaver, LifecycleState, Managed
from azsyncd.state.models import TenantState
from azsyncd.state.repository import TICK, RecordRow
from azsyncd.sync import failures, group_rules, leavers
from azsyncd.sync.held import PlanBuffer
from azsyncd.sync.planner import Action, outside
from azsyncd.sync.planning import Planning
from azsyncd.sync.quarantine import describe
from azsyncd.sync.runner import SIDE_COUNTS, Outcome, RunContext
from azsyncd.sync.thresholds import digest, passed
from azsyncd.sync.writes import Tally, Writes
from azsyncd.targets.base import Target
from azsyncd.targets.groups import ContactGroups

CHUNK = 1000
FAILURE_RETRY_EVERY = timedelta(hours=1)  # for incremental ticks
READ_MODES = {
    "delta": "changes since the last sync",
    "full": "all users",
    "groups": "members of the selected groups",
}
T = TypeVar("T")


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def settings_key(config: Config) -> str:
    """Part of each mirror fingerprint: changing the mapping or overwrite rule rewrites contacts."""
    # The trailing "" keeps the fingerprints stored by earlier versions valid.
    text = json.dumps(
        [config.mapping.model_dump(mode="json"), config.target.kind, ""], sort_keys=True
    )
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class _FieldsUnreadable(Exception):
    """The help desk's fields could not be read: nothing can be planned in this run."""


@dataclass
class TenantResult:
    name: str
    ok: bool = True
    reason: str = ""
    users: int = 0
    removed: int = 0
    left: int = 0  # logins turned off this run
    returned: int = 0  # logins given back
    grouped: int = 0  # contacts added to a rule's group
    ungrouped: int = 0  # contacts taken out of one
    # Refused by the help desk: logins not turned off or on, memberships not changed.
    failed_left: int = 0
    failed_returned: int = 0
    failed_grouped: int = 0
    failed_ungrouped: int = 0
    read: str = ""  # delta | full | groups | reconciliation
    retried: int = 0  # users that failed before, planned again from their kept data
    quarantined: bool = False  # not tried: its next try is later
    # What a complete read leaves in the state (last sync, delta link, failures of users who
    # left), stored only once the run is not held.
    finish: Callable[[], None] = field(default=lambda: None, repr=False)
    # Leaver and contact-group changes a guarded run planned: carried out once it is not held.
    later: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def settle(self) -> None:
        for step in self.later:
            step()
        self.finish()


class Engine:
    def __init__(
        self,
        ctx: RunContext,
        config: Config,
        state: State,
        tenants: TenantService,
        target: Target,
        writes: Writes,
        plan_records: Writes | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.ctx, self.config, self.state, self.tenants = ctx, config, state, tenants
        self.clock = clock  # when a removal was first seen, and whether its grace has passed
        self.lifecycle = LifecycleState(state.db)
        self.target, self.writes = target, writes
        # Where a held run's plan is recorded (as a dry run records); None: runs are never held.
        self.plan_records = plan_records
        self.buffer: PlanBuffer | None = None
        self.settings = settings_key(config)
        self.run_id = ctx.progress.run_id
        self.order: list[str] = []  # the names of the tenants this run syncs, in order
        self._planning: Planning | None = None  # once the target's fields are read
        # Object ids of the tenant's users that failed in an earlier run, planned so far this
        # run: no more than the failing users the state holds, whatever the directory's size.
        self.planned: set[str] = set()

    @property
    def dry_run(self) -> bool:
        return self.ctx.progress.dry_run

    def run(self) -> Outcome:
        wanted = self.ctx.options.get("tenant")
        tenants = [
            t for t in self.config.tenants if t.enabled and (wanted is None or t.name == wanted)
        ]
        if not tenants:
            self.ctx.log("no enabled tenants; nothing to sync (add one with POST /v1/tenants)")
            return Outcome("succeeded", "no enabled tenants", dict(self.writes.tally().counts))
        self.order = [t.name for t in tenants]
        writes = self.writes
        if self._guarded():
            # The whole plan first: nothing is written until it is within the thresholds.
            self.writes = self.buffer = PlanBuffer()
        results = []
        # Users seen and addresses claimed live in the state database while the run lasts.
        self.state.forget_dead_runs_users(self.run_id)
        try:
            for tenant in tenants:
                self.ctx.checkpoint()
                self.ctx.report(phase="reading directory", tenant=tenant.name)
                results.append(self._quarantined(tenant, wanted) or self._tenant(tenant))
        except _FieldsUnreadable as exc:
            return Outcome(
                "failed",
                f"the help desk's contact fields could not be read: {exc.__cause__}",
                dict(writes.tally().counts),
            )
        finally:
            self.state.forget_run_users(self.run_id)
        if self.buffer is not None:
            try:
                held = self._hold(self.buffer, results)
                if held:
                    return held
                self.writes = writes
                self.ctx.report(phase="writing contacts")
                self.buffer.replay(writes)
            finally:
                self.buffer.close()
        for result in results:
            result.settle()
        return self._outcome(results, self.writes.tally())

    @property
    def planning(self) -> Planning:
        """The planner, reading the help desk's fields the first time there is a user to plan:
        a delta with no change costs no help-desk call."""
        if self._planning is not None:
            return self._planning
        try:
            fields = self.target.fields()
        except (TargetError, SecretError) as exc:
            raise _FieldsUnreadable() from exc
        self._planning = Planning(
            self.config, self.state, self.target, fields, self.settings, self.run_id, self.order
        )
        missing = self._planning.mapper.missing_fields
        if missing:
            self.ctx.log(
                f"mapped custom fields missing in the help desk, left out: {', '.join(missing)}",
                "warning",
            )
        return self._planning

    def _quarantined(self, tenant: Tenant, wanted: str | None) -> TenantResult | None:
        """A quarantined tenant waits for its next try, unless this run asks for it by name."""
        health = self.state.health(tenant.name)
        until = health.quarantined_until
        if until is None or until <= utcnow() or wanted == tenant.name:
            return None
        reason = describe(health.failures, health.reason, until)
        self.ctx.log(f"tenant {tenant.name}: skipped, {reason}", "warning")
        return TenantResult(tenant.name, reason=reason, quarantined=True)

    def _guarded(self) -> bool:
        return (
            self.plan_records is not None
            and not self.dry_run
            and not self.ctx.options.get("user")
            and (self.config.sync.thresholds.active or bool(self.ctx.options.get("approves")))
        )

    def _hold(self, buffer: PlanBuffer, results: list[TenantResult]) -> Outcome | None:
        """The held run's outcome if the plan passes a threshold or moved since its approval."""
        plans = list(buffer.plans.values())
        found = digest(plans)
        approves = self.ctx.options.get("approves")
        if approves:
            approved = self.state.run(int(approves))
            if approved is not None and approved.counts.get("plan_digest") == found:
                self.state.set_run_status(
                    int(approves), "approved", f"applied by run {self.ctx.run_id}"
                )
                self.ctx.log(f"applying the plan of run {approves}, as approved")
                return None
            reasons = [
                f"the directory or the config changed since run {approves} was planned, so its "
                "plan is not applied; this run holds the new plan"
            ]
            self.state.set_run_status(
                int(approves),
                "superseded",
                f"the directory moved; run {self.ctx.run_id} holds the new plan",
            )
        else:
            reasons = passed(plans, self.config.sync.thresholds, self.state.contact_count)
            if not reasons:
                return None
        for older in self.state.held_runs():
            if older.id != self.ctx.run_id:  # only the newest plan may be approved
                self.state.set_run_status(
                    older.id, "superseded", f"run {self.ctx.run_id} holds a newer plan"
                )
        assert self.plan_records is not None
        buffer.replay(self.plan_records)
        self.state.add_records(self.ctx.run_id, [r for plan in plans for r in plan.notes])
        outcome = self._outcome(results, buffer.tally())
        counts = {
            **outcome.counts,
            "plan": {plan.name: dict(plan.counts()) for plan in plans},
            "plan_digest": found,
        }
        self.ctx.log(
            "held, nothing written: " + "; ".join(reasons) + ". Review the plan (azsyncctl runs "
            f"show {self.ctx.run_id}), then approve or discard it",
            "warning",
        )
        return Outcome("held", "; ".join(reasons), counts)

    def _outcome(self, results: list[TenantResult], tally: Tally) -> Outcome:
        counts: dict[str, Any] = dict(tally.counts)
        counts["removed"] = sum(r.removed for r in results)
        for name in SIDE_COUNTS:
            counts[name] = sum(getattr(r, name) for r in results)
        counts["tenants"] = {
            r.name: {
                **dict(tally.tenants.get(r.name, {})),
                "ok": r.ok,
                "reason": r.reason,
                "users": r.users,
                "removed": r.removed,
                **{name: getattr(r, name) for name in SIDE_COUNTS},
                "read": r.read,
                "retried": r.retried,
                "quarantined": r.quarantined,
            }
            for r in results
        }
        broken = [r for r in results if not r.ok]
        message = "; ".join(f"{r.name}: {r.reason}" for r in broken)
        if len(broken) == len(results):
            return Outcome("failed", message, counts)
        if broken or counts["failed"]:
            return Outcome(
                "partial",
                message or f"{counts['failed']} contact(s) failed; see the records",
                counts,
            )
        return Outcome("succeeded", "", counts)

    def _fail_tenant(
        self,
        result: TenantResult,
        tenant: Tenant,
        reason: str,
        fix: str = "",
        disable: bool = False,
    ) -> TenantResult:
        self.writes.drain()  # what was already written is recorded
        result.ok, result.reason = False, reason + (f" (fix: {fix})" if fix else "")
        self.ctx.log(f"tenant {tenant.name}: {result.reason}", "error")
        if disable and not self.dry_run:
            self.tenants.record(tenant, Verdict("disabled", reason, fix))
        # Its users that failed before still fail: the log lists them, not planned again.
        rows = self.state.failing(tenant.name)
        # Planned this run: failed before (in self.planned), or first failed in this run.
        listed = self.planned | {k for k, r in rows.items() if r.since_run == self.run_id}
        self._apply([failures.from_row(r) for k, r in rows.items() if k not in listed])
        self.writes.drain()
        return result

    def _tenant(self, tenant: Tenant) -> TenantResult:
        result = TenantResult(tenant.name)
        self.planned = set()
        try:
            connection = self.tenants.connect(tenant)
            connection.graph.on_wait = lambda message: self.ctx.log(
                f"tenant {tenant.name}: {message}", "warning"
            )
            connection.auth.token()
        except AuthError as exc:
            return self._fail_tenant(
                result,
                tenant,
                f"no token: {exc}",
                exc.fix or "re-authorize the tenant",
                disable=True,
            )
        except SecretError as exc:
            return self._fail_tenant(result, tenant, exc.message, exc.fix, disable=True)
        row = self.state.tenant(tenant.name)
        self.writes.begin_tenant(tenant.name, self.writes_label(tenant))
        if self.ctx.options.get("user"):
            return self._one_user(tenant, connection.graph, result)

        rules = self.config.contact_groups
        # A new rule attribute changes the scope key: the next read is a full one.
        select = select_for(
            self.config.mapping,
            group_rules.rule_attributes(rules),
            *(scope.reads() for scope in self.config.scopes(tenant)),
        )
        scopes = self.config.scopes(tenant)
        conditions = [
            f"{kind}:{c}"
            for s in scopes
            for kind in ("in", "out")
            for c in (s.include if kind == "in" else s.exclude)
        ]
        key = scope_key(select, tenant, self.settings, conditions)
        source = DirectorySource(
            connection.graph,
            tenant,
            select,
            note=lambda message: self.ctx.log(f"tenant {tenant.name}: {message}", "warning"),
        )
        why = self._reconciliation(row)
        try:
            read = source.read(None if why else self.state.delta_link(tenant.name, key))
            result.read = "reconciliation" if why else read.mode
            self.ctx.log(f"tenant {tenant.name}: {self._kind_of_read(read.mode, why)}")
            seen = 0
            known = self.lifecycle.leavers(tenant.name)
            present: dict[str, bool] = {}  # the users read that the leavers' step needs
            rail = self._rail(tenant, read.mode, row.last_user_count)
            held: list[Action] = []
            for users in chunked(read.users, CHUNK):
                self.ctx.checkpoint()
                # A user outside [scope] is not seen: a full read's leaver, a delta's removed.
                inside = [u for u in users if not outside(u, scopes)] if scopes else users
                if len(inside) < len(users) and read.mode == "delta":
                    kept = {id(u) for u in inside}
                    read.removed.update(str(u.get("id")) for u in users if id(u) not in kept)
                seen += self.state.see_users(
                    self.run_id, tenant.name, (str(u.get("id")) for u in inside)
                )
                present.update(leavers.noted(inside, known))
                if rules:
                    self.lifecycle.note_matches(
                        self.run_id, tenant.name, group_rules.attribute_matches(rules, users)
                    )
                actions = self.planning.plan(tenant, users, reconcile=bool(why))
                if rail and seen < rail:
                    held.extend(actions)  # not enough users yet to trust this read
                    continue
                if held:
                    actions, held = held + actions, []
                self._apply(actions)
            retry = not (rail and seen < rail) and self._retry_due(row, bool(why))
            gone: set[str] = set()  # users that failed before and left: forgotten at the end
            if retry:
                result.retried, gone = self._plan_failures_again(tenant, read, bool(why))
            self.writes.drain()
        except AuthError as exc:
            return self._fail_tenant(result, tenant, f"no token: {exc}", exc.fix, disable=True)
        except GraphError as exc:
            return self._fail_tenant(
                result,
                tenant,
                f"reading the directory failed: {exc}",
                exc.fix
                or (
                    "grant the permissions and re-authorize"
                    if exc.status in (401, 403)
                    else "the next sync retries"
                ),
            )
        except TargetError as exc:
            return self._fail_tenant(result, tenant, exc.message, exc.fix)
        result.users = seen
        if rail and seen < rail:
            return self._fail_tenant(
                result,
                tenant,
                f"safety rail: the directory gave {seen} user(s), last time "
                f"{row.last_user_count}; nothing was written for this tenant",
                "check the tenant's scope and permissions; lower sync.min_share if this is"
                " expected",
            )
        # A full read's leavers come from the database: the contacts azsync wrote whose users
        # the run did not read (RunSeen), never from a set of every user read.
        unseen = (
            {} if read.mode == "delta" else self.lifecycle.unseen_managed(self.run_id, tenant.name)
        )
        removed = read.removed if read.mode == "delta" else set(unseen)
        result.removed = len(removed)
        if result.removed and self.config.lifecycle.on_removed == "keep":
            self.ctx.log(
                f"tenant {tenant.name}: {result.removed} user(s) left the directory or the scope; "
                "their contacts are kept"
            )
        # Reached only after a complete read: a failed or cut-short one returned above.
        self._leavers(tenant, known, present, removed, unseen, result)
        if rules:
            self._group_rules(tenant, connection.graph, result)
        if not self.dry_run:
            values: dict[str, Any] = {"last_checked_at": utcnow()}
            if row.status != "active":
                # It was read with a valid token: whatever failed before works now.
                values.update(status="active", reason="", fix="")
            if read.mode != "delta":
                values["last_user_count"] = seen
            if why:
                values["last_full_at"] = utcnow()
            if retry:
                values["failures_retried_at"] = self.ctx.now()

            def finish() -> None:
                self.state.set_tenant(tenant.name, **values)
                if gone:
                    self.state.forget_failures(tenant.name, gone)
                if read.delta_link:  # the read was complete, whatever the writes came to
                    self.state.set_delta_link(tenant.name, key, read.delta_link)

            result.finish = finish
        return result

    def _apply(self, actions: list[Action]) -> None:
        self.planned.update(a.user_id for a in actions if a.failing_since is not None)
        self.writes.apply(actions)
        self.ctx.report(
            phase="writing contacts",
            done=self.ctx.progress.done + len(actions),
            counts=dict(self.writes.tally().counts),  # what an interrupted run finished
        )

    def _retry_due(self, row: TenantState, reconcile: bool) -> bool:
        """Whether this run plans again the users that still fail. An incremental tick does
        so at most once an hour: a permanent refusal must not spend the rate budget every few
        minutes. Every other run does, and so lists every contact still failing."""
        if self.ctx.progress.trigger != TICK or reconcile:
            return True
        last = row.failures_retried_at
        return last is None or self.ctx.now() - last >= FAILURE_RETRY_EVERY

    def _reconciliation(self, row: TenantState) -> str:
        """Why this tenant's sync is a full reconciliation, or "" when it is not one."""
        if self.ctx.options.get("full"):
            return "asked for (sync --full)"
        every = self.config.sync.full_every
        if not every:
            return ""
        if row.last_full_at is None:
            return "the first for this tenant"
        age = utcnow() - row.last_full_at
        if age < timedelta(days=every):
            return ""
        return f"the last one was {age.days} day(s) ago; [sync] full_every = {every:g}"

    @staticmethod
    def _kind_of_read(mode: str, why: str) -> str:
        if why:
            what = READ_MODES["full" if mode == "delta" else mode]
            return f"full reconciliation ({why}): reading {what}, each compared with the help desk"
        return f"reading {READ_MODES[mode]}"

    def _plan_failures_again(
        self, tenant: Tenant, read: DirectoryRead, reconcile: bool
    ) -> tuple[int, set[str]]:
        """Plan again, from their kept data, the users that failed before and that this read
        did not bring; a complete read without them means they left. How many were planned,
        and the ids of those that left (their failures are forgotten once the run is not held)."""
        rows = self.state.failing(tenant.name)
        seen = self.state.seen_among(self.run_id, tenant.name, rows)
        gone = set(read.removed) if read.mode == "delta" else set(rows) - seen
        again = [r.user for k, r in rows.items() if k not in seen and k not in gone]
        if again:
            self.ctx.log(
                f"tenant {tenant.name}: planning again {len(again)} user(s) that failed in an "
                "earlier run"
            )
        for users in chunked(again, CHUNK):
            self.ctx.checkpoint()
            self._apply(self.planning.plan(tenant, users, reconcile))
        return len(again), gone & set(rows)

    def _rail(self, tenant: Tenant, mode: str, last: int | None) -> int:
        """How many users a full read must give before anything is written (0: no rail)."""
        if mode == "delta" or not last:
            return 0
        return max(1, int(last * self.config.sync.min_share))

    def _leavers(
        self,
        tenant: Tenant,
        known: dict[str, Leaver],
        present: dict[str, bool],
        removed: set[str],
        unseen: dict[str, Managed],
        result: TenantResult,
    ) -> None:
        if not known and not removed and not present:
            return  # nobody left, nobody disabled, nobody to bring back
        # The contacts of just the users named: leavers, disabled, gone (those unseen are in).
        wanted = {*known, *present, *removed} - unseen.keys()
        managed = {**self.lifecycle.managed(tenant.name, wanted), **unseen}
        gone = removed & managed.keys()
        if self.buffer is not None:
            # Who left since the last read counts toward disable, whatever on_removed says:
            # a config change that narrows the scope is held before its grace days start.
            self.buffer.left(
                tenant.name, {i for i in gone if i not in known or not known[i].gone_since}
            )
        if not known and not gone and all(present.get(i, True) for i in managed):
            return
        settings = self.config.lifecycle
        steps, rows = leavers.plan(
            settings, tenant.name, managed, known, present, removed, self.clock()
        )
        group = settings.group_name.format(tenant=self.writes_label(tenant))

        def carry_out() -> None:
            try:
                records = leavers.apply(steps, self.target, group, dry_run=self.dry_run)
            except (TargetError, SecretError) as exc:
                self.ctx.log(
                    f"tenant {tenant.name}: leavers not handled, the next sync retries: {exc}",
                    "error",
                )
                return
            self.state.add_records(self.ctx.run_id, records)
            if not self.dry_run:
                self.lifecycle.save_leavers(rows)
            for record in records:
                name = "left" if record.type == leavers.LEAVER else "returned"
                if record.status != "success":
                    name = f"failed_{name}"
                setattr(result, name, getattr(result, name) + 1)
            if records:
                failed = result.failed_left + result.failed_returned
                self.ctx.log(
                    f"tenant {tenant.name}: {result.left} leaver(s) lost their login, "
                    f"{result.returned} got it back, {failed} failed"
                )

        if self.buffer is None:
            return carry_out()
        # Guarded: counted and shown now, carried out (with the leavers' rows) once not held.
        self.buffer.planned(tenant.name, "disable", {s.row.object_id for s in steps if not s.login})
        self.buffer.planned(tenant.name, "enable", {s.row.object_id for s in steps if s.login})
        if isinstance(self.target, ContactGroups):
            self.buffer.planned(
                tenant.name,
                "group_changes",
                {f"{s.row.object_id}:{group}:{'-' if s.login else '+'}" for s in steps},
            )
        self.buffer.note(tenant.name, leavers.apply(steps, self.target, group, dry_run=True))
        result.later.append(carry_out)
        return None

    def _group_rules(self, tenant: Tenant, graph: GraphClient, result: TenantResult) -> None:
        """Contact groups follow the rules, over the managed contacts a page at a time: what
        each user matched is in the state database (RunMatch), not in memory."""

        def log(message: str, level: str = "info") -> None:
            self.ctx.log(f"tenant {tenant.name}: contact groups: {message}", level)

        target = self.target
        if not isinstance(target, ContactGroups):
            return log("this help desk has no contact groups; the rules are not applied", "warning")
        rules, unread = self.config.contact_groups, set()
        for group_id in {r.entra_group for r in rules if r.entra_group}:
            names = {r.group for r in rules if r.entra_group == group_id}
            try:
                for ids in member_pages(graph, group_id):
                    self.lifecycle.note_matches(
                        self.run_id, tenant.name, ((i, name) for i in ids for name in names)
                    )
            except GraphError as exc:
                unread.add(group_id)
                log(
                    f"Entra ID group {group_id} could not be read ({exc}); its contact group is"
                    " left as it is"
                    + (
                        " (fix: copy the group's object id from Entra ID)"
                        if exc.status == 404
                        else ""
                    ),
                    "warning",
                )
        # A group with a rule that could not be read keeps its members: no guess from half.
        held = {r.group for r in rules if r.entra_group in unread}
        rules = [r for r in rules if r.group not in held]
        planned: dict[str, list[int]] = {}  # group -> [to add, to remove]
        waiting: list[tuple[list[group_rules.GroupChange], dict[str, str]]] = []
        failed: list[Exception] = []

        def write(changes: list[group_rules.GroupChange], object_ids: dict[str, str]) -> None:
            for change in changes:  # one at a time: a refusal fails only what it named
                if not failed:
                    try:
                        added, taken = group_rules.apply(
                            [change], target, self.lifecycle, tenant.name, object_ids
                        )
                        result.grouped += added
                        result.ungrouped += taken
                        continue
                    except (TargetError, SecretError) as exc:
                        failed.append(exc)
                result.failed_grouped += len(change.add)
                result.failed_ungrouped += len(change.remove)

        for managed in self.lifecycle.managed_pages(tenant.name):
            self.ctx.checkpoint()
            changes = group_rules.plan(
                rules,
                managed,
                self.state.seen_among(self.run_id, tenant.name, managed),
                self.lifecycle.matches(self.run_id, tenant.name, managed),
                self.lifecycle.members(tenant.name, [m.target_id for m in managed.values()]),
            )
            for change in changes:
                counts = planned.setdefault(change.group, [0, 0])
                counts[0] += len(change.add)
                counts[1] += len(change.remove)
            if self.dry_run or not changes:
                continue
            object_ids = {m.target_id: object_id for object_id, m in managed.items()}
            if self.buffer is None:
                write(changes, object_ids)
            else:
                self._hold_group_changes(tenant.name, managed, changes)
                waiting.append((changes, object_ids))
        would = "would " if self.dry_run else ""
        for group, (add, remove) in planned.items():
            log(f'"{group}": {would}add {add}, {would}remove {remove}')

        def carry_out() -> None:
            for changes, object_ids in waiting:
                write(changes, object_ids)
            if failed:
                log(f"not all changes were made, the next sync retries: {failed[0]}", "error")

        if self.buffer is None:
            return carry_out()
        result.later.append(carry_out)
        return None

    def _hold_group_changes(
        self, tenant: str, managed: dict[str, Managed], changes: list[group_rules.GroupChange]
    ) -> None:
        """A guarded run's group changes: counted toward group_changes, shown in its plan."""
        assert self.buffer is not None
        by_target = {m.target_id: (object_id, m.email) for object_id, m in managed.items()}
        keys: set[str] = set()
        records: list[RecordRow] = []
        for change in changes:
            moves = [(t, f"+{'t' if v else ''}") for t, v in change.add.items()]
            moves += [(t, "-") for t in change.remove]
            for target_id, how in moves:
                object_id, email = by_target[target_id]
                keys.add(f"{object_id}:{change.group}:{how}")
                what = "add to" if how.startswith("+") else "remove from"
                tickets = " (sees its tickets)" if how == "+t" else ""
                records.append(
                    RecordRow(
                        tenant,
                        object_id,
                        email,
                        group_rules.GROUP,
                        "success",
                        f'Would {what} contact group "{change.group}"{tickets}',
                        "groups",
                    )
                )
        self.buffer.planned(tenant, "group_changes", keys)
        self.buffer.note(tenant, records)

    def writes_label(self, tenant: Tenant) -> str:
        row = self.state.tenant(tenant.name)
        return tenant.display_name or row.display_name or tenant.name

    def _one_user(self, tenant: Tenant, graph: GraphClient, result: TenantResult) -> TenantResult:
        """Every step for one user, in the run's log, the way provision-on-demand shows it."""
        who = str(self.ctx.options["user"])

        def log(message: str) -> None:
            self.ctx.log(f"{tenant.name}: {message}")

        member: set[str] = set()
        try:
            scopes = self.config.scopes(tenant)
            user = find_user(
                graph, who, select_for(self.config.mapping, *(s.reads() for s in scopes))
            )
            if user and tenant.users == "groups":
                member = groups_of(graph, str(user["id"])) & set(tenant.groups)
        except GraphError as exc:
            return self._fail_tenant(result, tenant, f"reading {who} failed: {exc}")
        if not user:
            log(f"1. fetched: no user {who} in this tenant")
            return result
        log(f"1. fetched: {user.get('userPrincipalName')} (id {user.get('id')})")
        if tenant.users == "groups":
            if not member:
                log(
                    "2. scope: not a member (directly or through nested groups) of the selected "
                    "groups; nothing to do"
                )
                return result
            log(f"2. scope: member of selected group(s) {', '.join(sorted(member))}")
        else:
            log("2. scope: all users of the tenant")
        actions = self.planning.plan(tenant, [user])
        action = actions[0]
        if action.mapped:
            mapped = action.mapped
            names = self.planning.field_names
            custom = {names.get(k, k): v for k, v in mapped.custom.items()}
            log(
                f"3. mapped: email {mapped.email}, name {mapped.name!r}, phones "
                f"{[(p.type, p.number) for p in mapped.phones]}, custom fields {custom}"
            )
        log(
            f"4. action: {action.kind}"
            + (f" ({action.reason})" if action.reason else "")
            + (f": {'; '.join(action.changes)}" if action.changes else "")
        )
        self._apply(actions)
        self.writes.drain()
        log(f"5. result: {action.kind}" + (f": {action.reason}" if action.kind == "failed" else ""))
        result.users = 1
        return result
