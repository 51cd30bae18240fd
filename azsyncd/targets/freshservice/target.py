"""Freshservice as a target: requesters written one by one (there is no bulk call), in
parallel on the executor's workers, under the account's shared limiter.

Traps handled here (see the Freshservice API notes):
- an update resets "can see all tickets of the associated departments" unless it sends true,
  so every update sends the requester's current value;
- whether ``custom_fields`` in an update merges or replaces is not documented, so an update
  that changes one sends every custom value read back;
- filters see a write only minutes later, so a requester created by this run is read back
  by its id, and an address that turns out to be taken is looked up in a full listing, never
  by a search right after a create;
- DELETE deactivates (the portal login off) and ``/reactivate`` gives it back; ``forget``
  also deletes the requester's tickets and is never called, and nothing else is deleted;
- only manual requester groups take members, one requester a call.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from azsyncd import stop
from azsyncd.config.templates import render
from azsyncd.errors import TargetError
from azsyncd.targets.base import ContactWrite, ExistingContact, WriteResult, normal_email
from azsyncd.targets.fields import FieldDef, FieldType, problem
from azsyncd.targets.freshservice.api import CHECK_STATUS, FreshserviceAPI, Refusal
from azsyncd.targets.freshservice.fields import (
    DEPARTMENT,
    FIRST,
    JOB,
    LAST,
    PHONE_KEYS,
    Requester,
    field_defs,
    requester_from,
    split_name,
)

log = logging.getLogger(__name__)

# Up to this many addresses a run are looked up one by one (a filtered GET each); past it,
# every requester is listed once (a GET per 100). A few changed users in a large account
# cost a few calls; a first sync lists once.
SEARCH_LIMIT = 30
GROUP_WORKERS = 4  # member calls in flight for one group change (one requester a call)


class _Invalid(Exception):
    """A value azsync can tell is wrong before asking Freshservice."""


class Freshservice:
    max_batch = 10  # requesters a write() call takes; the executor runs several at once

    def __init__(
        self,
        api: FreshserviceAPI,
        *,
        mark: str = "none",
        group_name: str = "Microsoft Entra ID: {tenant}",
    ) -> None:
        self.api = api
        self.mark = mark
        self.group_name = group_name
        self._fields: list[FieldDef] | None = None
        self._labels: dict[str, str] = {}  # requester field name -> label, for reasons
        self._fields_lock = threading.Lock()
        self._index: dict[str, Requester] | None = None  # every requester by address, listed
        self._by_id: dict[str, Requester] = {}  # the same by id, once listed
        self._index_lock = threading.Lock()
        self._searched = 0  # addresses and ids looked up one by one in this run
        # address -> id of the requesters this client created or moved to an address: read
        # back by id, as a filter would not see them for minutes
        self._written: dict[str, str] = {}
        self._departments: dict[str, tuple[int, str]] | None = None  # casefold name -> id, name
        self._department_names: dict[int, str] = {}
        self._department_lock = threading.Lock()
        self._groups: dict[str, tuple[int, str]] | None = None  # name -> id, type
        self._group_lock = threading.Lock()

    def close(self) -> None:
        self.api.close()

    # --- fields ---------------------------------------------------------------------------

    def fields(self) -> list[FieldDef]:
        raw: list[dict[str, Any]] = []
        for page in self.api.pages("requester_fields", "requester_fields"):
            raw += page
        defs = field_defs(raw)
        with self._fields_lock:
            self._fields = defs
            self._labels = {str(r.get("name")): str(r.get("label") or r.get("name")) for r in raw}
        for f in defs:
            if f.type is FieldType.UNKNOWN:
                log.warning(
                    "Freshservice requester field %r has a type azsync does not write (%r); "
                    "it is kept as it is",
                    f.name,
                    f.raw_type,
                )
        return defs

    def _defs(self) -> dict[str, FieldDef]:
        if self._fields is None:
            self.fields()
        assert self._fields is not None
        return {f.id: f for f in self._fields}

    # --- reading requesters ---------------------------------------------------------------

    def _requester(self, raw: Any, call: str) -> Requester:
        try:
            return requester_from(raw, self._department_name)
        except (ValueError, TypeError, AttributeError) as exc:
            raise TargetError(
                f"Freshservice answered {call} with something azsync cannot read: {exc}",
                CHECK_STATUS,
            ) from None

    def _listed(self) -> Iterator[Requester]:
        """Every requester, active or not (agents are not requesters)."""
        for page in self.api.pages("requesters", "requesters", listing=True):
            for raw in page:
                yield self._requester(raw, "GET requesters")

    def iter_contacts(self, updated_since: datetime | None = None) -> Iterator[ExistingContact]:
        # Filtered listings lag and stop at 1,200 hits: the whole list, filtered here.
        since = updated_since.strftime("%Y-%m-%dT%H:%M:%S") if updated_since else ""
        for requester in self._listed():
            if requester.updated_at[:19] >= since:
                yield requester

    def _get(self, requester_id: str) -> Requester | None:
        try:
            answer = self.api.call("GET", f"requesters/{int(requester_id)}")
        except Refusal as refusal:
            if refusal.status == 404:
                return None
            raise TargetError(
                f"Freshservice refused to show requester {requester_id}: {refusal}"
            ) from None
        body = answer.body.get("requester") if isinstance(answer.body, dict) else None
        return self._requester(body, "GET requesters/<id>")

    def _search(self, email: str) -> Requester | None:
        answer = self.api.call("GET", "requesters", params={"email": email}, listing=True)
        items = answer.body.get("requesters") if isinstance(answer.body, dict) else None
        if not isinstance(items, list):
            raise TargetError(
                "Freshservice answered GET requesters?email= with something azsync cannot "
                "read: no list under 'requesters'",
                CHECK_STATUS,
            )
        found = [self._requester(raw, "GET requesters?email=") for raw in items]
        return next((r for r in found if r.email == email), None)

    def _load_index(self) -> dict[str, Requester]:
        with self._index_lock:
            if self._index is None:
                listed = list(self._listed())
                self._by_id = {r.id: r for r in listed}
                self._index = {r.email: r for r in listed if r.email}
            return self._index

    def find_by_id(self, ids: Iterable[str]) -> dict[str, ExistingContact]:
        wanted = [i for i in dict.fromkeys(str(i) for i in ids) if i.isdigit()]
        if self._index is None and self._searched + len(wanted) > SEARCH_LIMIT:
            self._load_index()
        found: dict[str, ExistingContact] = {i: self._by_id[i] for i in wanted if i in self._by_id}
        if self._index is None:
            self._searched += len(wanted)
        # One by one: all of them before the listing, or those created since (a GET by id
        # sees a write at once; a filter would not) and those gone.
        for requester_id in (i for i in wanted if i not in found):
            stop.check()
            requester = self._get(requester_id)
            if requester is not None:
                found[requester_id] = requester
        return found

    def find_by_email(self, emails: Iterable[str]) -> dict[str, ExistingContact]:
        wanted = {normal_email(e) for e in emails}
        found: dict[str, ExistingContact] = {}
        for email in wanted & self._written.keys():  # by id: a filter would not see it yet
            requester = self._get(self._written[email])
            if requester is not None and requester.email == email:
                found[email] = requester
        rest = wanted - found.keys()
        if self._index is None and self._searched + len(rest) > SEARCH_LIMIT:
            self._load_index()
        if self._index is not None:
            found.update((e, self._index[e]) for e in rest if e in self._index)
            return found
        self._searched += len(rest)
        for email in sorted(rest):
            stop.check()
            requester = self._search(email)
            if requester is not None:
                found[email] = requester
        return found

    def _remember(self, requester: Requester, old_email: str = "") -> None:
        """Keep the listing true to what this client wrote."""
        with self._index_lock:
            if self._index is not None:
                if old_email and old_email != requester.email:
                    self._index.pop(old_email, None)
                if requester.email:
                    self._index[requester.email] = requester
                self._by_id[requester.id] = requester

    # --- writing requesters ---------------------------------------------------------------

    def write(self, batch: list[ContactWrite]) -> list[WriteResult]:
        if len(batch) > self.max_batch:
            raise ValueError(f"Freshservice takes at most {self.max_batch} requesters a call")
        results: list[WriteResult] = []
        broken: TargetError | None = None
        for item in batch:
            if broken is not None:  # the account cannot be written now: no more calls
                results.append(WriteResult(item.email, False, error=broken.message))
                continue
            stop.check()
            try:
                results.append(WriteResult(item.email, True, self._write_one(item)))
            except (Refusal, _Invalid) as exc:
                error = exc.reason(self._labels) if isinstance(exc, Refusal) else str(exc)
                existing = item.existing.id if item.existing else ""
                results.append(WriteResult(item.email, False, existing, error))
            except TargetError as exc:
                broken = exc
                results.append(WriteResult(item.email, False, error=exc.message))
        return results

    def _write_one(self, item: ContactWrite) -> str:
        if item.existing is None:
            return self._create(item)
        current = item.existing
        if not isinstance(current, Requester):  # its flags are needed: read it
            current = self._get(current.id) or _gone(current.id)
        return self._update(item, current)

    def _create(self, item: ContactWrite) -> str:
        payload = self._payload(item, None)
        try:
            answer = self.api.call("POST", "requesters", json=payload)
        except Refusal as refusal:
            if refusal.codes.get("primary_email") != "duplicate_value":
                raise
            # Taken: by a requester no lookup saw (created minutes ago, not yet searchable,
            # or left by a run that died), by a secondary address, or by an agent.
            holder = self._load_index().get(normal_email(item.email))
            if holder is None:
                raise _Invalid(self._taken(normal_email(item.email))) from None
            return self._update(item, holder)
        body = answer.body.get("requester") if isinstance(answer.body, dict) else None
        requester = self._requester(body, "POST requesters")
        self._written[requester.email or normal_email(item.email)] = requester.id
        if item.login_enabled is False:
            self.api.call("DELETE", f"requesters/{int(requester.id)}")
        return requester.id

    def _taken(self, email: str) -> str:
        index = self._load_index()
        holder = next((r for r in index.values() if email in r.secondary_emails), None)
        if holder is not None:
            return (
                f"primary_email: {email} is a secondary address of requester {holder.id} "
                f"({holder.email}); fix: remove it there, or give this user another address"
            )
        return (
            f"primary_email: {email} is taken in Freshservice, by an agent (agents are not "
            "requesters); fix: give the agent or this user another address"
        )

    def _update(self, item: ContactWrite, current: Requester) -> str:
        path = f"requesters/{int(current.id)}"
        # The login first: a leaver loses it even when the values cannot be written.
        if item.login_enabled is False and current.active:
            self._call_on(current, "DELETE", path)
            current.active = False
        if item.login_enabled is True and not current.active:
            self._call_on(current, "PUT", path + "/reactivate")
            current.active = True
        payload = self._payload(item, current)
        if payload:
            # Sent every time: an update without it turns the flag off.
            payload["can_see_all_tickets_from_associated_departments"] = (
                current.sees_department_tickets
            )
            answer = self._call_on(current, "PUT", path, payload)
            body = answer.body.get("requester") if isinstance(answer.body, dict) else None
            updated = self._requester(body, "PUT requesters/<id>")
            self._remember(updated, current.email)
            if updated.email != current.email:
                self._written.pop(current.email, None)
                self._written[updated.email] = updated.id
            current = updated
        else:
            self._remember(current)
        return current.id

    def _call_on(self, current: Requester, method: str, path: str, payload: Any = None) -> Any:
        try:
            return self.api.call(method, path, json=payload)
        except Refusal as refusal:
            if refusal.status == 404:
                _gone(current.id)
            raise

    def _payload(self, item: ContactWrite, current: Requester | None) -> dict[str, Any]:
        """What to send: everything for a create; what differs for an update (nothing: no
        call). Values azsync can tell are wrong fail here, before any call."""
        defs = self._defs()
        custom_now = dict(current.custom) if current else {}
        wanted = {**custom_now, **item.custom}
        reasons = [f"{k}: no such requester field" for k in item.custom if k not in defs]
        payload = _phones(item, current, reasons)
        payload.update(_names(item, current))
        if current is None or normal_email(item.email) != current.email:
            payload["primary_email"] = item.email
        if JOB in item.custom and (current is None or item.custom[JOB] != custom_now.get(JOB)):
            payload["job_title"] = item.custom[JOB]
        if DEPARTMENT in item.custom and not reasons:
            ids = self._department_ids(item.custom[DEPARTMENT], current)
            if current is None or ids != current.department_ids:
                payload["department_ids"] = ids
        names = {k for k in defs if k not in (FIRST, LAST, JOB, DEPARTMENT)}
        if any(k in names and item.custom[k] != custom_now.get(k) for k in item.custom):
            # Every custom value read back goes too: a left-out one might be emptied.
            values = {k: v for k, v in wanted.items() if k in names}
            payload["custom_fields"] = (
                values if current else {k: v for k, v in values.items() if v is not None}
            )
        if payload or current is None:  # what the write will hold must fit every field
            reasons += _field_problems(defs, item, wanted)
        if reasons:
            raise _Invalid("; ".join(reasons))
        if current is None and payload.get("last_name") is None:
            payload.pop("last_name", None)
        return payload

    # --- departments ----------------------------------------------------------------------

    def _load_departments(self) -> dict[str, tuple[int, str]]:
        if self._departments is None:
            found: dict[str, tuple[int, str]] = {}
            for page in self.api.pages("departments", "departments"):
                for raw in page:
                    if isinstance(raw.get("id"), int) and isinstance(raw.get("name"), str):
                        found[raw["name"].casefold()] = (raw["id"], raw["name"])
                        self._department_names[raw["id"]] = raw["name"]
            self._departments = found
        return self._departments

    def _department_name(self, department_id: int) -> str | None:
        with self._department_lock:
            if department_id not in self._department_names and self._departments is None:
                self._load_departments()
            return self._department_names.get(department_id)

    def _department_ids(self, name: Any, current: Requester | None) -> list[int]:
        """The requester's departments with ``name`` first (the one azsync keeps): found by
        name, or created. Other departments an agent added stay."""
        others = list(current.department_ids[1:]) if current else []
        if name in (None, ""):
            return others
        department = self._department(str(name))
        return [department] + [i for i in others if i != department]

    def _department(self, name: str) -> int:
        with self._department_lock:  # workers write in parallel: create each department once
            known = self._load_departments().get(name.casefold())
            if known is not None:
                return known[0]
            try:
                answer = self.api.call("POST", "departments", json={"name": name})
            except Refusal as refusal:
                if refusal.codes.get("name") == "duplicate_value":  # made meanwhile
                    self._departments = None
                    again = self._load_departments().get(name.casefold())
                    if again is not None:
                        return again[0]
                raise _Invalid(f"Department: {refusal.reason()}") from None
            body = answer.body.get("department") if isinstance(answer.body, dict) else None
            if not isinstance(body, dict) or not isinstance(body.get("id"), int):
                raise TargetError(
                    "Freshservice answered POST departments without the department's id",
                    CHECK_STATUS,
                )
            assert self._departments is not None
            self._departments[name.casefold()] = (body["id"], name)
            self._department_names[body["id"]] = name
            return int(body["id"])

    # --- requester groups (targets.groups.ContactGroups) ------------------------------------

    def mark_synced(self, tenant_label: str, contact_ids: list[str]) -> None:
        if self.mark == "requester_group" and contact_ids:
            self.add_to_group(render(self.group_name, {"tenant": tenant_label}), contact_ids, False)

    def group_names(self) -> list[str]:
        with self._group_lock:
            return sorted(self._load_groups())

    def _load_groups(self) -> dict[str, tuple[int, str]]:
        if self._groups is None:
            found: dict[str, tuple[int, str]] = {}
            for page in self.api.pages("requester_groups", "requester_groups"):
                for raw in page:
                    if isinstance(raw.get("id"), int) and isinstance(raw.get("name"), str):
                        found[raw["name"]] = (raw["id"], str(raw.get("type") or "manual"))
            self._groups = found
        return self._groups

    def _group(self, name: str, *, create: bool) -> int | None:
        with self._group_lock:  # workers mark in parallel: create the group once
            group = self._load_groups().get(name)
            if group is None and create:
                try:
                    answer = self.api.call("POST", "requester_groups", json={"name": name})
                except Refusal as refusal:
                    raise TargetError(
                        f'Freshservice did not create the requester group "{name}": {refusal}',
                        "create it as a manual requester group in Freshservice",
                    ) from None
                body = answer.body.get("requester_group") if isinstance(answer.body, dict) else None
                if not isinstance(body, dict) or not isinstance(body.get("id"), int):
                    raise TargetError(
                        "Freshservice answered POST requester_groups without the group's id",
                        CHECK_STATUS,
                    )
                group = self._load_groups()[name] = (body["id"], str(body.get("type") or "manual"))
        if group is None:
            return None
        if group[1] != "manual":
            raise TargetError(
                f'the Freshservice requester group "{name}" is {group[1]}: only manual groups '
                "can have members added or removed",
                "make it a manual group in Freshservice, or name another group in "
                "[[contact_groups]] (or [lifecycle] group_name)",
            )
        return group[0]

    def add_to_group(self, name: str, contact_ids: list[str], access_tickets: bool) -> None:
        # Requester groups have no per-member ticket access: access_tickets has no effect.
        group = self._group(name, create=True)
        assert group is not None
        self._members("POST", group, contact_ids)

    def remove_from_group(self, name: str, contact_ids: list[str]) -> None:
        group = self._group(name, create=False)
        if group is not None:
            self._members("DELETE", group, contact_ids)

    def _members(self, method: str, group: int, contact_ids: list[str]) -> None:
        def one(requester_id: str) -> None:
            stop.check()
            try:
                self.api.call(method, f"requester_groups/{group}/members/{int(requester_id)}")
            except Refusal as refusal:
                already = method == "POST" and "duplicate_value" in refusal.codes.values()
                if not (already or (method == "DELETE" and refusal.status == 404)):
                    raise TargetError(
                        f"Freshservice refused {method} requester {requester_id} in group "
                        f"{group}: {refusal}"
                    ) from None

        if len(contact_ids) <= self.max_batch:
            for requester_id in contact_ids:
                one(requester_id)
            return
        with ThreadPoolExecutor(GROUP_WORKERS, thread_name_prefix="group") as pool:
            list(pool.map(stop.carry(one), contact_ids))


def _gone(requester_id: str) -> Requester:
    raise _Invalid(
        f"requester {requester_id} is no longer in Freshservice (deleted or forgotten there); "
        "the next full reconciliation creates it again"
    )


def _phones(item: ContactWrite, current: Requester | None, reasons: list[str]) -> dict[str, Any]:
    """The phone keys to send (a phone type Freshservice has no key for adds a reason)."""
    payload: dict[str, Any] = {}
    for phone in item.phones:
        key = PHONE_KEYS.get(phone.type)
        if key is None:
            reasons.append(
                f"phone ({phone.type}): Freshservice keeps a work and a mobile phone "
                'only; fix: map phones "w" and "mo" only'
            )
        elif current is None or not any(
            p.type == phone.type and p.number == phone.number for p in current.phones
        ):
            payload[key] = phone.number
    return payload


def _names(item: ContactWrite, current: Requester | None) -> dict[str, Any]:
    """first_name and last_name, when they are to be written."""
    first, last = split_name(item.name)
    if FIRST in item.custom:
        first = item.custom[FIRST] or first
    if LAST in item.custom:
        last = item.custom[LAST]
    if current is None:
        return {"first_name": first, "last_name": last}
    if (FIRST in item.custom or LAST in item.custom or item.name != current.name) and (
        first,
        last or "",
    ) != (current.first_name, current.last_name):
        # A name written as it is (an agent's own split of it) stays as it is.
        return {"first_name": first, "last_name": last}
    return {}


def _field_problems(defs: dict[str, Any], item: ContactWrite, wanted: dict[str, Any]) -> list[str]:
    """Why the values the write will hold do not fit the requester fields."""
    reasons = [
        p
        for f in defs.values()
        if f.type is not FieldType.UNKNOWN
        and (f.id in item.custom or f.required)
        and (p := problem(f, wanted.get(f.id)))
    ]
    return reasons + [
        f"{defs[k].name}: a whole number is required, got {v!r}"
        for k, v in item.custom.items()
        if k in defs and defs[k].type is FieldType.NUMBER and isinstance(v, float)
    ]
