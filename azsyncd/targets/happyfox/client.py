"""HappyFox's REST API as a target.

Traps handled here (see the HappyFox API notes):
- an edit resets every custom field it leaves out, so updates carry all current values;
- going over 500 GET / 300 POST a minute locks the account with 429s for ten minutes, so a
  shared limiter keeps under the limits and a 429 pauses every call until the lock ends;
- an ``error`` body on a 2xx answer is a failure;
- phone ids go back as HappyFox gave them (integers): another id adds a phone;
- an answer of another shape (an HTML page, JSON cut short, a contact without an id) is an
  error that says what came, and every call ends by its deadline or when the daemon stops.
"""

from __future__ import annotations

import dataclasses
import logging
import reprlib
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, TypeVar

import httpx

from azsyncd import outbound, stop
from azsyncd.config.templates import render
from azsyncd.errors import TargetError
from azsyncd.targets.base import (
    ContactWrite,
    ExistingContact,
    Phone,
    SetupProblem,
    WriteResult,
    normal_email,
)
from azsyncd.targets.fields import FIELD_TYPES, Choice, FieldDef, FieldType, field_type
from azsyncd.targets.http_calls import DeskCalls, json_client
from azsyncd.targets.noted import NotedAddresses
from azsyncd.targets.ratelimit import RateLimiter

log = logging.getLogger(__name__)
T = TypeVar("T")

GET_LIMIT, POST_LIMIT = 500, 300
# Finding contacts: a search costs a GET per address, a listing a GET per 50 contacts. Up to
# SEARCH_LIMIT addresses are searched; past it, every contact is listed once this run's
# searches would reach half the listing's cost, since more lookups usually follow (at most
# twice the cheapest). A few dozen changes in a 100,000-contact account search a few dozen
# addresses instead of listing 2,000 pages; a full sync lists once.
SEARCH_LIMIT = 20
PAGE = 50


CALL_BUDGET = 120.0  # seconds one call may take, its tries and pauses included
MAX_ANSWER = 20 * outbound.MB  # a page of 50 contacts is far less


def limits_for(headroom: float) -> dict[str, int]:
    """Calls a minute by kind, using ``headroom`` of what HappyFox publishes."""
    return {"GET": max(1, int(GET_LIMIT * headroom)), "POST": max(1, int(POST_LIMIT * headroom))}


