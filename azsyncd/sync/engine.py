"""One sync run: every enabled tenant in order, each a ``TenantRun`` of steps.

Per tenant: read (full, delta or groups) -> every step plans (contacts, leavers, group
rules, welcome: ``steps/``) -> every step applies, in order. A tenant that cannot be read
fails with the reason; the others still sync. One failing contact never stops the others.

A run writes tenant by tenant as it goes, unless it is guarded (``[sync.thresholds]``, or an
approval): then every tenant is planned first, the thresholds judge the combined plan, and
it is applied whole or held whole (nothing written, the plan recorded for an admin). A dry
run plans every step and records what it would do. Thresholds decide only whether a plan
is applied, never what is planned.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from azsyncd.config.model import Config, Tenant
from azsyncd.directory.tenants import TenantService
from azsyncd.state import State
from azsyncd.state.fields import utcnow
from azsyncd.sync.quarantine import describe
from azsyncd.sync.runner import SIDE_COUNTS, Outcome, RunContext
from azsyncd.sync.services import FieldsUnreadable, Services, settings_key
from azsyncd.sync.tenant_run import TenantResult, TenantRun
from azsyncd.sync.thresholds import digest, passed
from azsyncd.sync.writes import Tally, Writes
from azsyncd.targets.base import Target

__all__ = ["Engine", "TenantResult", "settings_key"]


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
        """``plan_records``: where a held run's plan is recorded (as a dry run records its
        plan); None: runs are never held. ``clock``: when a removal was first seen, and
        whether its grace has passed."""
        self.ctx, self.config, self.state = ctx, config, state
        self.services = Services(ctx, config, state, tenants, target, writes, plan_records, clock)
        self.services.guarded = self._guarded()

    @property
    def dry_run(self) -> bool:
        return self.ctx.progress.dry_run

    def run(self) -> Outcome:
        wanted = self.ctx.options.get("tenant")
        tenants = [
            t for t in self.config.tenants if t.enabled and (wanted is None or t.name == wanted)
        ]
        writes = self.services.writes
        if not tenants:
            self.ctx.log("no enabled tenants; nothing to sync (add one with POST /v1/tenants)")
            return Outcome("skipped", "no enabled tenants", dict(writes.tally().counts))
        # Users seen and addresses claimed live in the state database while the run lasts.
        self.state.forget_dead_runs_users(self.ctx.run_id)
        runs: list[TenantRun] = []
        try:
            for tenant in tenants:
                runs.append(self._tenant(tenant, wanted))
            if self.services.guarded:
                held = self._guard(runs)
                if held:
                    return held
                self.ctx.report(phase="writing contacts")
                for run in runs:
                    if run.result.tried:
                        run.apply()
            self._supersede_stale(runs)
            return self._outcome(runs, writes.tally())
        except FieldsUnreadable as exc:
            return Outcome(
                "failed",
                f"the help desk's contact fields could not be read: {exc.__cause__}",
                dict(writes.tally().counts),
            )
        finally:
            self.state.forget_run_users(self.ctx.run_id)
            for run in runs:
                run.close()

    def _tenant(self, tenant: Tenant, wanted: str | None) -> TenantRun:
        """Plan one tenant; apply its plan at once when the run is not guarded."""
        self.ctx.checkpoint()
        self.ctx.report(phase="reading directory", tenant=tenant.name)
        run = TenantRun(self.services, tenant)
        if self._quarantined(tenant, wanted, run.result):
            return run
        run.plan()
        if self.dry_run:
            run.hold()
        elif not self.services.guarded:
            run.apply()
        return run

    def _quarantined(self, tenant: Tenant, wanted: str | None, result: TenantResult) -> bool:
        """A quarantined tenant waits for its next try, unless this run asks for it by name."""
        health = self.state.health(tenant.name)
        until = health.quarantined_until
        if until is None or until <= utcnow() or wanted == tenant.name:
            return False
        reason = describe(health.failures, health.reason, until)
        self.ctx.log(f"tenant {tenant.name}: skipped, {reason}", "warning")
        result.reason, result.quarantined = reason, True
        return True

    def _supersede_stale(self, runs: list[TenantRun]) -> None:
        """A run that planned a held run's tenants again and wrote its plan makes the held
        plan stale: approving it could only plan again. It ends as superseded, so its alert
        resolves and the tenants' ticks go on."""
        if self.dry_run or self.ctx.options.get("user"):
            return
        planned = {r.tenant.name for r in runs if r.result.tried and r.result.ok and r.plans}
        for older in self.state.held_runs():
            tenants = set((older.counts or {}).get("plan") or {})
            if older.id != self.ctx.run_id and tenants and tenants <= planned:
                self.state.set_run_status(
                    older.id,
                    "superseded",
                    f"run {self.ctx.run_id} planned its tenants again and wrote that plan",
                )

    def _guarded(self) -> bool:
        return (
            self.services.plan_records is not None
            and not self.dry_run
            and not self.ctx.options.get("user")
            and (self.config.sync.thresholds.active or bool(self.ctx.options.get("approves")))
        )

    def _guard(self, runs: list[TenantRun]) -> Outcome | None:
        """The held run's outcome if the plan passes a threshold or moved since its approval;
        None: the plan may be applied."""
        counts: dict[str, Counter[str]] = {}
        for run in runs:
            counts[run.tenant.name] = sum((p.counts for p in run.planned), Counter())
        found = digest(p.digest for run in runs for p in run.planned)
        reasons = self._approval(found)
        if reasons is None:
            reasons = passed(counts, self.config.sync.thresholds, self.state.contact_count)
        if not reasons:
            return None
        for older in self.state.held_runs():
            if older.id != self.ctx.run_id:  # only the newest plan may be approved
                self.state.set_run_status(
                    older.id, "superseded", f"run {self.ctx.run_id} holds a newer plan"
                )
        for run in runs:
            run.hold()
        assert self.services.plan_records is not None
        outcome = self._outcome(runs, self.services.plan_records.tally())
        held = {
            name: {k: c[k] for k in ("create", "update", "disable", "group_changes")}
            for name, c in counts.items()
        }
        counts_out = {**outcome.counts, "plan": held, "plan_digest": found}
        self.ctx.log(
            "held, nothing written: " + "; ".join(reasons) + ". Review the plan (azsyncctl runs "
            f"show {self.ctx.run_id}), then approve or discard it",
            "warning",
        )
        return Outcome("held", "; ".join(reasons), counts_out)

    def _approval(self, found: str) -> list[str] | None:
        """An approval of an earlier held run: [] to apply (same plan), the reason to hold the
        new plan instead; None when this run approves nothing."""
        approves = self.ctx.options.get("approves")
        if not approves:
            return None
        approved = self.state.run(int(approves))
        if approved is not None and approved.counts.get("plan_digest") == found:
            self.state.set_run_status(
                int(approves), "approved", f"applied by run {self.ctx.run_id}"
            )
            self.ctx.log(f"applying the plan of run {approves}, as approved")
            return []
        self.state.set_run_status(
            int(approves),
            "superseded",
            f"the directory moved; run {self.ctx.run_id} holds the new plan",
        )
        return [
            f"the directory or the config changed since run {approves} was planned, so its "
            "plan is not applied; this run holds the new plan"
        ]

    def _outcome(self, runs: list[TenantRun], tally: Tally) -> Outcome:
        results = [run.result for run in runs]
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
        # Each tenant's plan, step by step, in short: what a run with and one without
        # thresholds planned can be compared by.
        counts["steps"] = {run.tenant.name: run.digests() for run in runs if run.plans}
        return Outcome(*_status(results, counts), counts)


def _status(results: list[TenantResult], counts: dict[str, Any]) -> tuple[str, str]:
    if not any(r.tried for r in results):
        reasons = "; ".join(f"{r.name}: {r.reason}" for r in results)
        return "skipped", f"no tenant was read ({reasons})"
    broken = [r for r in results if not r.ok]
    message = "; ".join(f"{r.name}: {r.reason}" for r in broken)
    if len(broken) == len([r for r in results if r.tried]):
        return "failed", message
    if broken or counts["failed"]:
        return "partial", message or f"{counts['failed']} contact(s) failed; see the records"
    return "succeeded", ""
