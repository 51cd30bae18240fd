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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from azsyncd.config.model import Config, Tenant
from azsyncd.directory.authorize import Verdict
from azsyncd.directory.client import GraphClient
from azsyncd.directory.lookup import find_user, groups_of
from azsyncd.directory.source import DirectoryRead, DirectorySource, scope_key, select_for
from azsyncd.directory.tenants import TenantService
from azsyncd.errors import AuthError, GraphError, SecretError, TargetError
from azsyncd.state import State
from azsyncd.state.fields import utcnow
from azsyncd.state.models import TenantState
from azsyncd.state.repository import TICK
from azsyncd.sync import failures
from azsyncd.sync.planner import Action
from azsyncd.sync.planning import Planning
from azsyncd.sync.runner import Outcome, RunContext
from azsyncd.sync.writes import Tally, Writes
from azsyncd.targets.base import Target

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
    read: str = ""  # delta | full | groups | reconciliation
    retried: int = 0  # users that failed before, planned again from their kept data


class Engine:
    def __init__(
        self,
        ctx: RunContext,
        config: Config,
        state: State,
        tenants: TenantService,
        target: Target,
        writes: Writes,
    ) -> None:
        self.ctx, self.config, self.state, self.tenants = ctx, config, state, tenants
        self.target, self.writes = target, writes
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
        results = []
        # Users seen and addresses claimed live in the state database while the run lasts.
        self.state.forget_dead_runs_users(self.run_id)
        try:
            for tenant in tenants:
                self.ctx.checkpoint()
                self.ctx.report(phase="reading directory", tenant=tenant.name)
                results.append(self._tenant(tenant))
        except _FieldsUnreadable as exc:
            return Outcome(
                "failed",
                f"the help desk's contact fields could not be read: {exc.__cause__}",
                dict(self.writes.tally().counts),
            )
        finally:
            self.state.forget_run_users(self.run_id)
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

    def _outcome(self, results: list[TenantResult], tally: Tally) -> Outcome:
        counts: dict[str, Any] = dict(tally.counts)
        counts["removed"] = sum(r.removed for r in results)
        counts["tenants"] = {
            r.name: {
                **dict(tally.tenants.get(r.name, {})),
                "ok": r.ok,
                "reason": r.reason,
                "users": r.users,
                "removed": r.removed,
                "read": r.read,
                "retried": r.retried,
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
        self.writes.begin_tenant(
            tenant.name, tenant.display_name or row.display_name or tenant.name
        )
        if self.ctx.options.get("user"):
            return self._one_user(tenant, connection.graph, result)

        select = select_for(self.config.mapping)
        key = scope_key(select, tenant, self.settings)
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
            rail = self._rail(tenant, read.mode, row.last_user_count)
            held: list[Action] = []
            for users in chunked(read.users, CHUNK):
                self.ctx.checkpoint()
                seen += self.state.see_users(
                    self.run_id, tenant.name, (str(u.get("id")) for u in users)
                )
                actions = self.planning.plan(tenant, users, reconcile=bool(why))
                if rail and seen < rail:
                    held.extend(actions)  # not enough users yet to trust this read
                    continue
                if held:
                    actions, held = held + actions, []
                self._apply(actions)
            retry = not (rail and seen < rail) and self._retry_due(row, bool(why))
            if retry:
                result.retried = self._plan_failures_again(tenant, read, bool(why))
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
        result.removed = (
            len(read.removed)
            if read.mode == "delta"
            else self.state.unseen_mirrored(self.run_id, tenant.name)
        )
        if result.removed:
            self.ctx.log(
                f"tenant {tenant.name}: {result.removed} user(s) left the directory or the scope; "
                "their contacts are kept"
            )
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
            self.state.set_tenant(tenant.name, **values)
            if read.delta_link:  # the read was complete, whatever the writes came to
                self.state.set_delta_link(tenant.name, key, read.delta_link)
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

    def _plan_failures_again(self, tenant: Tenant, read: DirectoryRead, reconcile: bool) -> int:
        """Plan again, from their kept data, the users that failed before and that this read
        did not bring; a complete read without them means they left. How many."""
        rows = self.state.failing(tenant.name)
        seen = self.state.seen_among(self.run_id, tenant.name, rows)
        gone = read.removed if read.mode == "delta" else set(rows) - seen
        if gone and not self.dry_run:
            self.state.forget_failures(tenant.name, gone)
        again = [r.user for k, r in rows.items() if k not in seen and k not in gone]
        if again:
            self.ctx.log(
                f"tenant {tenant.name}: planning again {len(again)} user(s) that failed in an "
                "earlier run"
            )
        for users in chunked(again, CHUNK):
            self.ctx.checkpoint()
            self._apply(self.planning.plan(tenant, users, reconcile))
        return len(again)

    def _rail(self, tenant: Tenant, mode: str, last: int | None) -> int:
        """How many users a full read must give before anything is written (0: no rail)."""
        if mode == "delta" or not last:
            return 0
        return max(1, int(last * self.config.sync.min_share))

    def _one_user(self, tenant: Tenant, graph: GraphClient, result: TenantResult) -> TenantResult:
        """Every step for one user, in the run's log, the way provision-on-demand shows it."""
        who = str(self.ctx.options["user"])

        def log(message: str) -> None:
            self.ctx.log(f"{tenant.name}: {message}")

        member: set[str] = set()
        try:
            user = find_user(graph, who, select_for(self.config.mapping))
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