def limiter_for(
    headroom: float,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> RateLimiter:
    limits = limits_for(headroom)
    kwargs: dict[str, Any] = {}
    if clock:
        kwargs["clock"] = clock
    if sleep:
        kwargs["sleep"] = sleep
    return RateLimiter(limits, **kwargs)


def _records(value: Any, what: str) -> list[dict[str, Any]]:
    """A list of objects, as HappyFox documents it; ValueError naming what came instead."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValueError(f"{what} is not a list of objects: {reprlib.repr(value)}")
    return value


def field_from(raw: dict[str, Any]) -> FieldDef:
    if raw.get("id") in (None, ""):
        raise ValueError(f"a custom field without an id: {reprlib.repr(raw)}")
    raw_type = str(raw.get("type", ""))
    choices = tuple(
        Choice(str(c.get("id")), str(c.get("text", "")))
        for c in _records(raw.get("choices"), "a field's choices")
    )
    return FieldDef(
        id=str(raw["id"]),
        name=str(raw.get("name", raw["id"])),
        type=field_type(raw_type),
        required=bool(raw.get("required")),
        choices=choices,
        raw_type=raw_type,
    )


def contact_from(raw: Any) -> ExistingContact:
    """One contact as HappyFox lists it; ValueError when it is something else."""
    if not isinstance(raw, dict) or raw.get("id") in (None, ""):
        raise ValueError(f"a contact without an id: {reprlib.repr(raw)}")
    custom: dict[str, Any] = {}
    for item in _records(raw.get("custom_fields"), f"contact {raw['id']}'s custom_fields"):
        # A choice field's value_id is the choice id that writes expect back.
        value = (
            item.get("value_id") if item.get("value_id") not in (None, "") else item.get("value")
        )
        custom[str(item.get("id"))] = value
    phones = [
        Phone(str(p.get("type", "o")), str(p.get("number", "")), p.get("id"))
        for p in _records(raw.get("phones"), f"contact {raw['id']}'s phones")
    ]
    return ExistingContact(
        id=str(raw["id"]),
        email=normal_email(str(raw.get("email") or "")),
        name=str(raw.get("name") or ""),
        phones=phones,
        custom=custom,
    )


def readable_errors(error: Any, names: dict[str, str]) -> str:
    """HappyFox's per-field errors as one sentence a person can act on."""
    if isinstance(error, list):
        parts = []
        for item in error:
            if isinstance(item, dict):
                field = str(item.get("field", ""))
                label = (
                    names.get(field.removeprefix("c-cf-"), field)
                    if field.startswith("c-cf-")
                    else field
                )
                label = f"{label} ({field})" if field.startswith("c-cf-") else label
                messages = item.get("errors") or item.get("error") or []
                text = " ".join(messages) if isinstance(messages, list) else str(messages)
                parts.append(f"{label}: {text}" if label else text)
            else:
                parts.append(str(item))
        return "; ".join(parts)
    if isinstance(error, dict):
        return "; ".join(
            f"{k}: {' '.join(v) if isinstance(v, list) else v}" for k, v in error.items()
        )
    return str(error)


def _page_count(body: Any) -> int:
    return int((body.get("page_info") or {}).get("page_count") or 1)


def _choice_ids(value: Any) -> Any:
    """HappyFox's choice ids are integers; ours travel as strings."""
    if isinstance(value, list):
        return [_choice_ids(v) for v in value]
    return int(value) if isinstance(value, str) and value.isdigit() else value


class HappyFox(DeskCalls):
    max_batch = 100
    desk = "HappyFox"
    down_fix = "check HappyFox's status page and the network; the next sync retries"
    answer_fix = (
        "check base_url (https://<account>.happyfox.com) and HappyFox's status page; "
        "the next sync retries"
    )
    throttled_fix = (
        "another integration may be using the same account's rate limit; try again later"
    )
    key_refused = (
        "HappyFox refused the API key and auth code (401)",
        "check api_key_file and auth_code_file (Manage > Integrations > API in HappyFox)",
    )
    max_429 = 6  # ten minutes each: an hour

    def __init__(
        self,
        base_url: str,
        api_key: str,
        auth_code: str,
        *,
        limiter: RateLimiter,
        lock_minutes: float = 10,
        group_name: str = "Microsoft Entra ID: {tenant}",
        mark: str = "contact_group",
        mark_field: str = "",
        mark_value: str = "Microsoft Entra ID",
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        timeout: float = 30.0,
        deadline: float = CALL_BUDGET,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        http = json_client(
            base_url.rstrip("/") + "/api/1.1/json/",
            auth=(api_key, auth_code),
            transport=transport,
            deadline=deadline,
            timeout=timeout,
            max_answer=MAX_ANSWER,
        )
        super().__init__(http, limiter=limiter, budget=deadline, sleep=sleep, on_wait=on_wait)
        self.lock_seconds = lock_minutes * 60
        self.group_name = group_name
        self.mark = mark
        self.mark_field, self.mark_value = mark_field, mark_value
        # mark = "custom_field": (field id, value as written) once the fields are read and
        # the field fits; else what is wrong with it (``setup_problems``).
        self._mark: tuple[str, Any] | None = None
        self._mark_problem: SetupProblem | None = None
        self._field_names: dict[str, str] = {}
        self._field_ids: list[str] | None = None
        self._choice_fields: set[str] = set()
        self._groups: dict[str, str] = {}
        self._group_lock = threading.Lock()
        self._index: dict[str, ExistingContact] | None = (
            None  # every contact by address, once listed in this run
        )
        self._ids: dict[str, str] = {}  # contact id -> its address in the listing
        self._searched = 0  # addresses searched one by one in this run
        # Addresses created after the listing: asked for again, they are searched, not taken
        # as absent. Kept off the heap: a first sync creates a contact per user.
        self._created = NotedAddresses()
        self._pages: int | None = None  # pages of the contact list, once asked

    def close(self) -> None:
        self._http.close()
        self._created.close()

    # --- calls -------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, absent_ok: bool = False, **kwargs: Any) -> Any:
        """One call (``DeskCalls.request``: a POST that timed out is tried once more at
        most); its JSON. ``absent_ok``: a 404 is None (a contact asked for by id that is
        gone), not an error."""
        kind = "GET" if method == "GET" else "POST"
        response = self.request(method, path, kinds=(kind,), **kwargs)
        if response.status_code == 404 and absent_ok:
            return None
        return self._answer(method, path, response)

    def throttle(self, response: httpx.Response) -> tuple[float, str]:
        """HappyFox sends no Retry-After: a 429 locks the account for ten minutes."""
        return self.lock_seconds, (
            f"HappyFox answered 429 (rate limit): pausing all calls for "
            f"{self.lock_seconds / 60:.0f} min, then resuming"
        )

    def _answer(self, method: str, path: str, response: httpx.Response) -> Any:
        status = response.status_code
        body = self.decoded(method, path, response, empty=False)
        if (
            isinstance(body, dict)
            and "error" in body
            and (status >= 400 or set(body) <= {"error", "errors"})
        ):
            raise TargetError(
                f"HappyFox refused {method} {path}: "
                f"{readable_errors(body['error'], self._field_names)}"
            )
        if status >= 400:
            raise TargetError(f"HappyFox refused {method} {path} with HTTP {status}")
        return body

    # --- the Target protocol ----------------------------------------------------------

    @staticmethod
    def _shaped(call: str, parse: Callable[[Any], T], answer: Any) -> T:
        """``parse`` the answer to ``call``; a shape HappyFox does not document is a
        TargetError saying what came."""
        try:
            return parse(answer)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise TargetError(
                f"HappyFox answered {call} with something azsync cannot read: {exc}",
                "check HappyFox's status page; the next sync retries",
            ) from None

    def fields(self) -> list[FieldDef]:
        defs = self._shaped(
            "GET user_custom_fields/",
            lambda answer: [field_from(raw) for raw in _records(answer, "the field list")],
            self._call("GET", "user_custom_fields/"),
        )
        self._field_names = {f.id: f.name for f in defs}
        self._field_ids = [f.id for f in defs]
        self._choice_fields = {f.id for f in defs if FIELD_TYPES[f.type].choices}
        if self.mark == "custom_field":
            defs = self._marked(defs)
        for f in defs:
            if f.type is FieldType.UNKNOWN:
                log.warning(
                    "HappyFox custom field %r has a type we do not know (%r); it is kept as it is",
                    f.name,
                    f.raw_type,
                )
        return defs

    def _marked(self, defs: list[FieldDef]) -> list[FieldDef]:
        """The fields, the mark's carrying its value (``FieldDef.fixed``) when the field is
        there and can hold it; else the problem is kept for ``setup_problems``."""
        self._mark, self._mark_problem = None, None
        name, value = self.mark_field, self.mark_value
        key = "target.happyfox.mark_field"
        found = next((f for f in defs if f.name == name), None)
        create = (
            f'in HappyFox, add a contact custom field named "{name}" of type Text (or'
            f' Dropdown with the choice "{value}"), not required; or set mark = "contact_group"'
        )
        if found is None:
            self._mark_problem = SetupProblem(
                key,
                f'the mark\'s contact field "{name}" does not exist in HappyFox, so contacts'
                " are written without the mark",
                create,
            )
            return defs
        written: Any = None
        if found.type is FieldType.TEXT:
            written = value
        elif found.type is FieldType.DROPDOWN:
            choice = next((c for c in found.choices if c.label == value), None)
            if choice is not None:
                written = choice.id
            else:
                labels = ", ".join(f'"{c.label}"' for c in found.choices) or "none"
                self._mark_problem = SetupProblem(
                    "target.happyfox.mark_value",
                    f'the mark\'s dropdown field "{name}" has no choice "{value}" (its choices:'
                    f" {labels}), so contacts are written without the mark",
                    f'add the choice "{value}" to the field in HappyFox, or set mark_value to'
                    " one of its choices",
                )
                return defs
        else:
            self._mark_problem = SetupProblem(
                key,
                f'the mark\'s contact field "{name}" is of type {found.raw_type or found.type};'
                " the mark needs a Text or Dropdown field, so contacts are written without it",
                create.replace(f'named "{name}"', "of its own"),
            )
            return defs
        self._mark = (found.id, written)
        return [dataclasses.replace(f, fixed=written) if f is found else f for f in defs]

    def setup_problems(self) -> list[SetupProblem]:
        """What HappyFox lacks for these settings, as of the last ``fields()``."""
        return [self._mark_problem] if self._mark_problem is not None else []

    def iter_contacts(self, updated_since: datetime | None = None) -> Iterator[ExistingContact]:
        params: dict[str, Any] = {"size": PAGE}
        if updated_since is not None:
            params["q"] = f"updated_since:{updated_since.strftime('%Y-%m-%d')}"
        return self._listed(params, self._call("GET", "users/", params={**params, "page": 1}))

    def _listed(self, params: dict[str, Any], first: Any) -> Iterator[ExistingContact]:
        body, page = first, 1
        while True:
            stop.check()
            contacts, pages = self._shaped(f"GET users/?page={page}", _listing, body)
            yield from contacts
            if page >= pages or not contacts:
                return
            page += 1
            body = self._call("GET", "users/", params={**params, "page": page})

    def find_by_email(self, emails: Iterable[str]) -> dict[str, ExistingContact]:
        wanted = {normal_email(e) for e in emails}
        self._maybe_list(len(wanted))
        if self._index is not None:
            unknown = [e for e in wanted if e not in self._index]
            fresh = self._search(self._created.among(unknown))
            for contact in fresh.values():
                self._keep(contact)  # found once: from the listing from now on
            return {email: self._index[email] for email in wanted if email in self._index}
        self._searched += len(wanted)
        return self._search(wanted)

    def find_by_id(self, ids: Iterable[str]) -> dict[str, ExistingContact]:
        """By id: from the listing when the run has listed the account, else ``GET
        /user/<id>/`` each (a contact created after the listing is fetched the same way)."""
        wanted = {str(i) for i in ids if str(i).isdigit()}  # HappyFox's ids are numbers
        self._maybe_list(len(wanted))
        found: dict[str, ExistingContact] = {}
        if self._index is not None:
            for contact_id in wanted & self._ids.keys():
                found[contact_id] = self._index[self._ids[contact_id]]
        else:
            self._searched += len(wanted)
        for contact_id in sorted(wanted - found.keys()):
            stop.check()
            answer = self._call("GET", f"user/{contact_id}/", absent_ok=True)
            if answer is not None:
                contact = self._shaped(f"GET user/{contact_id}/", contact_from, answer)
                found[contact_id] = contact
                if self._index is not None:
                    self._keep(contact)
        return found

    def _maybe_list(self, more: int) -> None:
        if self._index is None and self._searched + more > SEARCH_LIMIT:
            self._list_if_cheaper(more)

    def _keep(self, contact: ExistingContact) -> None:
        """Keep the listing true to what HappyFox holds now."""
        assert self._index is not None
        old = self._index.get(contact.email)
        if old is not None and old.id != contact.id:
            self._ids.pop(old.id, None)
        moved = self._ids.get(contact.id)
        if moved is not None and moved != contact.email:
            self._index.pop(moved, None)
        self._index[contact.email] = contact
        self._ids[contact.id] = contact.email

    def _search(self, emails: set[str]) -> dict[str, ExistingContact]:
        found: dict[str, ExistingContact] = {}
        for email in emails:
            stop.check()
            body = self._call("GET", "users/", params={"q": f"email:{email}", "size": 50})
            contacts, _ = self._shaped(f"GET users/?q=email:{email}", _listing, body)
            found.update((c.email, c) for c in contacts if c.email == email)
        return found

    def _list_if_cheaper(self, more: int) -> None:
        params = {"size": PAGE}
        first = None
        if self._pages is None:
            first = self._call("GET", "users/", params={**params, "page": 1})
            self._pages = self._shaped("GET users/?page=1", _listing, first)[1]
        if self._pages <= 2 * (self._searched + more):
            if first is None:
                first = self._call("GET", "users/", params={**params, "page": 1})
            self._index, self._ids = {}, {}
            for contact in self._listed(params, first):
                self._keep(contact)

    def _payload(self, item: ContactWrite) -> dict[str, Any]:
        if self._field_ids is None:
            self.fields()
        payload: dict[str, Any] = {"name": item.name, "email": item.email}
        payload["phones"] = _phones(item)
        # Every custom field goes out: one left out would be reset by HappyFox.
        values = dict(item.existing.custom) if item.existing else {}
        values.update(item.custom)
        for field_id, value in values.items():
            if value is not None and (item.existing is not None or field_id in item.custom):
                payload[f"c-cf-{field_id}"] = (
                    _choice_ids(value) if field_id in self._choice_fields else value
                )
        if self._mark is not None:  # the mark rides in every write, whatever an agent set
            field_id, mark = self._mark
            choice = field_id in self._choice_fields
            payload[f"c-cf-{field_id}"] = _choice_ids(mark) if choice else mark
        if item.login_enabled is not None:
            payload["is_login_enabled"] = "TRUE" if item.login_enabled else "FALSE"
        elif item.existing is None:
            payload["is_login_enabled"] = "TRUE"
        return payload

    def write(self, batch: list[ContactWrite]) -> list[WriteResult]:
        """Edits that change a contact's address go one by one to ``POST /user/<id>/`` (the
        bulk call matches contacts by address, so it would create a new one); the rest go
        in one bulk ``POST /users/``."""
        if len(batch) > self.max_batch:
            raise ValueError(f"HappyFox takes at most {self.max_batch} contacts a call")
        moving = [i for i, item in enumerate(batch) if item.moves_address]
        results: dict[int, WriteResult] = {i: self._move(batch[i]) for i in moving}
        rest = [i for i in range(len(batch)) if i not in results]
        results.update(zip(rest, self._bulk([batch[i] for i in rest]), strict=True))
        return [results[i] for i in range(len(batch))]

    def _move(self, item: ContactWrite) -> WriteResult:
        """Edit one contact by id, its address included: the same contact, its tickets kept."""
        assert item.existing is not None
        contact_id = item.existing.id
        try:
            answer = self._call("POST", f"user/{contact_id}/", json=self._payload(item))
        except TargetError as exc:
            return WriteResult(item.email, False, contact_id, exc.message)
        if not isinstance(answer, dict) or str(answer.get("id", "")) != contact_id:
            return WriteResult(
                item.email,
                False,
                contact_id,
                f"HappyFox answered POST user/{contact_id}/ with something azsync cannot read: "
                f"{reprlib.repr(answer)}",
            )
        self._written(item, contact_id)
        return WriteResult(item.email, True, contact_id)

    def _bulk(self, batch: list[ContactWrite]) -> list[WriteResult]:
        if not batch:
            return []
        try:
            answer = self._call("POST", "users/", json=[self._payload(item) for item in batch])
        except TargetError as exc:
            return [WriteResult(item.email, False, error=exc.message) for item in batch]
        entries = answer if isinstance(answer, list) else [answer]
        by_email = {
            normal_email(str(e.get("email", ""))): e for e in entries if isinstance(e, dict)
        }
        results = []
        for index, item in enumerate(batch):
            entry = by_email.get(normal_email(item.email)) or (
                entries[index]
                if index < len(entries) and isinstance(entries[index], dict)
                else None
            )
            if entry is None:
                results.append(
                    WriteResult(item.email, False, error="HappyFox gave no result for this contact")
                )
            elif entry.get("success", True) and entry.get("id") is not None:
                results.append(WriteResult(item.email, True, str(entry["id"])))
                self._written(item, str(entry["id"]))
            else:
                reason = readable_errors(
                    entry.get("error") or entry.get("errors") or "refused without a reason",
                    self._field_names,
                )
                results.append(WriteResult(item.email, False, error=reason))
        return results

    def _written(self, item: ContactWrite, contact_id: str) -> None:
        """Keep the listing true to a write; new contacts are not kept (memory), only noted:
        asked for again, they are searched."""
        email = normal_email(item.email)
        if self._index is None:
            return
        if item.existing is None and email not in self._index:
            self._created.add([email])
            return
        custom = {**(item.existing.custom if item.existing else {}), **item.custom}
        phones = [Phone(p["type"], p["number"], p.get("id")) for p in _phones(item)]
        self._keep(ExistingContact(contact_id, email, item.name, phones, custom))

    def mark_synced(self, tenant_label: str, contact_ids: list[str]) -> None:
        # The custom-field mark went out with each contact's own write (``_payload``).
        if self.mark != "contact_group" or not contact_ids:
            return
        self.add_to_group(render(self.group_name, {"tenant": tenant_label}), contact_ids, False)

    # --- contact groups (targets.groups.ContactGroups) --------------------------------

    def add_to_group(self, name: str, contact_ids: list[str], access_tickets: bool) -> None:
        self._members(
            "update_contacts", self._group(name, create=True), contact_ids, access_tickets
        )

    def remove_from_group(self, name: str, contact_ids: list[str]) -> None:
        group_id = self._group(name, create=False)
        if group_id:
            self._members("delete_contacts", group_id, contact_ids, False)

    def _members(self, call: str, group_id: str, contact_ids: list[str], tickets: bool) -> None:
        # The bulk form: at most 100 contacts a call, through the same rate limiter.
        for start in range(0, len(contact_ids), self.max_batch):
            stop.check()
            chunk = contact_ids[start : start + self.max_batch]
            self._call(
                "POST",
                f"contact_group/{group_id}/{call}/",
                json=[{"contact": int(c), "access_tickets": tickets} for c in chunk],
            )

    def group_names(self) -> list[str]:
        with self._group_lock:
            self._load_groups()
            return sorted(self._groups)

    def _group(self, name: str, *, create: bool) -> str:
        with self._group_lock:  # workers mark in parallel: create the group once
            if name not in self._groups:
                self._load_groups()
            if name not in self._groups and create:
                self._groups[name] = self._shaped(
                    "POST contact_groups/",
                    lambda created: str(created["id"]),
                    self._call("POST", "contact_groups/", json={"name": name}),
                )
            return self._groups.get(name, "")

    def _load_groups(self) -> None:
        listed = self._shaped(
            "GET contact_groups/",
            lambda groups: _records(
                groups if isinstance(groups, list) else groups.get("data"), "the group list"
            ),
            self._call("GET", "contact_groups/"),
        )
        self._groups.update((str(g.get("name")), str(g.get("id"))) for g in listed)


def _listing(body: Any) -> tuple[list[ExistingContact], int]:
    """The contacts of one page of ``GET users/`` and the number of pages."""
    if not isinstance(body, dict):
        raise ValueError(f"a listing that is not an object: {reprlib.repr(body)}")
    contacts = [contact_from(raw) for raw in _records(body.get("data"), "data")]
    pages = (body.get("page_info") or {}).get("page_count") or 1
    if not str(pages).isdigit():
        raise ValueError(f"page_info.page_count is not a number: {reprlib.repr(pages)}")
    return contacts, int(pages)


def _phones(item: ContactWrite) -> list[dict[str, Any]]:
    """The phones of a write; an existing phone keeps its id exactly as HappyFox gave it."""
    current = item.existing.phones if item.existing else []
    by_number = {(p.type, p.number): p.id for p in current}
    by_type = {p.type: p.id for p in current}
    phones = []
    for index, phone in enumerate(item.phones):
        entry: dict[str, Any] = {
            "type": phone.type,
            "number": phone.number,
            "is_primary": index == 0,
        }
        phone_id = next(
            (
                known
                for known in (
                    phone.id,
                    by_number.get((phone.type, phone.number)),
                    by_type.get(phone.type),
                )
                if known is not None
            ),
            None,
        )
        if phone_id is not None:
            entry["id"] = phone_id
        phones.append(entry)
    return phones
