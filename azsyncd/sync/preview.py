"""What a configuration change would do, before it is saved: every enabled tenant read in
full with the changed settings, each user mapped, scoped and compared, nothing written.

Each user is mapped twice, with the settings in use and with the changed ones, and the two
contacts compared as the planner compares an existing contact (``planner.decide``, the
apply rules included): an update is a change the new settings make, named field by field.
Whether a contact exists comes from the mirror (what azsync wrote), so the help desk is
asked for its fields only. Leavers are the contacts azsync keeps whose users the read does
not bring or the scope leaves out; group changes follow the rules of the changed settings.
Memory holds counts, the few examples shown, and the ids of the users in scope.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from azsyncd.config.model import Config, Tenant
from azsyncd.directory.lookup import member_pages
from azsyncd.directory.source import INVALID, DirectorySource, select_for
from azsyncd.directory.tenants import TenantService
from azsyncd.errors import AuthError, GraphError, SecretError
from azsyncd.state import State
from azsyncd.state.lifecycle import LifecycleState
from azsyncd.sync import group_rules
from azsyncd.sync.mapping import Mapped, Mapper, MappingFailure
from azsyncd.sync.planner import ActionKind, decide, out_of_scope
from azsyncd.targets.base import ExistingContact
from azsyncd.targets.fields import FieldDef

CHUNK = 1000
EXAMPLES = 3  # per failure reason
QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')  # a value quoted in a reason: "A-123"
ACTIONS = ("create", "update", "unchanged", "fail", "out_of_scope", "leaver", "group_change")


@dataclass
class Reason:
    reason: str  # with the user's own values replaced by "…", so alike failures count as one
    count: int = 0
    examples: list[str] = field(default_factory=list)  # addresses or UPNs, and one full reason


@dataclass
class Change:
    tenant: str
    user: str  # the UPN
    email: str
    action: str  # create | update | leaver
    changes: list[str] = field(default_factory=list)  # 'Department: "Sales" -> "Support"'


@dataclass
class TenantPreview:
    name: str
    ok: bool = True
    reason: str = ""
    users: int = 0
    contacts: int = 0  # the contacts azsync keeps for it now
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACTIONS, 0))
    failing_now: int = 0  # of the same users, those the settings in use fail

    @property
    def base(self) -> int:
        """What failures are a share of: the tenant's contacts, or its users in scope when
        more (before a first sync, or when many never got a contact)."""
        return max(self.contacts, self.users - self.counts["out_of_scope"])

    @property
    def fail_share(self) -> float:
        return self.counts["fail"] / self.base if self.base > 0 else 0.0


@dataclass
class Preview:
    tenants: list[TenantPreview] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    sample: list[Change] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        total = dict.fromkeys(ACTIONS, 0)
        for tenant in self.tenants:
            for key, value in tenant.counts.items():
                total[key] += value
        return total

    @property
    def fail_share(self) -> float:
        return max((t.fail_share for t in self.tenants), default=0.0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "fail_share": round(self.fail_share, 4),
            "tenants": [
                {
                    "name": t.name,
                    "ok": t.ok,
                    "reason": t.reason,
                    "users": t.users,
                    "contacts": t.contacts,
                    "counts": t.counts,
                    "fail_share": round(t.fail_share, 4),
                    "failing_now": t.failing_now,
                }
                for t in self.tenants
            ],
            "reasons": [
                {"reason": r.reason, "count": r.count, "examples": r.examples} for r in self.reasons
            ],
            "sample": [
                {
                    "tenant": c.tenant,
                    "user": c.user,
                    "email": c.email,
                    "action": c.action,
                    "changes": c.changes,
                }
                for c in self.sample
            ],
            "seconds": round(self.seconds, 3),
            "notes": self.notes,
        }


class Previewer:
    def __init__(
        self,
        current: Config,
        changed: Config,
        state: State,
        tenants: TenantService,
        fields: list[FieldDef],
        *,
        only: str | None = None,
        sample: int = 10,
        checkpoint: Callable[[], None] = lambda: None,
    ) -> None:
        self.current, self.changed, self.state, self.tenants = current, changed, state, tenants
        self.only, self.size, self.checkpoint = only, sample, checkpoint
        self.before = Mapper(current.mapping, fields)
        self.after = Mapper(changed.mapping, fields)
        self.field_names = {f.id: f.name for f in fields}
        self.lifecycle = LifecycleState(state.db)
        self.reasons: dict[str, Reason] = {}
        self.preview = Preview()

    def run(self) -> Preview:
        started = time.perf_counter()
        for tenant in self.changed.tenants:
            if not tenant.enabled or (self.only and tenant.name != self.only):
                continue
            self.checkpoint()
            self.preview.tenants.append(self._tenant(tenant))
        self.preview.reasons = sorted(self.reasons.values(), key=lambda r: -r.count)[:10]
        if self.changed.tenants and len(self.changed.tenants) > 1:
            self.preview.notes.append(
                "an address two tenants share is counted for each; the run fails it for the"
                " later tenant"
            )
        self.preview.seconds = time.perf_counter() - started
        return self.preview

    # --- one tenant ---

    def _tenant(self, tenant: Tenant) -> TenantPreview:
        result = TenantPreview(tenant.name, contacts=self.state.contact_count(tenant.name))
        rules = self.changed.contact_groups
        select = select_for(
            self.changed.mapping,
            group_rules.rule_attributes(rules),
            *(scope.reads() for scope in self.changed.scopes(tenant)),
        )
        in_scope: set[str] = set()
        matched: dict[str, set[str]] = {}
        try:
            graph = self.tenants.connect(tenant).graph
            read = DirectorySource(graph, tenant, select).read()
            chunk: list[dict[str, Any]] = []
            for user in read.users:
                chunk.append(user)
                if len(chunk) == CHUNK:
                    self._chunk(tenant, chunk, result, in_scope, matched)
                    chunk = []
            self._chunk(tenant, chunk, result, in_scope, matched)
            for group_id in {r.entra_group for r in rules if r.entra_group}:
                names = {r.group for r in rules if r.entra_group == group_id}
                for ids in member_pages(graph, group_id):
                    for object_id in ids:
                        if object_id in in_scope:
                            matched.setdefault(object_id, set()).update(names)
        except (AuthError, GraphError, SecretError) as exc:
            result.ok, result.reason = False, str(exc)
            return result
        self._leavers_and_groups(tenant, result, in_scope, matched)
        return result

    def _chunk(
        self,
        tenant: Tenant,
        users: list[dict[str, Any]],
        result: TenantPreview,
        in_scope: set[str],
        matched: dict[str, set[str]],
    ) -> None:
        if not users:
            return
        self.checkpoint()
        result.users += len(users)
        scopes = self.changed.scopes(tenant)
        planned: list[tuple[dict[str, Any], Mapped]] = []
        for user in users:
            user_id = str(user.get("id", ""))
            if INVALID in user:
                self._failed(result, user, [str(user[INVALID])])
                continue
            if out_of_scope(user, tenant.exclude_disabled, scopes):
                result.counts["out_of_scope"] += 1
                continue
            in_scope.add(user_id)
            for rule in self.changed.contact_groups:
                if rule.when and group_rules.matches(rule, user):
                    matched.setdefault(user_id, set()).add(rule.group)
            try:
                self.before.map(user)
            except MappingFailure:
                result.failing_now += 1
            try:
                planned.append((user, self.after.map(user)))
            except MappingFailure as failure:
                self._failed(result, user, failure.reasons)
        mirror = self.state.mirror(mapped.email for _, mapped in planned)
        for user, mapped in planned:
            entry = mirror.get(mapped.email)
            if entry is None or not entry.target_id:
                result.counts["create"] += 1
                self._show(tenant, user, mapped, "create", self._values(mapped))
                continue
            changes = self._changes(user, mapped)
            kind = "update" if changes else "unchanged"
            result.counts[kind] += 1
            if changes:
                self._show(tenant, user, mapped, "update", changes)

    def _changes(self, user: dict[str, Any], mapped: Mapped) -> list[str]:
        """What the changed settings write over what the settings in use write."""
        try:
            old = self.before.map(user)
        except MappingFailure:
            return self._values(mapped)  # failing today: written in full once it maps
        existing = ExistingContact("", old.email, old.name, old.phones, old.custom)
        action = decide(
            "",
            "",
            mapped,
            existing,
            overwrite=self.changed.mapping.overwrite_custom_fields,
            field_names=self.field_names,
            rules=self.after.rules,
        )
        changes = list(action.changes) if action.kind is ActionKind.UPDATE else []
        if old.email != mapped.email:
            changes.insert(0, f"email: {old.email} -> {mapped.email}")
        return changes

    def _values(self, mapped: Mapped) -> list[str]:
        return [
            f"name: {mapped.name}",
            *(f"phone ({p.type}): {p.number}" for p in mapped.phones),
            *(
                f"{self.field_names.get(k, k)}: {v}"
                for k, v in mapped.custom.items()
                if v is not None
            ),
        ]

    def _show(
        self, tenant: Tenant, user: dict[str, Any], mapped: Mapped, action: str, changes: list[str]
    ) -> None:
        if len(self.preview.sample) < self.size:
            upn = str(user.get("userPrincipalName") or user.get("id", ""))
            self.preview.sample.append(Change(tenant.name, upn, mapped.email, action, changes))

    def _failed(self, result: TenantPreview, user: dict[str, Any], reasons: list[str]) -> None:
        """One failing user; each of its reasons counted (a user may fail for several)."""
        result.counts["fail"] += 1
        who = str(user.get("userPrincipalName") or user.get("mail") or user.get("id", ""))
        for reason in reasons:
            key = QUOTED.sub('"…"', reason)
            found = self.reasons.setdefault(key, Reason(key))
            found.count += 1
            if len(found.examples) < EXAMPLES:
                found.examples.append(f"{who}: {reason}" if key != reason else who)

    def _leavers_and_groups(
        self,
        tenant: Tenant,
        result: TenantPreview,
        in_scope: set[str],
        matched: dict[str, set[str]],
    ) -> None:
        """The contacts azsync keeps whose users this read leaves out: leavers (with on_removed
        = "disable_login"); and the contact-group changes the rules make."""
        acting = self.changed.lifecycle.on_removed == "disable_login"
        acted = {i for i, row in self.lifecycle.leavers(tenant.name).items() if row.acted}
        rules = self.changed.contact_groups
        for managed in self.lifecycle.managed_pages(tenant.name):
            self.checkpoint()
            gone = [i for i in managed if i not in in_scope and i not in acted]
            if acting:
                result.counts["leaver"] += len(gone)
                for object_id in gone:
                    self._leaver(tenant, managed[object_id].email, object_id)
            if rules:
                changes = group_rules.plan(
                    rules,
                    managed,
                    in_scope & managed.keys(),
                    {i: matched[i] for i in managed if i in matched},
                    self.lifecycle.members(tenant.name, [m.target_id for m in managed.values()]),
                )
                result.counts["group_change"] += sum(len(c.add) + len(c.remove) for c in changes)
        if acting and result.counts["leaver"]:
            self.preview.notes.append(
                f"tenant {tenant.name}: {result.counts['leaver']} leaver(s) lose their login after"
                f" {self.changed.lifecycle.grace_days} day(s) of grace"
            )

    def _leaver(self, tenant: Tenant, email: str, object_id: str) -> None:
        if len(self.preview.sample) < self.size:
            why = "gone from Entra ID or out of scope: the login is turned off after the grace"
            self.preview.sample.append(Change(tenant.name, object_id, email, "leaver", [why]))


def refusal(preview: Preview, limit: float) -> str | None:
    """Why a change is refused at save, naming the top reason; None when it may be saved.

    Refused: a tenant whose preview fails more than ``limit`` of its contacts, and more of
    them than the settings in use already do (a change unrelated to data that already fails,
    a new dropdown choice missing in the help desk, say, is not held up by it)."""
    worse = [
        t for t in preview.tenants if t.fail_share > limit and t.counts["fail"] > t.failing_now
    ]
    worst = max(worse, key=lambda t: t.fail_share, default=None)
    if worst is None:
        return None
    top = preview.reasons[0] if preview.reasons else None
    text = (
        f"this change would fail {worst.counts['fail']} of {worst.base} contacts of tenant"
        f" {worst.name} ({worst.fail_share:.0%}, more than [sync] max_fail_share = {limit:g};"
        f" {worst.failing_now} fail now)"
    )
    if top is not None:
        text += f"; top reason ({top.count}): {top.reason}"
    return text
