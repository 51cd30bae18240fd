"""One sync run: every enabled tenant in order, users streamed in chunks, planned, applied.

Per tenant: read (full, delta or groups) -> map -> plan against the mirror and the target
-> apply in batches. A tenant that cannot be read is disabled with the reason; the others
still sync. One failing contact never stops the others.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from azsyncd.config.model import Config, Tenant
from azsyncd.directory.authorize import Verdict
from azsyncd.directory.client import GraphClient
from azsyncd.directory.lookup import find_user, groups_of
from azsyncd.directory.source import DirectorySource, scope_key, select_for
from azsyncd.directory.tenants import TenantService
from azsyncd.errors import AuthError, GraphError, SecretError, TargetError
from azsyncd.state import State
from azsyncd.state.fields import utcnow
from azsyncd.state.models import MirrorEntry
from azsyncd.sync.executor import PENDING
from azsyncd.sync.mapping import Mapper, MappingFailure
from azsyncd.sync.planner import Action, ActionKind, decide, out_of_scope
from azsyncd.sync.runner import Outcome, RunContext
from azsyncd.sync.writes import Tally, Writes
from azsyncd.targets.base import Target

CHUNK = 1000
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
        # email -> (tenant, user principal name): the first tenant to sync an address owns it
        self.claims: dict[str, tuple[str, str]] = {}
        self.mapper: Mapper | None = None
        self.field_names: dict[str, str] = {}

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
        results = []
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
        return self._outcome(results, self.writes.tally())

    def _ready(self) -> Mapper:
        """The mapper, reading the help desk's fields the first time there is a user to plan:
        a delta with no change costs no help-desk call."""
        if self.mapper is not None:
            return self.mapper
        try:
            fields = self.target.fields()
        except (TargetError, SecretError) as exc:
            raise _FieldsUnreadable() from exc
        self.mapper = Mapper(self.config.mapping, fields, self.settings)
        self.field_names = {f.id: f.name for f in fields}
        if self.mapper.missing_fields:
            self.ctx.log(
                "mapped custom fields missing in the help desk, left out: "
                f"{', '.join(self.mapper.missing_fields)}",
                "warning",
            )
        return self.mapper

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
        return result

    def _tenant(self, tenant: Tenant) -> TenantResult:
        result = TenantResult(tenant.name)
        connection = self.tenants.connect(tenant)
        connection.graph.on_wait = lambda message: self.ctx.log(
            f"tenant {tenant.name}: {message}", "warning"
        )
        try:
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
        try:
            read = source.read(self.state.delta_link(tenant.name, key))
            self.ctx.log(f"tenant {tenant.name}: reading {READ_MODES[read.mode]}")
            seen: set[str] = set()
            rail = self._rail(tenant, read.mode, row.last_user_count)
            held: list[Action] = []
            for users in chunked(read.users, CHUNK):
                self.ctx.checkpoint()
                seen.update(str(u.get("id")) for u in users)
                actions = self._plan(tenant, users)
                if rail and len(seen) < rail:
                    held.extend(actions)  # not enough users yet to trust this read
                    continue
                if held:
                    actions, held = held + actions, []
                self.writes.apply(actions)
                self.ctx.report(
                    phase="writing contacts", done=self.ctx.progress.done + len(actions)
                )
            self.writes.drain()
        except AuthError as exc:
            return self._fail_tenant(result, tenant, f"no token: {exc}", exc.fix, disable=True)
        except GraphError as exc:
            return self._fail_tenant(
                result,
                tenant,
                f"reading the directory failed: {exc}",
                "grant the permissions and re-authorize"
                if exc.status in (401, 403)
                else "the next sync retries",
            )
        result.users = len(seen)
        if rail and len(seen) < rail:
            return self._fail_tenant(
                result,
                tenant,
                f"safety rail: the directory gave {len(seen)} user(s), last time "
                f"{row.last_user_count}; nothing was written for this tenant",
                "check the tenant's scope and permissions; lower sync.min_share if this is"
                " expected",
            )
        result.removed = len(read.removed) if read.mode == "delta" else self._removed(tenant, seen)
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
                values["last_user_count"] = len(seen)
            self.state.set_tenant(tenant.name, **values)
            if read.delta_link and not self.writes.tally().refused:
                self.state.set_delta_link(tenant.name, key, read.delta_link)
        return result

    def _rail(self, tenant: Tenant, mode: str, last: int | None) -> int:
        """How many users a full read must give before anything is written (0: no rail)."""
        if mode == "delta" or not last:
            return 0
        return max(1, int(last * self.config.sync.min_share))

    def _removed(self, tenant: Tenant, seen: set[str]) -> int:
        return sum(1 for object_id in self.state.mirrored_ids(tenant.name) if object_id not in seen)

    def _plan(self, tenant: Tenant, users: list[dict[str, Any]]) -> list[Action]:
        """One action per user, in order: mapped, then checked against the mirror and target."""
        actions = [self._mapped(tenant, user) for user in users]
        pending = [i for i, a in enumerate(actions) if a.kind is ActionKind.PENDING]
        mirror = self.state.mirror(actions[i].email for i in pending)
        lookup = []
        for i in pending:
            action, entry = actions[i], mirror.get(actions[i].email)
            assert action.mapped is not None
            if entry and entry.target_id and entry.fingerprint == action.mapped.mirror:
                # Written as it is now last time: no need to ask the target.
                actions[i] = replace(action, kind=ActionKind.UNCHANGED, existing_id=entry.target_id)
            else:
                lookup.append(i)
        existing = self.target.find_by_email([actions[i].email for i in lookup]) if lookup else {}
        for i in lookup:
            email = actions[i].email
            actions[i] = self._decided(actions[i], existing.get(email), mirror.get(email))
        return actions

    def _mapped(self, tenant: Tenant, user: dict[str, Any]) -> Action:
        """The user mapped and claimed (PENDING), or why not (SKIPPED, FAILED)."""
        mapper = self._ready()
        user_id = str(user.get("id", ""))
        reason = out_of_scope(user, tenant.exclude_disabled)
        if reason:
            email = mapper.email(user)[0].lower()
            return Action(ActionKind.SKIPPED, tenant.name, user_id, email, reason=reason)
        try:
            mapped = mapper.map(user)
        except MappingFailure as failure:
            email = mapper.email(user)[0].lower()
            reason = "; ".join(failure.reasons)
            return Action(ActionKind.FAILED, tenant.name, user_id, email, reason=reason)
        owner = self.claims.get(mapped.email)
        if owner and owner[0] != tenant.name:
            reason = (
                f"email {mapped.email} already belongs to {owner[1]} in tenant {owner[0]}, "
                "which syncs first; fix: give one of them another address"
            )
            return Action(
                ActionKind.FAILED, tenant.name, user_id, mapped.email, mapped, reason=reason
            )
        self.claims[mapped.email] = (tenant.name, str(user.get("userPrincipalName", user_id)))
        return Action(ActionKind.PENDING, tenant.name, user_id, mapped.email, mapped)

    def _decided(self, action: Action, contact: Any, entry: MirrorEntry | None) -> Action:
        assert action.mapped is not None
        planned = decide(
            action.tenant,
            action.user_id,
            action.mapped,
            contact,
            overwrite=self.config.mapping.overwrite_custom_fields,
            field_names=self.field_names,
        )
        # An existing contact azsync never wrote gets the marker; a create that died before
        # its welcome email gets it now.
        planned.first_seen = contact is not None and entry is None
        planned.welcome_pending = (
            contact is not None and entry is not None and entry.fingerprint == PENDING
        )
        return planned

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
        actions = self._plan(tenant, [user])
        action = actions[0]
        if action.mapped:
            mapped = action.mapped
            custom = {self.field_names.get(k, k): v for k, v in mapped.custom.items()}
            log(
                f"3. mapped: email {mapped.email}, name {mapped.name!r}, phones "
                f"{[(p.type, p.number) for p in mapped.phones]}, custom fields {custom}"
            )
        log(
            f"4. action: {action.kind}"
            + (f" ({action.reason})" if action.reason else "")
            + (f": {'; '.join(action.changes)}" if action.changes else "")
        )
        self.writes.apply(actions)
        self.writes.drain()
        log(f"5. result: {action.kind}" + (f": {action.reason}" if action.kind == "failed" else ""))
        result.users = 1
        return result
