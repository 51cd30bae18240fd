"""The pure planner: one directory user, the target's contact (if any), the settings -> one action.

No I/O here: the engine feeds it and the executor applies what it returns, so a dry run
is this function's output printed, and tests can check every rule on plain data.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from azsyncd.state.repository import Mirrored
from azsyncd.sync.mapping import Mapped
from azsyncd.targets.base import ContactWrite, ExistingContact
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

    @property
    def binds(self) -> bool:
        """The user gets a contact it was not bound to (created, adopted or taken over)."""
        bound = self.binding is not None and bool(self.binding.target_id)
        return self.kind in (ActionKind.CREATE, ActionKind.UPDATE, ActionKind.UNCHANGED) and (
            not bound
        )

    @property
    def type(self) -> str:
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


def out_of_scope(user: dict[str, Any], exclude_disabled: bool) -> str | None:
    if exclude_disabled and user.get("accountEnabled") is False:
        return "disabled account (exclude_disabled is on)"
    return None


def _changed(
    mapped: Mapped,
    existing: ExistingContact,
    changes: list[str],
    overwrite: bool,
    field_names: dict[str, str],
    fixed: Collection[str] = (),
) -> dict[str, Any]:
    """The custom values to write; every difference said in ``changes``. A ``fixed`` field
    (the target's mark) always takes its value, whatever ``overwrite`` says."""
    if existing.name != mapped.name:
        changes.append(f"name: {short(existing.name)} -> {short(mapped.name)}")
    old_phones = sorted((p.type, p.number) for p in existing.phones)
    new_phones = sorted((p.type, p.number) for p in mapped.phones)
    if old_phones != new_phones:
        changes.append(f"phones: {short(old_phones)} -> {short(new_phones)}")
    custom: dict[str, Any] = {}
    for field_id, value in mapped.custom.items():
        current = existing.custom.get(field_id)
        # Overwrite off: a value the help desk has stays; an empty one is filled.
        if (overwrite or field_id in fixed or same(current, None)) and not same(current, value):
            custom[field_id] = value
            changes.append(
                f"{field_names.get(field_id, field_id)}: {short(current)} -> {short(value)}"
            )
    return custom


def decide(
    tenant: str,
    user_id: str,
    mapped: Mapped,
    existing: ExistingContact | None,
    *,
    overwrite: bool,
    field_names: dict[str, str],
    login_on: bool = False,
    fixed: Collection[str] = (),
) -> Action:
    """Create, update or leave the contact. ``existing`` is the user's own contact (bound,
    adopted by address, or taken over): an address that differs is changed on it, in place.
    ``login_on``: the contact's portal login was turned off for a user who left, and this
    user takes it over."""
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
    custom = _changed(mapped, existing, changes, overwrite, field_names, fixed)
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
            mapped.name,
            mapped.phones,
            custom,
            existing=existing,
            source_tenant=tenant,
            source_object_id=user_id,
            login_enabled=True if login_on else None,
        )
    return action
