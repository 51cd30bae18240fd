"""Zammad as a target: Entra ID users become Zammad customers.

Traps handled here (see the Zammad API notes):
- a user search is a substring match without Elasticsearch (``a@b.com`` finds
  ``xa@b.com``) and lags behind writes with it, so users are found through an email-to-user
  map built from one listing of ``GET /users`` a run, kept compact (one JSON line a user);
  the only search, after Zammad says an address is taken, keeps exact matches only;
- ``role_ids``, ``group_ids`` and ``organization_ids`` replace the whole set when sent, so
  an update sends only the keys that changed, never roles or groups; organizations are
  sent only by the contact-group steps, after reading the user's current ones back;
- a duplicate email is a 422: the user made meanwhile is adopted if it is a customer;
- agents, admins (any user whose roles are not exactly the customer role) and the system
  user 1 are never written: their write fails with the reason;
- leavers are set ``active: false`` and back ``true``: never a delete, never a data privacy
  task.
"""

from __future__ import annotations

import html
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from azsyncd import stop
from azsyncd.config.model import Config
from azsyncd.errors import TargetError
from azsyncd.targets.base import ContactWrite, ExistingContact, Phone, WriteResult, normal_email
from azsyncd.targets.fields import FieldDef, FieldType, problem, short
from azsyncd.targets.zammad.api import NotFound, Refused, ZammadApi
from azsyncd.targets.zammad.attributes import fields_of
from azsyncd.targets.zammad.organizations import SECONDARY_MAX, Memberships, regroup

log = logging.getLogger(__name__)

SYSTEM_USER = 1
# Finding users: a search or a fetch costs a call a user, a listing a call per 1,000 users.
# Up to these many a run go one by one (an incremental tick's few changes); past them, every
# user is listed once.
SEARCH_LIMIT = 20
FETCH_LIMIT = 50
SEARCH_PAGE = 100
# Zammad's two phone columns, by the phone type codes of mapping.phones.
PHONE_COLUMNS = {"w": "phone", "mo": "mobile"}
NAME_FIELDS = ("firstname", "lastname")
# Kept of each listed user: what comparing and writing need.
KEPT = (
    *("id", "email", "login", "firstname", "lastname", "phone", "mobile", "active"),
    *("organization_id", "organization_ids", "roles", "role_ids", "updated_at"),
)
# Built-in fields when the token may not list attributes (no admin.object).
FALLBACK_ATTRIBUTES = [
    {"name": n, "object": "User", "data_type": t, "data_option": o, "editable": False}
    for n, t, o in (
        ("firstname", "input", {"type": "text", "maxlength": 150}),
        ("lastname", "input", {"type": "text", "maxlength": 150}),
        ("department", "input", {"type": "text", "maxlength": 200}),
        ("web", "input", {"type": "url", "maxlength": 250}),
        ("fax", "input", {"type": "tel", "maxlength": 100}),
        ("address", "textarea", {"type": "text", "maxlength": 500}),
        ("vip", "boolean", {}),
        ("note", "richtext", {"type": "text", "maxlength": 5000}),
    )
]


def split_name(name: str) -> tuple[str, str]:
    """First and last name from one: the last word is the last name. Both parts are sent
    filled whenever the name has two words, so Zammad does not guess them again."""
    words = name.split()
    if len(words) < 2:
        return (words[0] if words else ""), ""
    return " ".join(words[:-1]), words[-1]


def full_name(user: dict[str, Any]) -> str:
    return " ".join(f"{user.get('firstname') or ''} {user.get('lastname') or ''}".split())


