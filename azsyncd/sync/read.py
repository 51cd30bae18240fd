"""The read step: a tenant's users from the directory, in chunks, for every other step.

It decides the kind of read (a delta since the stored link, all users, the members of the
chosen groups, or a full reconciliation), notes each user read in the state (``RunSeen``),
and holds the chunks back until a full read has given enough users to trust it (the safety
rail, ``[sync] min_share``, which counts every user read: a narrower scope is no sign of a
broken read). A user outside ``[scope]`` is read and shown to the steps (the
contacts step records it as skipped, naming the condition), but is not noted as seen: for
the leavers and the group rules it is as if the read had not brought it, so leaving the
scope makes a leaver (a delta adds it to the removed). What a complete read leaves in the
state (the delta link, the last sync, the user count) is its plan, stored only once the run
is not held.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from azsyncd.config.model import Config, Scope, Tenant
from azsyncd.directory.client import GraphClient
from azsyncd.directory.source import (
    INVALID,
    DirectoryRead,
    DirectorySource,
    scope_key,
    select_for,
)
from azsyncd.state.fields import utcnow
from azsyncd.state.models import TenantState
from azsyncd.state.repository import TICK
from azsyncd.sync import group_rules, joiners
from azsyncd.sync.planner import outside
from azsyncd.sync.services import settings_key
from azsyncd.sync.step import StepPlan

if TYPE_CHECKING:
    from azsyncd.sync.tenant_run import TenantRun

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


def selected(config: Config, tenant: Tenant) -> list[str]:
    """The user properties a read asks for: the mapping's, the rules', the joiners' and the
    tenant's [scope] attributes (a new one changes the scope key, so the next read is a full
    one)."""
    rules = group_rules.rule_attributes(config.contact_groups)
    hires = joiners.attributes(config.lifecycle.create_before_hire_days)
    scopes = (scope.reads() for scope in config.scopes(tenant))
    return select_for(config.mapping, rules, hires, *scopes)


def conditions(config: Config, tenant: Tenant, day: date | None = None) -> list[str]:
    """The tenant's [scope] conditions and the contact-group rules, for the scope key: a
    changed scope or rule starts a full read, the only kind that sees who is outside the
    scope now, or judges every contact by the rules. A scope or an attribute rule that
    says `today` adds the account's ``day``: who is in it changes as days pass with no change
    in the directory for a delta to bring, so the first read of each day is a full one."""
    found = [
        f"{kind}:{c}"
        for scope in config.scopes(tenant)
        for kind, listed in (("in", scope.include), ("out", scope.exclude))
        for c in listed
    ]
    # A rule added or changed judges every contact at the next read, which must then be a
    # full one: a delta shows the rules only the users that changed.
    found += [
        f"rule:{r.group}|{r.when}|{r.entra_group}|{r.access_tickets}" for r in config.contact_groups
    ]
    if tenant.exclude_disabled:  # turned off: the disabled accounts are synced at once
        found.append("exclude_disabled")
    if day is not None and dated(config, tenant):
        found.append(f"day:{day.isoformat()}")
    return found


def dated(config: Config, tenant: Tenant) -> bool:
    """Whether the tenant's scope or an attribute rule says `today`."""
    return any(scope.dated() for scope in config.scopes(tenant)) or any(
        rule.when and rule.condition().dated for rule in config.contact_groups
    )


def read_key(config: Config, tenant: Tenant, day: date | None = None) -> str:
    """The scope key a tenant's delta link is stored under, with these settings, on the
    account's ``day`` (what a dated scope needs)."""
    return scope_key(
        selected(config, tenant), tenant, settings_key(config), conditions(config, tenant, day)
    )


def reconciliation_due(
    config: Config, row: TenantState, options: dict[str, Any], now: datetime
) -> str:
    """Why a tenant's next sync is a full reconciliation, or "" when it is not one, at ``now``
    on the daemon's clock (the one the scheduler and the runs use; ``last_full_at`` is
    stamped from it too)."""
    if options.get("full"):
        return "asked for (sync --full)"
    every = config.sync.full_every
    if not every:
        return ""
    if row.last_full_at is None:
        return "the first for this tenant"
    age = now - row.last_full_at
    if age < timedelta(days=every):
        return ""
    return f"the last one was {age.days} day(s) ago; [sync] full_every = {every:g}"


class RailNotReached(Exception):
    """A full read gave too few users to trust: nothing is written for the tenant."""


