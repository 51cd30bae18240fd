"""What the next full run would do with a changed config (``POST /v1/preview``).

A preview is the sync itself, run dry over the changed config: each enabled tenant is read
in full (never a delta, whatever link is stored) and every step plans from the same code a
run uses (``TenantRun``: the read with its scope and safety rail, contacts, leavers, group
rules), then nothing is applied. No run is opened, no record, log line, tenant row, delta
link, binding or leaver row is written, and the help desk is only read (its fields, and the
contacts a full run would compare). What a running sync keeps in the state database while
it lasts (users seen, addresses claimed, rule matches) a preview keeps there too, under a
negative run id of its own, dropped when it ends.

What the steps plan is counted here: the contacts step's actions through ``Observed`` (a
``Writes`` that writes nothing), the leavers' and the rules' from their ``StepPlan``. For
the refusal at save, each user the changed config plans is also checked against the
settings in use (``failing_now``): a change is refused only for failures it adds. Which
changes a save previews at all is ``judged``: the one statement of what can change the
fail count.
Memory holds counts, the reasons (bounded), the few examples shown, and what the steps of
one tenant hold anyway.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from azsyncd import stop
from azsyncd.config.expression import today_is
from azsyncd.config.model import Config, Mapping, Scope, Tenant, entry_source
from azsyncd.directory.source import INVALID
from azsyncd.directory.tenants import TenantService
from azsyncd.errors import Interrupted, SecretError, TargetError
from azsyncd.inert import inert
from azsyncd.state import State
from azsyncd.state.fields import utcnow
from azsyncd.sync import joiners
from azsyncd.sync.leavers import Step as LeaverStep
from azsyncd.sync.mapping import Mapper
from azsyncd.sync.planner import Action, ActionKind, out_of_scope
from azsyncd.sync.runner import Progress, RunContext
from azsyncd.sync.services import Services
from azsyncd.sync.step import StepPlan
from azsyncd.sync.tenant_run import TenantRun
from azsyncd.sync.writes import Tally
from azsyncd.targets.base import Target
from azsyncd.targets.fields import FieldDef, short

log = logging.getLogger(__name__)

EXAMPLES = 3  # per failure reason
VALUE = 80  # characters of a value shown in a new contact's sample
REASONS = 500  # distinct failure reasons kept; more are counted under one line
NOTES = 50  # lines of the dry run's log shown
QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')  # a value quoted in a reason: "A-123"
ACTIONS = (
    "create",
    "update",
    "unchanged",
    "fail",
    "out_of_scope",
    "leaver",
    "returned",
    "joiner_start",
    "group_change",
)
TRIGGER = "preview"
# One preview at a time per daemon: each reads whole tenants, and the state's bookkeeping
# rows of a preview that died are dropped by the next one.
_ONE_AT_A_TIME = threading.Lock()


def judged(before: Config, after: Config) -> list[str]:
    """What ``after`` changes of ``before`` that can change what a preview fails: a save
    previews a change (and may refuse it) only when this is not empty. The one place this
    rule is stated:

    - ``mapping``: what each contact is written with;
    - ``target``: the help desk, its fields and their choices (any key of the table);
    - ``scope``, and for each tenant synced after the change, whether it is synced, which
      directory objects it reads (``tenant_id``, ``cloud``, ``login_url``, ``graph_url``,
      ``users``, ``groups``; not a read narrowed from all users to groups), its ``scope``
      and ``exclude_disabled``: who is planned. A user brought in may fail, and may take an
      address another tenant's user then fails for;
    - ``lifecycle.create_before_hire_days``: a joiner before its window is not planned, so
      it neither fails nor takes its address;
    - ``account.timezone``, while a ``[scope]`` condition says ``today`` or joiners are on:
      it is the day those are judged on.

    Never previewed: ``schedule``, ``welcome_email``, ``alerts``, ``metrics``, ``state``,
    ``control``, ``account.name``; ``sync`` (thresholds decide whether a plan is applied,
    never what is planned; a preview reads in full whatever ``full_every`` and ``min_share``
    say; ``max_fail_share`` is the limit itself); the leavers' keys of ``[lifecycle]`` and
    the contact-group rules (they plan logins and memberships, which a contact's failure
    does not depend on); a tenant disabled, deleted or only renamed for display, and its
    sign-in (``client_id``, ``auth``, credential files): whether it can be read, not what
    it holds."""
    found = [
        section
        for section in ("mapping", "target", "scope")
        if getattr(before, section).model_dump(mode="json")
        != getattr(after, section).model_dump(mode="json")
    ]
    if before.lifecycle.create_before_hire_days != after.lifecycle.create_before_hire_days:
        found.append("lifecycle.create_before_hire_days")
    if before.account.timezone != after.account.timezone and (_dated(before) or _dated(after)):
        found.append("account.timezone")
    for tenant in after.tenants:
        old = before.tenant(tenant.name)
        if tenant.enabled and (old is None or not old.enabled or _brings(old, tenant)):
            found.append(f"tenants.{tenant.name}")
    return found


def _directory(tenant: Tenant) -> tuple[Any, ...]:
    return tenant.tenant_id, tenant.cloud, tenant.login_url, tenant.graph_url


def _reads(tenant: Tenant) -> tuple[Any, ...]:
    """Which directory objects a tenant's read brings."""
    groups = tuple(tenant.groups) if tenant.users == "groups" else ()
    return *_directory(tenant), tenant.users, groups


