"""HappyFox's REST API as a target.

Traps handled here (see the HappyFox API notes):
- an edit resets every custom field it leaves out, so updates carry all current values;
- going over 500 GET / 300 POST a minute locks the account with 429s for ten minutes, so a
  shared limiter keeps under the limits and a 429 pauses every call until the lock ends;
- an ``error`` body on a 2xx answer is a failure.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from azsyncd.errors import TargetError
from azsyncd.targets.base import ContactWrite, ExistingContact, Phone, WriteResult, normal_email
from azsyncd.targets.fields import FIELD_TYPES, Choice, FieldDef, FieldType, field_type
from azsyncd.targets.ratelimit import RateLimiter

log = logging.getLogger(__name__)

GET_LIMIT, POST_LIMIT = 500, 300
MAX_LOCKS = 6
# Finding contacts: a search costs a GET per address, a listing a GET per 50 contacts. Up to
# SEARCH_LIMIT addresses are searched; past it, every contact is listed once this run's
# searches would reach half the listing's cost, since more lookups usually follow (at most
# twice the cheapest). A few dozen changes in a 100,000-contact account search a few dozen
# addresses instead of listing 2,000 pages; a full sync lists once.
SEARCH_LIMIT = 20
PAGE = 50


class _Transient(Exception):
    """A 5xx or a timeout: worth another try after a pause."""


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


def field_from(raw: dict[str, Any]) -> FieldDef:
    raw_type = str(raw.get("type", ""))
    choices = tuple(Choice(str(c["id"]), str(c.get("text", ""))) for c in raw.get("choices") or [])
    return FieldDef(
        id=str(raw["id"]),
        name=str(raw.get("name", raw["id"])),
        type=field_type(raw_type),
        required=bool(raw.get("required")),
        choices=choices,
        raw_type=raw_type,
    )


def contact_from(raw: dict[str, Any]) -> ExistingContact:
    custom: dict[str, Any] = {}
    for item in raw.get("custom_fields") or []:
        # A choice field's value_id is the choice id that writes expect back.
        value = (
            item.get("value_id") if item.get("value_id") not in (None, "") else item.get("value")
        )
        custom[str(item["id"])] = value
    phones = [
        Phone(
            str(p.get("type", "o")),
            str(p.get("number", "")),
            str(p["id"]) if p.get("id") is not None else None,
        )
        for p in raw.get("phones") or []
    ]
    return ExistingContact(
        id=str(raw["id"]),
        email=normal_email(raw.get("email") or ""),
        name=raw.get("name") or "",
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


class HappyFox:
    max_batch = 100

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
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        timeout: float = 30.0,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/api/1.1/json/",
            auth=(api_key, auth_code),
            transport=transport,
            timeout=timeout,
            headers={"Accept": "application/json", "User-Agent": "azsync"},
        )
        self.limiter = limiter
        self.lock_seconds = lock_minutes * 60
        self.group_name = group_name
        self.mark = mark
        self._sleep = sleep or limiter.sleep
        self.on_wait = on_wait or (lambda message: log.warning("%s", message))
        self._field_names: dict[str, str] = {}
        self._field_ids: list[str] | None = None
        self._choice_fields: set[str] = set()
        self._groups: dict[str, str] = {}
        self._group_lock = threading.Lock()
        self._index: dict[str, ExistingContact] | None = (
            None  # every contact, once listed in this run
        )
        self._searched = 0  # addresses searched one by one in this run
        self._pages: int | None = None  # pages of the contact list, once asked

    def close(self) -> None:
        self._http.close()

    # --- calls -------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        retrying = Retrying(
            stop=stop_after_attempt(5),
            wait=wait_exponential_jitter(initial=1, max=60),
            retry=retry_if_exception_type(_Transient),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._call_once(method, path, **kwargs)
        except _Transient as exc:
            raise TargetError(
                f"HappyFox did not answer {method} {path} after 5 tries: {exc}",
                "check HappyFox's status page and the network; the next sync retries",
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _call_once(self, method: str, path: str, **kwargs: Any) -> Any:
        kind = "GET" if method == "GET" else "POST"
        for _ in range(MAX_LOCKS + 1):
            self.limiter.acquire(kind)
            try:
                response = self._http.request(method, path, **kwargs)
            except (httpx.TimeoutException, httpx.NetworkError) as exc:
                raise _Transient(f"{type(exc).__name__}") from None
            if response.status_code != 429:
                return self._answer(method, path, response)
            self.limiter.lock_for(self.lock_seconds)
            self.on_wait(
                f"HappyFox answered 429 (rate limit): pausing all calls for "
                f"{self.lock_seconds / 60:.0f} min, then resuming"
            )
        raise TargetError(
            "HappyFox kept answering 429 for an hour",
            "another integration may be using the same account's rate limit; try again later",
        )

    def _answer(self, method: str, path: str, response: httpx.Response) -> Any:
        status = response.status_code
        if status >= 500:
            raise _Transient(f"HTTP {status}")
        if status == 401:
            raise TargetError(
                "HappyFox refused the API key and auth code (401)",
                "check api_key_file and auth_code_file (Manage > Integrations > API in HappyFox)",
            )
        try:
            body = response.json()
        except ValueError:
            raise TargetError(
                f"HappyFox answered {method} {path} with HTTP {status} and no JSON",
                "check base_url: it should be https://<account>.happyfox.com",
            ) from None
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

    def fields(self) -> list[FieldDef]:
        defs = [field_from(raw) for raw in self._call("GET", "user_custom_fields/")]
        self._field_names = {f.id: f.name for f in defs}
        self._field_ids = [f.id for f in defs]
        self._choice_fields = {f.id for f in defs if FIELD_TYPES[f.type].choices}
        for f in defs:
            if f.type is FieldType.UNKNOWN:
                log.warning(
                    "HappyFox custom field %r has a type we do not know (%r); it is kept as it is",
                    f.name,
                    f.raw_type,
                )
        return defs

    def iter_contacts(self, updated_since: datetime | None = None) -> Iterator[ExistingContact]:
        params: dict[str, Any] = {"size": PAGE}
        if updated_since is not None:
            params["q"] = f"updated_since:{updated_since.strftime('%Y-%m-%d')}"
        return self._listed(params, self._call("GET", "users/", params={**params, "page": 1}))

    def _listed(self, params: dict[str, Any], first: Any) -> Iterator[ExistingContact]:
        body, page = first, 1
        while True:
            for raw in body.get("data") or []:
                yield contact_from(raw)
            if page >= _page_count(body):
                return
            page += 1
            body = self._call("GET", "users/", params={**params, "page": page})

    def find_by_email(self, emails: Iterable[str]) -> dict[str, ExistingContact]:
        wanted = {normal_email(e) for e in emails}
        if self._index is None and self._searched + len(wanted) > SEARCH_LIMIT:
            self._list_if_cheaper(len(wanted))
        if self._index is not None:
            return {email: self._index[email] for email in wanted if email in self._index}
        self._searched += len(wanted)
        found = {}
        for email in wanted:
            body = self._call("GET", "users/", params={"q": f"email:{email}", "size": 50})
            for raw in body.get("data") or []:
                contact = contact_from(raw)
                if contact.email == email:
                    found[email] = contact
        return found

    def _list_if_cheaper(self, more: int) -> None:
        params = {"size": PAGE}
        first = None
        if self._pages is None:
            first = self._call("GET", "users/", params={**params, "page": 1})
            self._pages = _page_count(first)
        if self._pages <= 2 * (self._searched + more):
            if first is None:
                first = self._call("GET", "users/", params={**params, "page": 1})
            self._index = {c.email: c for c in self._listed(params, first)}

    def _payload(self, item: ContactWrite) -> dict[str, Any]:
        if self._field_ids is None:
            self.fields()
        payload: dict[str, Any] = {"name": item.name, "email": item.email}
        existing_phones = {
            (p.type, p.number): p.id for p in (item.existing.phones if item.existing else [])
        }
        by_type = {p.type: p.id for p in (item.existing.phones if item.existing else [])}
        phones = []
        for index, phone in enumerate(item.phones):
            entry: dict[str, Any] = {
                "type": phone.type,
                "number": phone.number,
                "is_primary": index == 0,
            }
            phone_id = (
                phone.id
                or existing_phones.get((phone.type, phone.number))
                or by_type.get(phone.type)
            )
            if phone_id:
                entry["id"] = phone_id
            phones.append(entry)
        payload["phones"] = phones
        # Every custom field goes out: one left out would be reset by HappyFox.
        values = dict(item.existing.custom) if item.existing else {}
        values.update(item.custom)
        for field_id, value in values.items():
            if value is not None and (item.existing is not None or field_id in item.custom):
                payload[f"c-cf-{field_id}"] = (
                    _choice_ids(value) if field_id in self._choice_fields else value
                )
        if item.existing is None:
            payload["is_login_enabled"] = "TRUE"
        return payload

    def write(self, batch: list[ContactWrite]) -> list[WriteResult]:
        if len(batch) > self.max_batch:
            raise ValueError(f"HappyFox takes at most {self.max_batch} contacts a call")
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
                if self._index is not None and normal_email(item.email) in self._index:
                    # Keep the listing true to what HappyFox now holds; new contacts are never
                    # asked for again in this run, so they are not kept (memory).
                    custom = {**(item.existing.custom if item.existing else {}), **item.custom}
                    self._index[normal_email(item.email)] = ExistingContact(
                        str(entry["id"]),
                        normal_email(item.email),
                        item.name,
                        list(item.phones),
                        custom,
                    )
            else:
                reason = readable_errors(
                    entry.get("error") or entry.get("errors") or "refused without a reason",
                    self._field_names,
                )
                results.append(WriteResult(item.email, False, error=reason))
        return results

    def mark_synced(self, tenant_label: str, contact_ids: list[str]) -> None:
        if self.mark == "none" or not contact_ids:
            return
        group_id = self._group(self.group_name.format(tenant=tenant_label))
        for start in range(0, len(contact_ids), 100):
            chunk = contact_ids[start : start + 100]
            self._call(
                "POST",
                f"contact_group/{group_id}/update_contacts/",
                json=[{"contact": int(c), "access_tickets": False} for c in chunk],
            )

    def _group(self, name: str) -> str:
        with self._group_lock:  # workers mark in parallel: create the group once
            return self._find_or_create_group(name)

    def _find_or_create_group(self, name: str) -> str:
        if name not in self._groups:
            groups = self._call("GET", "contact_groups/")
            for group in groups if isinstance(groups, list) else groups.get("data", []):
                self._groups[str(group.get("name"))] = str(group["id"])
        if name not in self._groups:
            created = self._call("POST", "contact_groups/", json={"name": name})
            self._groups[name] = str(created["id"])
        return self._groups[name]
