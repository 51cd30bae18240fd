"""The pure planner: one directory user, the target's contact (if any), the settings -> one action.

No I/O here: the engine feeds it and the executor applies what it returns, so a dry run
is this function's output printed, and tests can check every rule on plain data.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from azsyncd.config.model import Scope
from azsyncd.state.repository import Mirrored
from azsyncd.sync.fixes import Fix
from azsyncd.sync.mapping import Mapped
from azsyncd.targets.base import ContactWrite, ExistingContact, Phone
from azsyncd.targets.fields import short


class ActionKind(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    SKIPPED = "skipped"
    PENDING = "pending"  # mapped, not yet compared with the mirror and the target

    @property
    def writes(self) -> bool:
        return self in (ActionKind.CREATE, ActionKind.UPDATE)


MOVED = "address changed"  # the change that edits a contact's address in place

# The run's count each final kind adds to.
COUNTED_AS = {
    ActionKind.CREATE: "new",
    ActionKind.UPDATE: "updated",
    ActionKind.UNCHANGED: "unchanged",
    ActionKind.FAILED: "failed",
    ActionKind.SKIPPED: "skipped",
}


@dataclass
class Action:
    kind: ActionKind
    tenant: str
    user_id: str
    email: str = ""
    mapped: Mapped | None = None
    write: ContactWrite | None = None
    changes: list[str] = field(default_factory=list)  # "Department: "Sales" -> "Support""
    reason: str = ""
    reasons: tuple[str, ...] = ()  # a mapping failure's reasons, one each (``reason`` joins them)
    existing_id: str = ""
    existed: bool = False  # the help desk held the contact before the run (id unknown)
    first_seen: bool = False  # an existing contact azsync has not written before: mark it
    welcome_pending: bool = False  # created by a run that died before its welcome email
    in_mirror: bool = False  # the mirror already holds exactly this: no mirror row to write
    user: dict[str, Any] | None = None  # the directory data: kept while the contact fails
    failing_since: int | None = None  # the run in which it first failed, if it did before
    attempt: str = ""  # what a write sends (values, settings, the help desk's fields)
    refused: str = ""  # the attempt the help desk refused
    principal: str = ""  # the user principal name: named to a user that wants the address
    binding: Mirrored | None = None  # the user's binding to a contact, before the run
    moved_from: str = ""  # the contact's address before this write changes it
    takes_over: Mirrored | None = None  # the binding of a user who left, whose contact this is
    fixes: list[Fix] = field(default_factory=list)  # what fixes a failure, beside its reason
    # A joiner: the hire date of a user whose contact exists before it, login off, no welcome.
    joiner: date | None = None

    @property
    def binds(self) -> bool:
        """The user gets a contact it was not bound to (created, adopted or taken over)."""
        bound = self.binding is not None and bool(self.binding.target_id)
        return self.kind in (ActionKind.CREATE, ActionKind.UPDATE, ActionKind.UNCHANGED) and (
            not bound
        )

    @property
    def type(self) -> str:
        if self.joiner is not None:
            return "Joiner"
        return "Existing" if self.existing_id or self.existed else "New"

    @property
    def changed_fields(self) -> str:
        names = (change.split(":", 1)[0] for change in self.changes)
        return ", ".join("email" if name == MOVED else name for name in names)


def same(a: Any, b: Any) -> bool:
    """Equal as a help desk would store them: empty is empty, 5 == "5.0", lists unordered."""
    if a in (None, "", []) and b in (None, "", []):
        return True
    if a in (None, "", []) or b in (None, "", []):
        return False  # not str(None) == "None": "None" is a value
    if isinstance(a, list) or isinstance(b, list):
        return sorted(map(str, a if isinstance(a, list) else [a])) == sorted(
            map(str, b if isinstance(b, list) else [b])
        )
    try:
        return float(a) == float(b)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(a).strip() == str(b).strip()


def out_of_scope(
    user: dict[str, Any], exclude_disabled: bool, scopes: Sequence[Scope] = ()
) -> str | None:
    """Why a user is not synced, or None: a disabled account left out, or a [scope]
    condition (every include must hold, no exclude may)."""
    if exclude_disabled and user.get("accountEnabled") is False:
        return "disabled account (exclude_disabled is on)"
    return outside(user, scopes)


def outside(user: dict[str, Any], scopes: Sequence[Scope]) -> str | None:
    """The [scope] condition a user fails, or None. A user outside the scope is a leaver, as
    if the read had not brought it."""
    for scope in scopes:
        included, excluded = scope.conditions()
        for condition in included:
            if not condition.test(user):
                return f"out of scope: not {condition.source}"
        for condition in excluded:
            if condition.test(user):
                return f"out of scope: excluded by {condition.source}"
    return None


def kept(rule: str, current: Any) -> bool:
    """Whether an existing contact keeps the help desk's value under a field's apply rule:
    on_create always does; when_empty does unless the value is empty; always never does."""
    return rule == "on_create" or (rule == "when_empty" and not same(current, None))


def _phones(mapped: list[Phone], existing: list[Phone], rules: dict[str, str]) -> list[Phone]:
    """The phones an existing contact is written with: per type, the directory's, or the help
    desk's where the type's apply rule keeps them."""
    types = dict.fromkeys(p.type for p in [*mapped, *existing])
    found: list[Phone] = []
    for phone_type in types:
        have = [p for p in existing if p.type == phone_type]
        want = [p for p in mapped if p.type == phone_type]
        rule = rules.get(f"phone:{phone_type}", "always")  # a type not mapped: as the directory
        found += have if kept(rule, have) else want
    return found


def _changed(
    mapped: Mapped,
    existing: ExistingContact,
    changes: list[str],
    overwrite: bool,
    field_names: dict[str, str],
    rules: dict[str, str],
    fixed: Collection[str] = (),
) -> tuple[str, list[Phone], dict[str, Any]]:
    """The name, phones and custom values to write, under each field's apply rule; every
    difference said in ``changes``. A ``fixed`` field (the target's mark) always takes its
    value, whatever its rule says."""
    name = existing.name if kept(rules.get("name", "always"), existing.name) else mapped.name
    if existing.name != name:
        changes.append(f"name: {short(existing.name)} -> {short(name)}")
    phones = _phones(mapped.phones, existing.phones, rules)
    old_phones = sorted((p.type, p.number) for p in existing.phones)
    new_phones = sorted((p.type, p.number) for p in phones)
    if old_phones != new_phones:
        changes.append(f"phones: {short(old_phones)} -> {short(new_phones)}")
    custom: dict[str, Any] = {}
    default = "always" if overwrite else "when_empty"
    for field_id, value in mapped.custom.items():
        current = existing.custom.get(field_id)
        # when_empty (overwrite off): a value the help desk has stays; an empty one is filled.
        rule = "always" if field_id in fixed else rules.get(field_id, default)
        if not kept(rule, current) and not same(current, value):
            custom[field_id] = value
            changes.append(
                f"{field_names.get(field_id, field_id)}: {short(current)} -> {short(value)}"
            )
    return name, phones, custom


def decide(
    tenant: str,
    user_id: str,
    mapped: Mapped,
    existing: ExistingContact | None,
    *,
    overwrite: bool,
    field_names: dict[str, str],
    login_on: bool = False,
    rules: dict[str, str] | None = None,
    fixed: Collection[str] = (),
) -> Action:
    """Create, update or leave the contact. ``existing`` is the user's own contact (bound,
    adopted by address, or taken over): an address that differs is changed on it, in place.
    ``login_on``: the contact's portal login was turned off for a user who left, and this
    user takes it over. ``rules``: the apply rule by field id, "name" and "phone:<type>"
    (``Mapper.rules``); a custom field without one follows ``overwrite`` (always, or
    when_empty)."""
    if existing is None:
        write = ContactWrite(
            mapped.email,
            mapped.name,
            mapped.phones,
            {k: v for k, v in mapped.custom.items() if v is not None},
            source_tenant=tenant,
            source_object_id=user_id,
        )
        return Action(ActionKind.CREATE, tenant, user_id, mapped.email, mapped, write)
    moved_from = existing.email if existing.email != mapped.email else ""
    changes = [f"{MOVED}: {moved_from} -> {mapped.email}"] if moved_from else []
    name, phones, custom = _changed(
        mapped, existing, changes, overwrite, field_names, rules or {}, fixed
    )
    if login_on:
        changes.append("login: off -> on")
    action = Action(
        ActionKind.UPDATE if changes else ActionKind.UNCHANGED,
        tenant,
        user_id,
        mapped.email,
        mapped,
        changes=changes,
        existing_id=existing.id,
        moved_from=moved_from,
    )
    if changes:
        action.write = ContactWrite(
            mapped.email,
            name,
            phones,
            custom,
            existing=existing,
            source_tenant=tenant,
            source_object_id=user_id,
            login_enabled=True if login_on else None,
        )
    return action