class Zammad:
    max_batch = 10  # users a worker writes in a row; each is a call of its own

    def __init__(
        self,
        api: ZammadApi,
        *,
        customer_role: str = "Customer",
        config: Config | None = None,
        parallel: int = 4,
    ) -> None:
        self.api = api
        self.customer_role = customer_role
        self.parallel = parallel
        mapping = config.mapping if config is not None else None
        self.phone_types = [t for t in (mapping.phones if mapping else {}) if t in PHONE_COLUMNS]
        self.mapped = set(mapping.custom_fields) if mapping else set()
        self.names_mapped = False  # first and last name are fields of the mapping
        rules = config.contact_groups if config is not None else []
        self.rule_groups = list(dict.fromkeys(r.group for r in rules))
        self._fields: list[FieldDef] | None = None
        self._kept: dict[int, bytes] = {}  # user id -> the user as read, compact
        self._by_email: dict[str, int] = {}  # address -> user id, of the users kept
        self._listed = False  # every user is kept
        self._read_lock = threading.RLock()
        self._searched = 0  # addresses searched one by one this run
        self._fetched = 0  # users fetched one by one this run
        self._written: set[int] = set()  # users this run created or edited
        self._role_names: dict[int, str] | None = None
        self._orgs: dict[str, int] | None = None  # organization name -> id
        self._org_lock = threading.Lock()

    def close(self) -> None:
        self.api.close()

    # --- fields ---------------------------------------------------------------------------

    def fields(self) -> list[FieldDef]:
        try:
            listed = self.api.call("GET", "object_manager_attributes")
        except TargetError as exc:
            if "(403)" not in exc.message:
                raise
            log.warning(
                "Zammad does not let this token list attributes (%s); only the built-in "
                "fields can be mapped (fix: give the token admin.object)",
                exc.message,
            )
            listed = FALLBACK_ATTRIBUTES
        try:
            self._fields = fields_of(listed)
            self.names_mapped = any(
                f.id in NAME_FIELDS and f.name in self.mapped for f in self._fields
            )
        except ValueError as exc:
            raise TargetError(
                f"Zammad answered GET /api/v1/object_manager_attributes with something azsync "
                f"cannot read: {exc}",
                "check base_url and Zammad's version; the next sync retries",
            ) from None
        for f in self._fields:
            if f.type is FieldType.UNKNOWN:
                log.warning(
                    "Zammad attribute %r (%s): azsync keeps it as it is", f.name, f.raw_type
                )
        return list(self._fields)

    def _field_defs(self) -> list[FieldDef]:
        if self._fields is None:
            self.fields()
        assert self._fields is not None
        return self._fields

    # --- reading users --------------------------------------------------------------------

    def _roles(self, user: dict[str, Any]) -> list[str]:
        if isinstance(user.get("roles"), list):  # ?expand=true names them
            return [str(r) for r in user["roles"]]
        if self._role_names is None:
            listed = self.api.call("GET", "roles")
            self._role_names = {
                int(r["id"]): str(r.get("name")) for r in listed if isinstance(r, dict)
            }
        return [self._role_names.get(int(r), str(r)) for r in user.get("role_ids") or []]

    def manageable(self, user: dict[str, Any]) -> bool:
        """Only pure customers: never agents, admins, a user of other roles, or user 1."""
        if user.get("id") == SYSTEM_USER or user.get("login") == "-":
            return False
        return self._roles(user) == [self.customer_role]

    def _compact(self, user: dict[str, Any]) -> bytes:
        keys = [*KEPT, *(f.id for f in self._field_defs())]
        kept = {k: v for k in keys if (v := user.get(k)) not in (None, "", [])}
        kept["roles"] = self._roles(user)
        return json.dumps(kept, separators=(",", ":"), default=str).encode()

    def contact_of(self, user: dict[str, Any]) -> ExistingContact:
        phones = [
            Phone(kind, str(user[PHONE_COLUMNS[kind]]))
            for kind in self.phone_types
            if user.get(PHONE_COLUMNS[kind])
        ]
        custom = {f.id: _read(f, user.get(f.id)) for f in self._field_defs()}
        email = normal_email(str(user.get("email") or ""))
        return ExistingContact(str(user["id"]), email, full_name(user), phones, custom)

    # Users read this run: every one once listed, else those searched, fetched or written.
    # Each is kept as one compact JSON line, so a listing of 100,000 users stays small.

    def _list_all(self) -> None:
        with self._read_lock:
            if self._listed:
                return
            for page in self.api.pages("users", {"expand": "true"}):
                for user in page:
                    if not isinstance(user, dict) or not isinstance(user.get("id"), int):
                        raise TargetError(
                            f"Zammad listed a user azsync cannot read: {short(user, 80)}",
                            "check Zammad's version; the next sync retries",
                        )
                    self._keep(user)
            self._listed = True

    def _keep(self, user: dict[str, Any]) -> None:
        user_id = int(user["id"])
        compact = self._compact(user)
        with self._read_lock:  # writers keep the users they wrote, in parallel
            old = self._kept.get(user_id)
            if old is not None:
                was = normal_email(str(json.loads(old).get("email") or ""))
                if self._by_email.get(was) == user_id:
                    del self._by_email[was]  # the address moved: it is free now
            self._kept[user_id] = compact
            email = normal_email(str(user.get("email") or ""))
            if email:
                self._by_email[email] = user_id

    def _wrote(self, user: dict[str, Any]) -> None:
        """After a write: only the address -> id is remembered (a first sync's 100,000 new
        users in memory would be its largest cost); asked for again, the user is read."""
        user_id = int(user["id"])
        with self._read_lock:
            old = self._kept.pop(user_id, None)
            if old is not None:
                was = normal_email(str(json.loads(old).get("email") or ""))
                if self._by_email.get(was) == user_id:
                    del self._by_email[was]
            email = normal_email(str(user.get("email") or ""))
            if email:
                self._by_email[email] = user_id
            self._written.add(user_id)

    def _kept_user(self, user_id: int) -> dict[str, Any] | None:
        kept = self._kept.get(user_id)
        return json.loads(kept) if kept is not None else None

    def find_by_email(self, emails: Iterable[str]) -> dict[str, ExistingContact]:
        wanted = {normal_email(e) for e in emails} - {""}
        unknown = [e for e in wanted if e not in self._by_email]
        if unknown and not self._listed:
            if self._searched + len(unknown) > SEARCH_LIMIT:
                self._list_all()
            else:
                self._searched += len(unknown)
                for email in unknown:
                    self._search(email)
        found = {}
        for email in wanted:
            user_id = self._by_email.get(email, 0)
            user = self._kept_user(user_id) or (self._fetch(user_id) if user_id else None)
            if user is not None and normal_email(str(user.get("email") or "")) == email:
                found[email] = self.contact_of(user)
        return found

    def _search(self, email: str) -> dict[str, Any] | None:
        """The user holding ``email``, by a search kept to exact matches: without
        Elasticsearch a search is a substring match (``a@b.com`` finds ``xa@b.com``), with it
        a match of words. A full page without the address lists every user instead."""
        found = self.api.call(
            "GET",
            "users/search",
            params={"query": email, "per_page": SEARCH_PAGE, "expand": "true"},
        )
        listed = found if isinstance(found, list) else []
        for user in listed:
            readable = isinstance(user, dict) and isinstance(user.get("id"), int)
            if readable and normal_email(str(user.get("email") or "")) == email:
                self._keep(user)
                return dict(user)
        if len(listed) >= SEARCH_PAGE:
            self._list_all()
            return self._kept_user(self._by_email.get(email, 0))
        return None

    def find_by_id(self, ids: Iterable[str]) -> dict[str, ExistingContact]:
        """Read now, one by one, unless every user was listed in this run (then as listed,
        with this run's writes): an id Zammad no longer has is left out."""
        wanted = {int(i) for i in ids if str(i).isdigit()}
        users: dict[int, dict[str, Any] | None] = {}
        if not self._listed and self._fetched + len(wanted) > FETCH_LIMIT:
            self._list_all()
        if self._listed:  # as listed; a user written since is read again
            users = {
                i: self._kept_user(i) or (self._fetch(i) if i in self._written else None)
                for i in wanted
            }
        else:
            self._fetched += len(wanted)
            users = {i: self._fetch(i) for i in wanted}
        return {str(i): self.contact_of(user) for i, user in users.items() if user is not None}

    def _fetch(self, user_id: int) -> dict[str, Any] | None:
        try:
            user = _user(self.api.call("GET", f"users/{user_id}", params={"expand": "true"}))
        except NotFound:
            return None
        self._keep(user)
        return user

    def iter_contacts(self, updated_since: datetime | None = None) -> Iterator[ExistingContact]:
        for page in self.api.pages("users", {"expand": "true"}):
            for user in page:
                if not isinstance(user, dict) or not self.manageable(user):
                    continue
                if updated_since is not None and _moment(user.get("updated_at")) < updated_since:
                    continue
                yield self.contact_of(user)

    # --- writing users --------------------------------------------------------------------

    def write(self, batch: list[ContactWrite]) -> list[WriteResult]:
        results = []
        for item in batch:
            stop.check()
            try:
                results.append(self._write_one(item))
            except TargetError as exc:
                results.append(WriteResult(item.email, False, _id(item), exc.message))
        return results

    def _write_one(self, item: ContactWrite) -> WriteResult:
        self._check_values(item)
        if item.existing is None:
            return self._create(item)
        user_id = int(item.existing.id)
        known = self._kept_user(user_id) or self._fetch(user_id)  # as found, else read now
        if known is None:
            raise TargetError(
                f"Zammad user {user_id} ({item.existing.email}) is gone (deleted in Zammad)",
                "azsync binds the Entra ID user afresh at the next sync",
            )
        return self._update(item, known)

    def _check_values(self, item: ContactWrite) -> None:
        """The values of a write against the fields' types and Zammad's limits: a value
        Zammad would drop or refuse fails here, naming the field."""
        by_id = {f.id: f for f in self._field_defs()}
        reasons = []
        for field_id, value in item.custom.items():
            field = by_id.get(field_id)
            if field is None:
                reasons.append(f"{field_id}: Zammad has no such user attribute (any more)")
            elif reason := problem(field, value):
                reasons.append(reason)
        if item.existing is None:
            reasons += [
                f"{f.name}: this field is required"
                for f in by_id.values()
                if f.required and item.custom.get(f.id) in (None, "", [])
            ]
        if reasons:
            raise TargetError("; ".join(reasons))

    def _create(self, item: ContactWrite) -> WriteResult:
        payload: dict[str, Any] = {"email": item.email, "roles": [self.customer_role]}
        payload.update(self._names(item, None))
        for kind, number in self._phones(item).items():
            if number:
                payload[PHONE_COLUMNS[kind]] = number
        payload.update(self._custom(item.custom, creating=True))
        payload["active"] = item.login_enabled is not False
        try:
            user = self.api.call("POST", "users", params={"expand": "true"}, json=payload)
        except Refused as exc:
            if "already used" not in exc.message:
                raise
            return self._adopt(item, exc)
        self._wrote(_user(user))
        return WriteResult(item.email, True, str(user["id"]))

    def _adopt(self, item: ContactWrite, refusal: TargetError) -> WriteResult:
        """Zammad says the address is taken: by a user made since azsync looked (azsync
        found none). Take it as ``find_by_email`` would have given it, if it is a customer."""
        found = self._search(normal_email(item.email))
        if found is None:
            raise TargetError(
                f"{refusal.message}, but Zammad's search does not show that user yet",
                "the next sync finds the user and adopts it",
            )
        return self._update(item, found)

    def _update(self, item: ContactWrite, known: dict[str, Any]) -> WriteResult:
        user_id = int(known["id"])
        if "roles" not in known and "role_ids" not in known:
            known = _user(self.api.call("GET", f"users/{user_id}", params={"expand": "true"}))
        if not self.manageable(known):
            roles = ", ".join(self._roles(known)) or "no role"
            raise TargetError(
                f"Zammad user {user_id} ({item.email}) is not a customer (roles: {roles}); "
                "azsync never changes agents, admins or the system user",
            )
        current = self.contact_of(known)
        payload: dict[str, Any] = {}
        if normal_email(item.email) != current.email:
            payload["email"] = item.email  # the address changed: the same user keeps it
        payload.update(self._names(item, current))
        have = {p.type: p.number for p in current.phones}
        for kind, number in self._phones(item).items():
            if number != have.get(kind, ""):
                payload[PHONE_COLUMNS[kind]] = number
        payload.update(self._custom(item.custom, creating=False))
        if item.login_enabled is not None and bool(known.get("active", True)) != (
            item.login_enabled
        ):
            payload["active"] = item.login_enabled
        if not payload:
            return WriteResult(item.email, True, str(user_id))
        try:
            user = self.api.call("PUT", f"users/{user_id}", params={"expand": "true"}, json=payload)
        except NotFound:
            raise TargetError(
                f"Zammad user {user_id} ({item.email}) is gone (deleted in Zammad)",
                "the next sync creates the user again",
            ) from None
        self._wrote(_user(user))
        return WriteResult(item.email, True, str(user_id))

    def _names(self, item: ContactWrite, current: ExistingContact | None) -> dict[str, str]:
        if self.names_mapped:
            return {}  # firstname and lastname are fields of the mapping
        if current is not None and " ".join(item.name.split()) == current.name:
            return {}
        first, last = split_name(item.name)
        return {"firstname": first, "lastname": last}

    def _phones(self, item: ContactWrite) -> dict[str, str]:
        given = {p.type: p.number for p in item.phones}
        return {kind: given.get(kind, "") for kind in self.phone_types}

    def _custom(self, values: dict[str, Any], *, creating: bool) -> dict[str, Any]:
        by_id = {f.id: f for f in self._field_defs()}
        out = {}
        for field_id, value in values.items():
            field = by_id.get(field_id)
            if field is None:
                raise TargetError(
                    f"{field_id}: Zammad has no such user attribute (any more)",
                    "check [mapping.custom_fields] against Zammad's Admin > Objects > User",
                )
            if value is None and creating:
                continue
            out[field_id] = _written(field, value)
        return out

    def mark_synced(self, tenant_label: str, contact_ids: list[str]) -> None:
        """Zammad has no customer groups to mark with: azsync's own mirror knows them."""

    # --- organizations (targets.groups.ContactGroups) -------------------------------------

    def group_names(self) -> list[str]:
        with self._org_lock:
            return sorted(self._organizations())

    def _organizations(self) -> dict[str, int]:
        if self._orgs is None:
            orgs: dict[str, int] = {}
            for page in self.api.pages("organizations"):
                for org in page:
                    if isinstance(org, dict) and "id" in org:
                        orgs[str(org.get("name"))] = int(org["id"])
            self._orgs = orgs
        return self._orgs

    def _organization(self, name: str, *, shared: bool | None) -> int | None:
        """The organization's id; created once (``shared``: its customers see each other's
        tickets) unless ``shared`` is None."""
        with self._org_lock:
            orgs = self._organizations()
            if name in orgs or shared is None:
                return orgs.get(name)
            try:
                org = self.api.call(
                    "POST", "organizations", json={"name": name, "shared": shared, "active": True}
                )
            except Refused:  # made meanwhile by someone else: read the list again
                self._orgs = None
                return self._organizations().get(name)
            orgs[name] = int(org["id"])
            return orgs[name]

    def add_to_group(self, name: str, contact_ids: list[str], access_tickets: bool) -> None:
        org = self._organization(name, shared=access_tickets)
        assert org is not None
        self._each(contact_ids, lambda user_id: self._move(user_id, add=org))

    def remove_from_group(self, name: str, contact_ids: list[str]) -> None:
        org = self._organization(name, shared=None)
        if org is not None:
            self._each(contact_ids, lambda user_id: self._move(user_id, remove=org))

    def _each(self, contact_ids: list[str], move: Callable[[str], None]) -> None:
        if self.parallel <= 1 or len(contact_ids) < 2:
            for user_id in contact_ids:
                move(user_id)
            return
        with ThreadPoolExecutor(self.parallel, thread_name_prefix="zammad-org") as pool:
            for done in [pool.submit(stop.carry(move), i) for i in contact_ids]:
                done.result()

    def _move(self, user_id: str, *, add: int | None = None, remove: int | None = None) -> None:
        try:
            user = _user(self.api.call("GET", f"users/{user_id}", params={"expand": "true"}))
        except NotFound:
            log.warning("Zammad user %s is gone; its organizations are not changed", user_id)
            return
        if not self.manageable(user):
            log.warning("Zammad user %s is not a customer; its organizations stay", user_id)
            return
        current = Memberships(
            user.get("organization_id"), tuple(user.get("organization_ids") or ())
        )
        with self._org_lock:
            orgs = self._organizations()
            ranked = [orgs[g] for g in self.rule_groups if g in orgs]
        after = regroup(current, ranked, add=add, remove=remove)
        if after.primary == current.primary and set(after.secondary) == set(current.secondary):
            return
        if len(after.secondary) > SECONDARY_MAX:
            raise TargetError(
                f"Zammad user {user_id} would be in more than {SECONDARY_MAX} secondary "
                "organizations, which Zammad refuses",
                "fewer [[contact_groups]] rules that match one user",
            )
        # Both together: organization_ids replaces the set, read back just now.
        self.api.call(
            "PUT",
            f"users/{user_id}",
            json={"organization_id": after.primary, "organization_ids": list(after.secondary)},
        )


def _user(answer: Any) -> dict[str, Any]:
    if not isinstance(answer, dict) or "id" not in answer:
        raise TargetError(
            f"Zammad answered with something that is not a user: {short(answer, 80)}",
            "check Zammad's version; the next sync retries",
        )
    return answer


def _id(item: ContactWrite) -> str:
    return item.existing.id if item.existing is not None else ""


def _moment(value: Any) -> datetime:
    """A time Zammad gives; an unreadable one counts as the latest (listed, not skipped)."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _read(field: FieldDef, value: Any) -> Any:
    """A value as Zammad gives it, in azsync's form for the field's type."""
    if value in (None, "", []):
        return None
    if field.type is FieldType.DATETIME:
        moment = _moment(value)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if field.type is FieldType.MULTI_SELECT:
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]
    if field.type is FieldType.DROPDOWN:
        return str(value)
    if field.type is FieldType.TEXT and isinstance(value, str):
        return html.unescape(value) if field.id == "note" else value
    return value


def _written(field: FieldDef, value: Any) -> Any:
    """A value in azsync's form, as Zammad takes it (an integer column takes integers)."""
    if field.type is FieldType.NUMBER and isinstance(value, float) and value.is_integer():
        return int(value)
    return value