def _reads_all_of(old: Tenant, new: Tenant) -> bool:
    """Whether ``old``'s read brings every user ``new``'s does: the same read, or all users
    of the same directory (``new`` narrowed to groups)."""
    if _reads(old) == _reads(new):
        return True
    return old.users == "all" and _directory(old) == _directory(new)


def _planned(tenant: Tenant) -> tuple[Any, ...]:
    """Which of a tenant's users are kept once read: its own scope, disabled accounts."""
    scope = tenant.scope.model_dump(mode="json") if tenant.scope and tenant.scope.active else None
    return scope, tenant.exclude_disabled


def _brings(old: Tenant, new: Tenant) -> bool:
    """Whether ``new`` may plan a user ``old`` does not: a read of other objects (not one
    narrowed to groups), another scope, disabled accounts let in or out."""
    return not _reads_all_of(old, new) or _planned(old) != _planned(new)


def _dated(config: Config) -> bool:
    """Whether the account's day decides who is planned: a scope says `today`, or joiners."""
    scopes = [config.scope, *(t.scope for t in config.tenants if t.scope is not None)]
    return config.lifecycle.create_before_hire_days > 0 or any(s.dated() for s in scopes)


@dataclass(frozen=True)
class Reach:
    """Whether the settings in use plan a tenant's user as the change does: where the change
    brings users the settings in use do not plan, those cannot fail now."""

    synced: bool = True  # the settings in use sync the tenant
    same_read: bool = True  # and read every user the change reads
    scopes: tuple[Scope, ...] | None = None  # their scopes, when the change's differ
    exclude_disabled: bool = False
    today: date | None = None  # their day, to judge a scope that says `today`

    def reads(self, action: Action) -> bool:
        """A user the settings in use read: the same read, or one bound to a contact."""
        return self.synced and (self.same_read or action.binding is not None)

    def scoped(self, action: Action) -> bool:
        """A user in the scope in use."""
        if self.scopes is None or action.user is None:
            return True
        with today_is(self.today) if self.today else nullcontext():
            return out_of_scope(action.user, self.exclude_disabled, self.scopes) is None


SAME = Reach()


@dataclass(frozen=True)
class InUse:
    """The settings in use, to tell what already fails: their mapper (None: they cannot be
    judged, the help desk in use could not be read: only failures kept from earlier runs
    fail now) and the parts of the mapping a user the change maps may fail in (empty: the
    mapping and the help desk's fields are the same, so none; None: every part); how they
    plan each tenant the change plans otherwise (``Reach``); the help desk's field names."""

    mapper: Mapper | None
    parts: frozenset[str] | None
    names: dict[str, str]
    reach: dict[str, Reach] = field(default_factory=dict)


