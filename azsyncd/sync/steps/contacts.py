"""The contacts step: each user read becomes a create, an update (its address too, in
place), no change, or a failure with the reason (``planning.py``), and is written.

Planning goes a chunk at a time as the read goes. A run that writes at once (no thresholds,
no dry run) hands each chunk to the executor as soon as it is planned, so the next chunk is
read and planned while this one's writes wait for the help desk's rate limit; a guarded run
keeps the whole plan (``held.PlanBuffer``) until it may write; a dry run records it. Either
way the plan is the same: no chunk is planned from what an earlier chunk wrote.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from azsyncd.state.joiners import JoinerState
from azsyncd.sync import joiners
from azsyncd.sync.held import PlanBuffer
from azsyncd.sync.planner import Action, ActionKind
from azsyncd.sync.read import CHUNK, chunked
from azsyncd.sync.step import StepPlan
from azsyncd.sync.thresholds import THRESHOLD_OF

if TYPE_CHECKING:
    from azsyncd.sync.tenant_run import TenantRun


def counted(plan: StepPlan, action: Action) -> None:
    """A planned write counted toward its threshold (create, update) and digested."""
    kind = THRESHOLD_OF.get(str(action.kind), "")
    if kind:
        values = action.mapped.mirror if action.mapped else ""
        item = [action.tenant, action.user_id, str(action.kind), action.email, values]
        plan.change(kind, item + sorted(action.changes))


class Contacts:
    name = "contacts"

    def __init__(self, run: TenantRun) -> None:
        self.run = run
        self.services = services = run.services
        self.buffer = PlanBuffer() if services.guarded else None
        self.sink = self.buffer or services.writes
        self.sink.begin_tenant(run.tenant.name, services.label(run.tenant))
        self.result = StepPlan(self.name)
        # Object ids of the tenant's users that failed in an earlier run, planned so far this
        # run: no more than the failing users the state holds, whatever the directory's size.
        self.planned: set[str] = set()
        self.gone: set[str] = set()  # users that failed before and left: forgotten at apply
        self.taken = 0  # contacts taken over from users who left another tenant

    def see(self, users: list[dict[str, Any]]) -> None:
        reconcile = bool(self.run.read.why)
        self.send(self.services.planning.plan(self.run.tenant, users, reconcile))

    def send(self, actions: list[Action]) -> None:
        """Count and digest planned actions, then hand them on (written, kept or recorded)."""
        for action in actions:
            counted(self.result, action)
            if action.takes_over is not None and action.kind is not ActionKind.FAILED:
                self.taken += 1
        self.planned.update(a.user_id for a in actions if a.failing_since is not None)
        self.sink.apply(actions)
        ctx = self.services.ctx
        ctx.report(
            phase="writing contacts",
            done=ctx.progress.done + len(actions),
            counts=dict(self.services.writes.tally().counts),  # what an interrupted run did
        )

    def plan(self) -> StepPlan:
        read = self.run.read
        if read.retry_due:
            self.run.result.retried = self._plan_failures_again()
            read.values["failures_retried_at"] = self.services.ctx.now()
        if read.mode == "delta":
            self._plan_joiners_due()
        if self.taken:
            self.run.log(
                f"{self.taken} contact(s) taken over from users who left an earlier tenant: "
                "no leaver step applies to them any more"
            )
        return self.result

    def partial(self) -> StepPlan:
        """What was planned of a tenant whose read failed: written all the same."""
        return self.result

    def hold(self, plan: StepPlan) -> None:
        """A held run records its kept plan; a dry run's was recorded as it was planned."""
        if self.buffer is not None and self.services.plan_records is not None:
            self.buffer.replay(self.services.plan_records)
            self.buffer.close()
        self.sink.drain()

    def apply(self, plan: StepPlan) -> None:
        writes = self.services.writes
        if self.buffer is not None:
            self.buffer.replay(writes)
            self.buffer.close()
        writes.drain()
        if self.gone and not self.services.dry_run:
            self.services.state.forget_failures(self.run.tenant.name, self.gone)

    def _plan_joiners_due(self) -> None:
        """Plan, from their kept data, the joiners too early for a contact until now whose
        window opened and that this delta did not bring (a full read brings every user)."""
        services, tenant = self.services, self.run.tenant
        days = services.config.lifecycle.create_before_hire_days
        today = joiners.today(services.clock(), services.config.account.timezone)
        until = today + timedelta(days=days) if days else date.max  # off: every one, now
        rows = {r.object_id: r for r in JoinerState(services.state.db).due(tenant.name, until)}
        if not rows:
            return
        assert self.run.read.directory is not None
        skip = services.state.seen_among(services.run_id, tenant.name, rows)
        skip |= set(services.state.failing(tenant.name, rows)) | self.run.read.directory.removed
        again = [r.user for k, r in rows.items() if k not in skip and r.user]
        if again:
            self.run.log(f"planning {len(again)} joiner(s) whose contact is due from now")
        for users in chunked(again, CHUNK):
            self.services.ctx.checkpoint()
            self.send(self.services.planning.plan(tenant, users))

    def _plan_failures_again(self) -> int:
        """Plan again, from their kept data, the users that failed before and that this read
        did not bring; a complete read without them means they left (forgotten at apply).
        How many were planned."""
        state, run_id, tenant = self.services.state, self.services.run_id, self.run.tenant
        read = self.run.read
        rows = state.failing(tenant.name)
        seen = state.seen_among(run_id, tenant.name, rows)
        assert read.directory is not None
        gone = set(read.directory.removed) if read.mode == "delta" else set(rows) - seen
        again = [r.user for k, r in rows.items() if k not in seen and k not in gone]
        self.gone = gone & set(rows)
        if again:
            self.run.log(f"planning again {len(again)} user(s) that failed in an earlier run")
        for users in chunked(again, CHUNK):
            self.services.ctx.checkpoint()
            self.send(self.services.planning.plan(tenant, users, bool(read.why)))
        return len(again)