class Read:
    name = "read"

    def __init__(self, run: TenantRun) -> None:
        self.run = run
        self.services = run.services
        self.row = run.services.state.tenant(run.tenant.name)
        self.why = self._reconciliation()  # why this read is a full reconciliation, or ""
        self.directory: DirectoryRead | None = None
        self.seen = 0  # users read in scope: the tenant's users
        self.read_count = 0  # every user read, in scope or not: what the safety rail counts
        # Object ids of the chunk the steps are shown now that are outside [scope].
        self.outside: set[str] = set()
        self.values: dict[str, Any] = {}  # what the tenant's row gets once not held

    @property
    def mode(self) -> str:
        assert self.directory is not None, "read first"
        return self.directory.mode

    @property
    def retry_due(self) -> bool:
        """Whether this run plans again the users that still fail. An incremental tick does
        so at most once an hour: a permanent refusal must not spend the rate budget every few
        minutes. Every other run does, and so lists every contact still failing."""
        ctx = self.services.ctx
        if ctx.progress.trigger != TICK or self.why:
            return True
        last = self.row.failures_retried_at
        return last is None or ctx.now() - last >= FAILURE_RETRY_EVERY

    def chunks(self, graph: GraphClient) -> Iterator[list[dict[str, Any]]]:
        """The users, a chunk at a time, once the rail trusts the read; RailNotReached when a
        complete read gave too few."""
        tenant, services = self.run.tenant, self.services
        scopes = services.config.scopes(tenant)
        select = selected(services.config, tenant)
        day = joiners.today(services.clock(), services.config.account.timezone)
        self.key = scope_key(
            select, tenant, services.settings, conditions(services.config, tenant, day)
        )
        source = DirectorySource(
            graph, tenant, select, note=lambda message: self.run.log(message, "warning")
        )
        # A preview reads in full whatever link is stored: what the next full run would do.
        full = self.why or services.ctx.options.get("full_read")
        link = None if full else services.state.delta_link(tenant.name, self.key)
        self.directory = source.read(link)
        self.run.result.read = "reconciliation" if self.why else self.directory.mode
        self.run.log(self._kind_of_read())
        rail, held = self._rail(), []
        for users in chunked(self.directory.users, CHUNK):
            services.ctx.checkpoint()
            out = self._outside(users, scopes)
            if out and self.mode == "delta":
                self.directory.removed.update(out)  # left the scope: as if deleted
            ids = (str(u.get("id")) for u in users)
            self.seen += services.state.see_users(
                services.run_id, tenant.name, (i for i in ids if i not in out)
            )
            self.read_count += len(users)
            held.append((users, out))
            if self.read_count >= rail:  # enough users to trust this read: release what waited
                for chunk, out in held:
                    self.outside = out
                    yield chunk
                held = []
        self.outside = set()
        self.run.result.users = self.seen
        if self.read_count < rail:
            raise RailNotReached(
                f"safety rail: the directory gave {self.read_count} user(s), last time "
                f"{self.row.last_user_count}; nothing was written for this tenant"
            )

    @staticmethod
    def _outside(users: list[dict[str, Any]], scopes: list[Scope]) -> set[str]:
        """The object ids of the users [scope] leaves out (a user Graph sent garbage for
        fails as it is, in the contacts step)."""
        if not scopes:
            return set()
        return {str(u.get("id")) for u in users if INVALID not in u and outside(u, scopes)}

    def in_scope(self, users: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Of the chunk the steps are shown now, the users inside [scope]."""
        if not self.outside:
            return users
        return [u for u in users if str(u.get("id")) not in self.outside]

    def plan(self) -> StepPlan:
        values: dict[str, Any] = {"last_checked_at": utcnow()}
        if self.row.status != "active":
            # It was read with a valid token: whatever failed before works now.
            values.update(status="active", reason="", fix="")
        if self.mode != "delta":
            values["last_user_count"] = self.read_count
        if self.why:
            values["last_full_at"] = self.services.clock()  # the clock reconciliation_due reads
        return StepPlan(self.name, work={**values, **self.values})

    def apply(self, plan: StepPlan) -> None:
        """The tenant's row and its delta link: the read was complete, whatever the writes."""
        state, name = self.services.state, self.run.tenant.name
        state.set_tenant(name, **plan.work)
        assert self.directory is not None
        if self.directory.delta_link:
            state.set_delta_link(name, self.key, self.directory.delta_link)

    def _rail(self) -> int:
        """How many users a full read must give before anything is written (0: no rail)."""
        last = self.row.last_user_count
        if self.mode == "delta" or not last:
            return 0
        return max(1, int(last * self.services.config.sync.min_share))

    def _reconciliation(self) -> str:
        """Why this tenant's sync is a full reconciliation, or "" when it is not one."""
        services = self.services
        return reconciliation_due(services.config, self.row, services.ctx.options, services.clock())

    def _kind_of_read(self) -> str:
        mode = self.mode
        if self.why:
            what = READ_MODES["full" if mode == "delta" else mode]
            return (
                f"full reconciliation ({self.why}): reading {what}, each compared with the help "
                "desk"
            )
        return f"reading {READ_MODES[mode]}"