@dataclass
class Reason:
    reason: str  # with the user's own values replaced by "…", so alike failures count as one
    count: int = 0
    examples: list[str] = field(default_factory=list)  # addresses or UPNs, and one full reason


@dataclass
class Change:
    tenant: str
    user: str  # the UPN (a leaver's object id)
    email: str
    action: str  # create | update | leaver | returned | start | group
    changes: list[str] = field(default_factory=list)  # 'Department: "Sales" -> "Support"'


@dataclass
class TenantPreview:
    name: str
    ok: bool = True
    reason: str = ""
    users: int = 0  # every user the read gave, in scope or not
    contacts: int = 0  # the contacts azsync keeps for it now
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACTIONS, 0))
    failing_now: int = 0  # of the users planned, those that fail with the settings in use

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
    # Tenant -> step -> the digest of its plan: what a run's counts["steps"] holds, so a
    # preview can be compared with the run that follows it.
    digests: dict[str, dict[str, str]] = field(default_factory=dict)

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


class PreviewContext(RunContext):
    """A run's context that keeps its log in memory: a preview writes no log to the state."""

    def __init__(
        self, state: State, run_id: int, options: dict[str, Any], stopping: threading.Event
    ) -> None:
        progress = Progress(run_id, TRIGGER, dry_run=True, started_at=utcnow(), options=options)
        super().__init__(state, progress, options, stopping, lambda _: None)
        self.lines: list[str] = []

    def log(self, message: str, level: str = "info") -> None:
        if len(self.lines) < NOTES:
            self.lines.append(message if level == "info" else f"{level}: {message}")
        log.debug("preview: %s", message)


class Observed:
    """A ``Writes`` that writes nothing: each action the contacts step plans is counted, its
    failure reasons gathered, a few changes kept with their field diffs, and whether the
    settings in use fail the same user checked."""

    def __init__(self, preview: Preview, size: int, in_use: Callable[[], InUse]) -> None:
        """``in_use``: the settings in use, asked once the first chunk is planned."""
        self.preview, self.size, self._in_use = preview, size, in_use
        self.current = TenantPreview("")
        self.reasons: dict[str, Reason] = {}
        self._tally = Tally()
        self._settings: InUse | None = None

    def begin_tenant(self, name: str, label: str) -> None:
        """The tenant's ``TenantPreview`` is set by the preview before its run starts."""

    def apply(self, actions: list[Action]) -> None:
        if self._settings is None:
            self._settings = self._in_use()
        in_use = self._settings
        counts = self.current.counts
        for action in actions:
            self._tally.add(action)
            kind = action.kind
            if kind is ActionKind.SKIPPED:
                counts["out_of_scope"] += 1
                continue
            if kind is ActionKind.FAILED:
                counts["fail"] += 1
                self._failed(action)
            elif kind is ActionKind.CREATE:
                counts["create"] += 1
                self._show(action, "create", self._values(action))
            elif kind is ActionKind.UPDATE:
                counts["update"] += 1
                self._show(action, "update", list(action.changes))
            else:
                counts["unchanged"] += 1
            if _fails_now(action, in_use):
                self.current.failing_now += 1

    def drain(self) -> None:
        """Nothing is being written."""

    def tally(self) -> Tally:
        return self._tally

    def send_welcomes(self, tenant: str | None = None) -> int:
        return 0

    def show(self, change: Change) -> None:
        if len(self.preview.sample) < self.size:
            self.preview.sample.append(change)

    def _show(self, action: Action, kind: str, changes: list[str]) -> None:
        if len(self.preview.sample) < self.size:
            who = action.principal or action.user_id
            self.show(Change(action.tenant, shown(who), shown(action.email), kind, changes))

    def _values(self, action: Action) -> list[str]:
        mapped = action.mapped
        if mapped is None or len(self.preview.sample) >= self.size:
            return []
        names = self._settings.names if self._settings else {}
        return [
            f"name: {short(mapped.name, VALUE)}",
            *(f"phone ({p.type}): {short(p.number, VALUE)}" for p in mapped.phones),
            *(
                f"{names.get(k, k)}: {short(v, VALUE)}"
                for k, v in mapped.custom.items()
                if v is not None
            ),
        ]

    def _failed(self, action: Action) -> None:
        """Each reason of a failing user counted (a user may fail for several)."""
        user = action.user or {}
        who = str(user.get("userPrincipalName") or action.principal or action.email)
        who = shown(who or action.user_id)
        for reason in action.reasons or (action.reason,):
            key = QUOTED.sub('"…"', reason)
            found = self.reasons.get(key)
            if found is None:
                if len(self.reasons) >= REASONS:
                    key = "other reasons (too many different ones to list)"
                found = self.reasons.setdefault(key, Reason(key))
            found.count += 1
            if len(found.examples) < EXAMPLES:
                found.examples.append(f"{who}: {shown(reason, 400)}" if key != reason else who)


