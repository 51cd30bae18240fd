"""Leavers: users deleted in Entra ID, out of the synced groups, or disabled, and their return.

``plan`` is pure (rows in, steps out) so every rule is checked on plain data; ``apply``
turns the portal login off or on through the target and moves the contact in or out of the
leavers' group. Contacts are never deleted, and only those azsync keeps (bound to a user it
created or adopted a contact for, or will in this run) are touched. Only a complete
directory read reaches here: the step plans after the read ended without error and passed
the safety rail.

A login write carries the help desk's required fields (the directory's value, else the
contact's own), so an agent who emptied one cannot keep a leaver's login on. If the help
desk still refuses, the record and the leaver's row say "login still ON: <reason>", an alert
is raised (``service/alerts.py``), and every sync tries again.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from azsyncd.config.model import Lifecycle
from azsyncd.state.lifecycle import STILL_ON, Leaver, Managed
from azsyncd.state.repository import RecordRow
from azsyncd.targets.base import ContactWrite, ExistingContact, Target
from azsyncd.targets.fields import EMPTY, FieldDef
from azsyncd.targets.groups import ContactGroups

LEAVER, RETURNED = "Leaver", "Returned"
STILL_OFF = "login still OFF"  # a returning user's refused login write (STILL_ON: a leaver's)


@dataclass
class Step:
    row: Leaver
    target_id: str
    login: bool  # False: turn the login off; True: give it back
    reason: str

    @property
    def type(self) -> str:
        return RETURNED if self.login else LEAVER


def noted(users: Iterable[dict[str, Any]], known: Container[str]) -> dict[str, bool]:
    """Object id -> account enabled, for the users of a chunk that ``plan`` needs: those
    already known as leavers and the disabled ones. Every other user read is left to the
    run's seen users in the state database, so memory does not grow with the directory."""
    found: dict[str, bool] = {}
    for user in users:
        object_id, enabled = str(user.get("id")), user.get("accountEnabled") is not False
        if not enabled or object_id in known:
            found[object_id] = enabled
    return found


def plan(
    settings: Lifecycle,
    tenant: str,
    managed: dict[str, Managed],
    known: dict[str, Leaver],
    present: dict[str, bool],
    removed: set[str],
    now: datetime,
    run_id: int = 0,
) -> tuple[list[Step], list[Leaver]]:
    """The steps to take and every leaver row as it is after this read.

    ``present``: object id -> account enabled, for the users this read gave (at least the
    disabled ones and those in ``known``); ``removed``: users the read says left (deleted,
    or out of the synced groups); ``managed``: the contacts azsync wrote, at least for every
    user named in the other three.
    """
    rows: dict[str, Leaver] = dict(known)
    wanted = _read(rows, tenant, managed, present, removed, now, run_id)
    wanted += due(settings, rows, now)
    steps: list[Step] = []
    stepped: set[str] = set()  # one step a user a run
    for row, login, reason in wanted:
        contact = managed.get(row.object_id)
        # A row whose contact azsync no longer keeps has nothing to change.
        if contact is not None and row.object_id not in stepped:
            stepped.add(row.object_id)
            steps.append(Step(row, contact.target_id, login, reason))
    return steps, list(rows.values())


Wanted = list[tuple[Leaver, bool, str]]  # a row, the login it should have, why


def _read(
    rows: dict[str, Leaver],
    tenant: str,
    managed: dict[str, Managed],
    present: dict[str, bool],
    removed: set[str],
    now: datetime,
    run_id: int,
) -> Wanted:
    """The rows as the read leaves them (``rows`` updated in place); the users back."""

    def row_for(object_id: str) -> Leaver:
        if object_id not in rows:
            email = managed[object_id].email
            rows[object_id] = Leaver(tenant=tenant, object_id=object_id, email=email)
        return rows[object_id]

    back: Wanted = []
    for object_id, enabled in present.items():
        if object_id not in managed and object_id not in rows:
            continue
        row = row_for(object_id)
        was_gone, row.gone_since, row.gone_run = row.gone_since, None, None
        row.disabled = not enabled  # a disabled account is acted on by _due
        if enabled and row.acted:
            back.append((row, True, "back in Entra ID" if was_gone else "account enabled again"))
    for object_id in removed:
        if object_id in managed and object_id not in present:
            row = row_for(object_id)
            if row.gone_since is None:
                row.gone_since, row.gone_run = now, run_id
    return back


