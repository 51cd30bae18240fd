"""One tenant's part of a sync: connect, read, let every step plan, then apply or hold.

``plan`` reads the tenant's users once and shows each chunk to every step (``steps/``),
then asks each step for its plan. ``apply`` has each step carry its plan out in order, then
stores what the read leaves in the state (the delta link, the last sync). ``hold`` records
what each plan would do and writes nothing (a held run, a dry run). A tenant that cannot be
read fails alone, with the reason; its users that failed before are listed again.
"""

from __future__ import annotations

from dataclasses import dataclass

from azsyncd.config.expression import today_is
from azsyncd.config.model import Tenant
from azsyncd.directory.authorize import Verdict
from azsyncd.directory.client import GraphClient
from azsyncd.errors import AuthError, GraphError, SecretError, TargetError
from azsyncd.sync import failures, joiners
from azsyncd.sync.one_user import sync_one
from azsyncd.sync.read import RailNotReached, Read
from azsyncd.sync.services import Services
from azsyncd.sync.steps import Step, StepPlan, steps
from azsyncd.sync.steps.contacts import Contacts

RAIL_FIX = "check the tenant's scope and permissions; lower sync.min_share if this is expected"


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
    started: int = 0  # joiners whose login went on, on their hire date
    failed_started: int = 0
    read: str = ""  # delta | full | groups | reconciliation
    retried: int = 0  # users that failed before, planned again from their kept data
    quarantined: bool = False  # not tried: its next try is later

    @property
    def tried(self) -> bool:
        return not self.quarantined


class TenantRun:
    def __init__(self, services: Services, tenant: Tenant) -> None:
        self.services, self.tenant = services, tenant
        self.result = TenantResult(tenant.name)
        self.read = Read(self)
        self.steps: list[Step] = steps(self)
        self.plans: list[StepPlan] = []  # one per step, once the read was complete
        self.read_plan: StepPlan | None = None
        self.graph: GraphClient | None = None

    @property
    def contacts(self) -> Contacts:
        return next(s for s in self.steps if isinstance(s, Contacts))

    def log(self, message: str, level: str = "info") -> None:
        self.services.log(self.tenant.name, message, level)

    def plan(self) -> TenantResult:
        """Read and plan every step; a tenant that cannot be read fails with the reason.
        `today` in [scope] and the rules is the run's day in the account's time zone."""
        services = self.services
        with today_is(joiners.today(services.clock(), services.config.account.timezone)):
            return self._plan()

    def _plan(self) -> TenantResult:
        graph = self._connect()
        if graph is None:
            return self.result
        self.graph = graph
        if self.services.ctx.options.get("user"):
            sync_one(self, graph)
            return self.result
        try:
            for users in self.read.chunks(graph):
                for step in self.steps:
                    step.see(users)
            self.plans = [step.plan() for step in self.steps]
            self.read_plan = self.read.plan()
        except AuthError as exc:
            self.fail(f"no token: {exc}", exc.fix, disable=True)
        except GraphError as exc:
            fix = exc.fix or (
                "grant the permissions and re-authorize"
                if exc.status in (401, 403)
                else "the next sync retries"
            )
            self.fail(f"reading the directory failed: {exc}", fix)
        except TargetError as exc:
            self.fail(exc.message, exc.fix)
        except RailNotReached as exc:
            self.fail(str(exc), RAIL_FIX)
        return self.result

    def apply(self) -> None:
        """Carry out every step's plan, in order; then what the read leaves in the state. A
        tenant whose read failed still writes what its contacts step planned before."""
        if not self.plans:
            self.contacts.apply(self.contacts.partial())
        for step, plan in zip(self.steps, self.plans, strict=bool(self.plans)):
            step.apply(plan)
        if self.read_plan is not None:
            self.read.apply(self.read_plan)

    def hold(self) -> None:
        """Record what every step would do; nothing is written."""
        if not self.plans:
            self.contacts.hold(self.contacts.partial())
        for step, plan in zip(self.steps, self.plans, strict=bool(self.plans)):
            step.hold(plan)

    def close(self) -> None:
        """A guarded run's plan file goes."""
        if self.contacts.buffer is not None:
            self.contacts.buffer.close()

    @property
    def planned(self) -> list[StepPlan]:
        """What the thresholds judge: every step's plan, or what the contacts step planned
        of a tenant whose read failed (it is written all the same)."""
        return self.plans or [self.contacts.partial()]

    def digests(self) -> dict[str, str]:
        """Each step's plan in short, to compare one run's plan with another's."""
        return {plan.step: plan.digest.hexdigest() for plan in self.plans}

    def _connect(self) -> GraphClient | None:
        try:
            connection = self.services.tenants.connect(self.tenant)
            connection.graph.on_wait = lambda message: self.log(message, "warning")
            connection.auth.token()
        except AuthError as exc:
            self.fail(f"no token: {exc}", exc.fix or "re-authorize the tenant", disable=True)
            return None
        except SecretError as exc:
            self.fail(exc.message, exc.fix, disable=True)
            return None
        return connection.graph

    def fail(self, reason: str, fix: str = "", disable: bool = False) -> None:
        """The tenant fails alone: what was written is recorded, and its users that failed
        before still fail (the log lists them; they are not planned again)."""
        services, result = self.services, self.result
        services.writes.drain()
        result.ok, result.reason = False, reason + (f" (fix: {fix})" if fix else "")
        self.log(result.reason, "error")
        if disable and not services.dry_run:
            services.tenants.record(self.tenant, Verdict("disabled", reason, fix))
        self.plans, self.read_plan = [], None
        rows = services.state.failing(self.tenant.name)
        # Planned this run: failed before, or first failed in this run.
        listed = self.contacts.planned | {
            k for k, r in rows.items() if r.since_run == services.run_id
        }
        self.contacts.send([failures.from_row(r) for k, r in rows.items() if k not in listed])
        services.writes.drain()