def shown(text: str, limit: int = 200) -> str:
    """Directory text as a preview shows it: data, never terminal control (``inert``), long
    text cut."""
    return inert(text if len(text) <= limit else text[: limit - 1] + "…", keep="")


def _fails_now(action: Action, in_use: InUse) -> bool:
    """Whether the settings in use fail this user too: it fails now (a failure kept from an
    earlier run: the help desk refused it, another user has its address), or the settings
    in use plan it and their mapping fails it. A user the change maps can fail in use only
    in the parts the change touches; one it fails is checked against the whole mapping in
    use (a failure of another kind, an address another user holds, is then the change's)."""
    reach = in_use.reach.get(action.tenant, SAME)
    if action.failing_since is not None:
        return reach.scoped(action)
    if not reach.reads(action):
        return False
    before = in_use.mapper
    if action.user is None or INVALID in action.user:  # nothing any mapping can read
        fails = action.kind is ActionKind.FAILED
    elif before is None:
        return False
    elif action.kind is ActionKind.FAILED:
        fails = before.fails(action.user)
    elif in_use.parts is not None and not in_use.parts:
        return False
    else:
        fails = before.fails(action.user, in_use.parts)
    return fails and reach.scoped(action)


def touched(before: Mapping, after: Mapping) -> frozenset[str]:
    """The parts of a mapping (``Mapper.fails``'s names) whose failures ``after`` may change."""
    parts: set[str] = set()
    if (before.email, before.guest_email_from_mail) != (after.email, after.guest_email_from_mail):
        parts.add("email")
    if entry_source(before.name) != entry_source(after.name):
        parts.add("name")
    for phone_type in {*before.phones, *after.phones}:
        old, new = before.phones.get(phone_type), after.phones.get(phone_type)
        same = old is not None and new is not None and entry_source(old) == entry_source(new)
        if not same or before.skip_empty_phones != after.skip_empty_phones:
            parts.add(f"phone:{phone_type}")
    for name in {*before.custom_fields, *after.custom_fields}:
        old_entry, new_entry = before.custom_fields.get(name), after.custom_fields.get(name)
        if (
            old_entry is None
            or new_entry is None
            or entry_source(old_entry) != entry_source(new_entry)
        ):
            parts.add(f"field:{name}")
    if set(before.custom_fields) != set(after.custom_fields):
        parts.add("required")
    return frozenset(parts)