def due(settings: Lifecycle, rows: dict[str, Leaver], now: datetime) -> Wanted:
    """The logins to turn off. Rows kept while a setting was "keep" are acted on once it is
    turned on."""
    due: Wanted = []
    if settings.on_disabled == "disable_login":
        due += [
            (r, False, "account disabled in Entra ID")
            for r in rows.values()
            if r.disabled and not r.acted
        ]
    if settings.on_removed == "disable_login":
        grace = timedelta(days=settings.grace_days)
        for row in rows.values():
            if row.gone_since is not None and not row.acted and now - row.gone_since >= grace:
                reason = (
                    f"gone from Entra ID or the synced groups since {row.gone_since:%Y-%m-%d}"
                    f" ({settings.grace_days} day(s) of grace passed)"
                )
                due.append((row, False, reason))
    return due


def planned(steps: list[Step]) -> list[RecordRow]:
    """What the steps would do, contact by contact (a held run, a dry run)."""
    return [_record(s, "success", f"Would turn the login {_on_off(s)}: {s.reason}") for s in steps]


def apply(
    steps: list[Step],
    target: Target,
    group: str,
    contact_ids: dict[str, str],
    required: list[FieldDef],
) -> list[RecordRow]:
    """Carry the steps out; a step that fails is tried at the next sync. ``contact_ids``:
    object id -> the contact bound to it now (the run has written its new contacts)."""
    found = target.find_by_id(set(contact_ids.values())) if steps else {}
    records: list[RecordRow] = []
    writes: list[tuple[Step, ContactWrite]] = []
    for step in steps:
        contact = found.get(contact_ids.get(step.row.object_id, ""))
        if contact is None:
            records.append(_record(step, "failed", "the contact is no longer in the help desk"))
            continue
        step.target_id = contact.id
        writes.append((step, login_write(contact, step, required)))
    done: list[Step] = []
    for start in range(0, len(writes), target.max_batch):
        batch = writes[start : start + target.max_batch]
        for (step, _), result in zip(batch, target.write([w for _, w in batch]), strict=True):
            if result.ok:
                step.row.acted, step.row.reason = not step.login, ""
                done.append(step)
            else:
                step.row.reason = f"{STILL_OFF if step.login else STILL_ON}: {result.error}"
                records.append(_record(step, "failed", step.row.reason))
    moved = _move(done, target, group)
    for step in done:
        where = f"{'left' if step.login else 'moved to'} group {group}" if moved else ""
        text = f"Login turned {_on_off(step)}" + (f", {where}" if where else "")
        records.append(_record(step, "success", f"{text}: {step.reason}"))
    return records


def login_write(contact: ExistingContact, step: Step, required: list[FieldDef]) -> ContactWrite:
    """The login change, with the contact's own values and every required field's value
    (the directory's, else the contact's): nothing else changes, and an agent who emptied a
    required field does not keep the login as it is."""
    custom = {}
    for field in required:
        value = step.row.required_values.get(field.id)
        value = value if value not in EMPTY else contact.custom.get(field.id)
        if value not in EMPTY:
            custom[field.id] = value
    return ContactWrite(
        contact.email,
        contact.name,
        contact.phones,
        custom,
        existing=contact,
        login_enabled=step.login,
    )


def _move(done: list[Step], target: Target, group: str) -> bool:
    if not isinstance(target, ContactGroups):
        return False
    left = [s.target_id for s in done if not s.login]
    back = [s.target_id for s in done if s.login]
    if left:
        target.add_to_group(group, left, False)
    if back:
        target.remove_from_group(group, back)
    return True


def _on_off(step: Step) -> str:
    return "on" if step.login else "off"


def _record(step: Step, status: str, result: str) -> RecordRow:
    return RecordRow(
        step.row.tenant, step.row.object_id, step.row.email, step.type, status, result, "login"
    )