class Previewer:
    """One preview of ``changed`` against ``current`` (the settings in use)."""

    def __init__(
        self,
        current: Config,
        changed: Config,
        state: State,
        tenants: TenantService,
        target: Target,
        *,
        only: str | None = None,
        sample: int = 10,
        clock: Callable[[], datetime] = utcnow,
        fields_in_use: Callable[[], list[FieldDef]] | None = None,
    ) -> None:
        """``fields_in_use``: the help desk's fields as the settings in use reach them, read
        only when the change is to ``[target]``."""
        self.current, self.changed, self.state = current, changed, state
        self.tenants, self.target, self.only, self.clock = tenants, target, only, clock
        self.fields_in_use = fields_in_use
        self.preview = Preview()
        self.observed = Observed(self.preview, sample, self._in_use)
        self.services: Services | None = None
        self.stopping = threading.Event()

    def run(self, within: float | None = None) -> Preview:
        """The preview; ``within``: the seconds it may take, waiting for another preview
        included, after which it stops wherever it is (``Interrupted``)."""
        started = time.perf_counter()
        timer = threading.Timer(within, self.stopping.set) if within is not None else None
        if timer is not None:
            timer.daemon = True
            timer.start()
        try:
            if not _ONE_AT_A_TIME.acquire(timeout=-1 if within is None else within):
                raise Interrupted(f"another preview took more than {within:g} s")
            try:
                with stop.watching(self.stopping):
                    run_id = -random.randrange(1, 2**31 - 1)  # sync runs count up from 1
                    self.state.forget_previews()  # what a preview that died left
                    try:
                        self._run(run_id)
                    finally:
                        self.state.forget_run_users(run_id)
            finally:
                _ONE_AT_A_TIME.release()
        finally:
            if timer is not None:
                timer.cancel()
        self.preview.seconds = time.perf_counter() - started
        return self.preview

    def _run(self, run_id: int) -> None:
        options: dict[str, Any] = {"full_read": True}
        if self.only:
            options["tenant"] = self.only
        ctx = PreviewContext(self.state, run_id, options, self.stopping)
        services = Services(
            ctx,
            self.changed,
            self.state,
            self.tenants,
            self.target,
            self.observed,
            None,
            self.clock,
        )
        self.services = services
        shared = len([t for t in self.changed.tenants if t.enabled]) > 1
        for tenant in self.changed.tenants:
            if not tenant.enabled or (self.only and tenant.name != self.only):
                continue
            self.preview.tenants.append(self._tenant(services, tenant))
        self.preview.reasons = sorted(self.observed.reasons.values(), key=lambda r: -r.count)[:10]
        self.preview.notes = ctx.lines + self.preview.notes
        if shared:
            self.preview.notes.append(
                "tenants are planned in the file's order: an address an earlier tenant's user"
                " has fails for the later tenant's, as in a run"
            )

    def _tenant(self, services: Services, tenant: Tenant) -> TenantPreview:
        found = TenantPreview(tenant.name, contacts=self.state.contact_count(tenant.name))
        self.observed.current = found
        run = TenantRun(services, tenant)
        try:
            run.plan()
        finally:
            run.close()
        found.ok, found.reason = run.result.ok, run.result.reason
        if run.plans:
            self.preview.digests[tenant.name] = run.digests()
        found.users = run.read.read_count
        for plan in run.plans:
            found.counts["group_change"] += plan.counts["group_changes"]
            if plan.step == "leavers":
                self._leavers(tenant, found, plan)
            elif plan.step == "joiners":
                self._starts(tenant, found, plan)
            elif plan.step == "group rules":
                for row in plan.notes:
                    self.observed.show(
                        Change(tenant.name, row.user_id, shown(row.email), "group", [row.result])
                    )
        return found

    def _starts(self, tenant: Tenant, found: TenantPreview, plan: StepPlan) -> None:
        """Joiners whose login the run turns on (their day came, their date was removed, or
        the joiners were turned off), with the welcome email when it is on."""
        starts = plan.work[0]
        found.counts["joiner_start"] += len(starts)
        welcome = ", welcome email sent" if self.changed.welcome_email.enabled else ""
        for start in starts:
            what = f"login on{welcome}: {start.reason}"
            self.observed.show(
                Change(tenant.name, start.row.object_id, shown(start.row.email), "start", [what])
            )

    def _leavers(self, tenant: Tenant, found: TenantPreview, plan: StepPlan) -> None:
        """Leavers: users gone since the last read (deleted, out of the groups or the scope)
        and logins the plan turns off, as the disable threshold counts them; returns."""
        found.counts["leaver"] += plan.counts["disable"]
        steps: list[LeaverStep] = plan.work[0]
        rows = plan.work[1]
        lifecycle = self.changed.lifecycle
        stepped = {s.row.object_id for s in steps}
        for step in steps:
            if step.login:
                found.counts["returned"] += 1
            kind = "returned" if step.login else "leaver"
            what = f"login {'on' if step.login else 'off'}: {step.reason}"
            self.observed.show(
                Change(tenant.name, step.row.object_id, shown(step.row.email), kind, [what])
            )
        assert self.services is not None
        for row in rows:
            if row.gone_run != self.services.run_id or row.object_id in stepped:
                continue
            if lifecycle.on_removed == "disable_login":
                what = (
                    f"gone or out of scope: login off after {lifecycle.grace_days} day(s) of grace"
                )
            else:
                what = "gone or out of scope: the contact is kept ([lifecycle] on_removed = keep)"
            self.observed.show(
                Change(tenant.name, row.object_id, shown(row.email), "leaver", [what])
            )

    def _in_use(self) -> InUse:
        assert self.services is not None
        planning = self.services.planning
        names, reach = planning.field_names, self._reach()
        before, after = self.current.mapping, self.changed.mapping
        if self.current.target.model_dump(mode="json") != self.changed.target.model_dump(
            mode="json"
        ):
            fields = self._fields_in_use()
            if fields is None:
                return InUse(None, None, names, reach)
            return InUse(Mapper(before, fields), None, names, reach)
        if before == after:
            return InUse(planning.mapper, frozenset(), names, reach)
        return InUse(Mapper(before, planning.fields), touched(before, after), names, reach)

    def _fields_in_use(self) -> list[FieldDef] | None:
        """The fields of the help desk in use; None (noted) when it cannot be read."""
        if self.fields_in_use is None:
            return None
        try:
            return self.fields_in_use()
        except (TargetError, SecretError) as exc:
            self.preview.notes.append(
                f"the help desk in use could not be read ({exc.message}): every failure is"
                " counted as the change's, but those of users that failed before"
            )
            return None

    def _reach(self) -> dict[str, Reach]:
        """How the settings in use plan each tenant the change plans otherwise."""
        current, changed = self.current, self.changed
        today = joiners.today(self.clock(), current.account.timezone)
        found: dict[str, Reach] = {}
        for tenant in changed.tenants:
            old = current.tenant(tenant.name)
            if old is None or not old.enabled:
                found[tenant.name] = Reach(synced=False)
                continue
            same_read = _reads_all_of(old, tenant)
            scopes, new_scopes = current.scopes(old), changed.scopes(tenant)
            dumped = [s.model_dump(mode="json") for s in scopes]
            same_scope = dumped == [s.model_dump(mode="json") for s in new_scopes] and (
                old.exclude_disabled == tenant.exclude_disabled
            )
            dated = any(s.dated() for s in scopes)
            if same_scope and not (dated and current.account.timezone != changed.account.timezone):
                found[tenant.name] = Reach(same_read=same_read)
            else:
                found[tenant.name] = Reach(
                    same_read=same_read,
                    scopes=tuple(scopes),
                    exclude_disabled=old.exclude_disabled,
                    today=today,
                )
        return found


def refusal(preview: Preview, limit: float) -> str | None:
    """Why a change is refused at save, naming the top reason; None when it may be saved.

    Refused: a tenant whose preview fails more than ``limit`` of its contacts, and more of
    them than the settings in use already do (a change unrelated to data that already fails,
    a new dropdown choice missing in the help desk, say, is not held up by it). A tenant
    that could not be read to its end gives no evidence."""
    worse = [
        t
        for t in preview.tenants
        if t.ok and t.fail_share > limit and t.counts["fail"] > t.failing_now
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
