"""A simulated Zammad REST API (``/api/v1``), as a WSGI app: the demo's help desk, and the
base of the tests' fake (``tests/fakes/zammad.py``). It follows the Zammad API notes, not
azsync's client, and refuses what Zammad refuses:

- token auth (``Authorization: Token token=...``); 401 otherwise, 403 for a permission the
  token lacks (``admin.user``, ``admin.organization``, ``admin.object``);
- ``GET /users`` ordered by id, ``per_page`` capped at 1000 (older releases: 500), no total,
  the system user 1 listed; ``?expand=true`` adds role and organization names;
- user search is a substring match over first name, last name, email and login when
  Elasticsearch is off, ``email:"x"`` matches exactly when it is on, and a user written is
  searchable only ``index_lag`` seconds later;
- ``PUT`` changes only the keys sent, but ``role_ids``/``roles``, ``organization_ids``/
  ``organizations`` and ``group_ids`` replace the whole set; keys Zammad does not know are
  dropped silently;
- a duplicate email is a 422; an invalid email is a 422; names with one part blank are
  guessed again and single-case names capitalised; the login follows an email change;
  secondary organizations need a primary; a new user's address domain may assign an
  organization; the note is sanitised HTML, at most 5000 characters;
- custom attributes: length, integer range, dates in the past/future as each attribute
  allows, required values on the create and edit screens; values of a type Zammad cannot
  cast are dropped, and select keys are stored unchecked, as Zammad's model does;
- errors as ``{"error", "error_human"}``: 404, 422, 401, 403.

``python -m azsyncd.targets.zammad.simulator`` serves it on a free loopback port for the
demo (``demo.py``): the token on its stdin, the port on its stdout.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, unquote

from azsyncd.targets import simulated_process

API = "/api/v1/"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
NOTE_MAX = 5000
SECONDARY_MAX = 250
ALL_PERMISSIONS = frozenset({"admin.user", "admin.organization", "admin.object", "ticket.agent"})
# The columns of a user that writes may set; every other key sent is dropped.
USER_COLUMNS = [
    *("login", "firstname", "lastname", "email", "web", "phone", "fax", "mobile"),
    *("department", "street", "zip", "city", "country", "address", "vip", "verified"),
    *("active", "note", "organization_id", "out_of_office", "source"),
]
BOOLEAN_COLUMNS = {"vip", "verified", "active", "out_of_office"}
USER_PERMISSION = "admin.user"
SECONDARY_WITHOUT_PRIMARY = (
    "Secondary organizations are only allowed when the primary organization is given."
)
NO_IDENTIFIER = (
    "At least one identifier (firstname, lastname, phone, mobile or email) for user is required."
)
SEARCHED = ("firstname", "lastname", "email", "login")  # the columns a search without ES reads


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _text(maxlength: int, kind: str = "text") -> dict[str, Any]:
    return {"type": kind, "maxlength": maxlength}


def _tree(*branches: tuple[str, tuple[str, ...]]) -> list[dict[str, Any]]:
    """tree_select options: each node's value is its path, "Parent::Child"."""
    return [
        {
            "name": top,
            "value": top,
            "children": [{"name": leaf, "value": f"{top}::{leaf}"} for leaf in leaves],
        }
        if leaves
        else {"name": top, "value": top}
        for top, leaves in branches
    ]


# (name, display, data_type, data_option, editable, active): the User attributes a fresh
# Zammad lists (its seeds), built-in ones not editable; street, zip, city, country inactive.
Row = tuple[str, str, str, dict[str, Any], bool, bool]
BUILT_IN: list[Row] = [
    ("login", "Login", "input", _text(100), False, True),
    ("firstname", "First name", "input", _text(150), False, True),
    ("lastname", "Last name", "input", _text(150), False, True),
    ("email", "Email", "input", _text(150, "email"), False, True),
    ("web", "Web", "input", _text(250, "url"), False, True),
    ("phone", "Phone", "input", _text(100, "tel"), False, True),
    ("mobile", "Mobile", "input", _text(100, "tel"), False, True),
    ("fax", "Fax", "input", _text(100, "tel"), False, True),
    ("organization_id", "Organization", "autocompletion_ajax", {"relation": "Organization"},
     False, True),
    ("organization_ids", "Secondary organizations", "autocompletion_ajax",
     {"relation": "Organization", "multiple": True}, False, True),
    ("department", "Department", "input", _text(200), True, True),
    ("street", "Street", "input", _text(100), True, False),
    ("zip", "Zip", "input", _text(100), True, False),
    ("city", "City", "input", _text(100), True, False),
    ("country", "Country", "input", _text(100), True, False),
    ("address", "Address", "textarea", _text(500), True, True),
    ("password", "Password", "input", _text(1001, "password"), False, True),
    ("vip", "VIP", "boolean", {"default": False, "options": {"false": "no", "true": "yes"}},
     False, True),
    ("note", "Note", "richtext", _text(NOTE_MAX), False, True),
    ("role_ids", "Roles", "user_permission", {"relation": "Role"}, False, True),
    ("group_ids", "Group permissions", "group_permissions", {}, False, True),
    ("active", "Active", "active", {"default": True}, False, True),
]  # fmt: skip
# Custom attributes of every type the API notes list, as an admin would add them.
DEMO: list[Row] = [
    ("employee_id", "Employee ID", "integer", {"min": 1, "max": 999999}, True, True),
    ("office", "Office", "select",
     {"options": {"berlin": "Berlin", "london": "London", "remote": "Remote"}}, True, True),
    ("hire_date", "Hire date", "date", {"past": True, "future": False}, True, True),
    ("job_title", "Job title", "input", _text(60), True, True),
    ("profile", "Profile", "input", _text(250, "url"), True, True),
    ("bio", "Bio", "textarea", _text(500), True, True),
    ("newsletter", "Newsletter", "boolean",
     {"default": False, "options": {"true": "yes", "false": "no"}}, True, True),
    ("last_review", "Last review", "datetime", {"past": True, "future": True}, True, True),
    ("languages", "Languages", "multiselect",
     {"options": {"en": "English", "de": "German", "fr": "French"}}, True, True),
    ("site", "Site", "tree_select",
     {"options": _tree(("Europe", ("Berlin", "London")), ("Americas", ("New York",)))},
     True, True),
    ("skills", "Skills", "multi_tree_select",
     {"options": _tree(("IT", ("Network", "Windows")), ("Sales", ()))}, True, True),
    ("erp_account", "ERP account", "autocompletion_ajax_external_data_source",
     {"search_url": "https://erp.example/search?q=#{search.term}"}, True, True),
]  # fmt: skip


def attribute(
    name: str,
    display: str,
    data_type: str,
    data_option: dict[str, Any],
    editable: bool = True,
    active: bool = True,
    *,
    position: int = 5000,
    required_on: tuple[str, ...] = (),
    object_name: str = "User",
) -> dict[str, Any]:
    """An object attribute as ``GET /object_manager_attributes`` lists it; ``required_on``:
    the screens ("create", "edit") on which every role must give a value."""
    screens: dict[str, Any] = {
        screen: {"-all-": {"null": screen not in required_on}} for screen in ("create", "edit")
    }
    screens["view"] = {"-all-": {"shown": True}}
    return {
        "name": name,
        "display": display,
        "data_type": data_type,
        "data_option": {"null": True, **data_option},
        "editable": editable,
        "active": active,
        "screens": screens,
        "position": position,
        "object": object_name,
    }


def default_attributes(demo: bool = True) -> list[dict[str, Any]]:
    """Every object attribute listed: a ticket's and an organization's name (to be told
    apart), the User attributes of a fresh Zammad, and with ``demo`` custom ones."""
    rows = BUILT_IN + (DEMO if demo else [])
    return [
        attribute("title", "Title", "input", _text(200), False, object_name="Ticket"),
        attribute("name", "Name", "input", _text(150), False, object_name="Organization"),
        *(attribute(*row, position=100 * (n + 1)) for n, row in enumerate(rows)),
    ]


def humanize(name: str) -> str:
    """An attribute's name as Rails words it in an error ("employee_id" -> "Employee")."""
    words = name.removesuffix("_id").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def name_guess(string: str, email: str) -> tuple[str, str] | None:
    """Zammad's ``User.name_guess``: first and last name from one string or the address."""
    string = string.strip()
    if "," in string:
        parts = string.split(", ", 1)
        if len(parts) == 2 and (parts[0].strip() or parts[1].strip()):
            return parts[1].strip(), parts[0].strip()
    found = re.match(r"^(((Dr\.|Prof\.)\s|).+?)\s(.+?)$", string, re.IGNORECASE)
    if found and (found.group(1).strip() or found.group(4).strip()):
        return found.group(1).strip(), found.group(4).strip()
    if not string and email:
        scan = re.match(r"^(.+?)\.(.+?)@.+?$", email)
        if scan:
            return scan.group(1).strip(), scan.group(2).strip()
    return None


def _one_case(value: str) -> bool:
    """Zammad capitalises a name part of letters in one case only ("anna", "ANNA")."""
    return value.isalpha() and (value.islower() or value.isupper())


def _words(text: str) -> set[str]:
    """The tokens Elasticsearch's standard analyser makes of a text."""
    return {w for w in re.split(r"[^\w]+", text.lower()) if w}


def _as_int(value: Any) -> int | None:
    """What an integer column keeps of a value (Rails' cast: garbage becomes nil)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    return int(text) if re.fullmatch(r"[+-]?\d+", text) else None


def _as_bool(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    return str(value).strip().lower() not in ("false", "0", "f", "off", "")


def _as_date(value: Any) -> str | None:
    try:
        return date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError:
        return None


def _as_datetime(value: Any) -> str | None:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class SimulatedZammad:
    """A Zammad with an admin (user 2), the system user 1, roles Admin/Agent/Customer."""

    def __init__(
        self,
        token: str = "token",
        *,
        clock: Callable[[], float] = time.monotonic,
        per_page_max: int = 1000,
        elasticsearch: bool = False,
        index_lag: float = 0.0,
        attributes: list[dict[str, Any]] | None = None,
    ) -> None:
        self.token = token
        self.clock = clock
        self.per_page_max = per_page_max
        self.elasticsearch = elasticsearch
        self.index_lag = index_lag
        self.permissions = set(ALL_PERMISSIONS)
        self.user_email_multiple_use = False  # Zammad's setting; off by default
        self.attributes = default_attributes() if attributes is None else attributes
        self.roles: dict[int, dict[str, Any]] = {
            1: {"id": 1, "name": "Admin", "active": True, "default_at_signup": False},
            2: {"id": 2, "name": "Agent", "active": True, "default_at_signup": False},
            3: {"id": 3, "name": "Customer", "active": True, "default_at_signup": True},
        }
        self.users: dict[int, dict[str, Any]] = {}
        self.order: list[int] = []  # user ids by id, for pages
        self.by_email: dict[str, int] = {}
        self.by_login: dict[str, int] = {}
        self.indexed_at: dict[int, float] = {}  # when each user's last write is searchable
        self.organizations: dict[int, dict[str, Any]] = {}
        self.members: dict[int, set[int]] = {}  # organization id -> users with it as primary
        self.secondary: dict[int, set[int]] = {}  # organization id -> users with it secondary
        self.deleted: list[int] = []  # DELETE /users/{id} and data privacy tasks, by user id
        self._ids = 1
        self._org_ids = 1
        self.lock = threading.RLock()
        self._seed()

    # --- the seeded users -----------------------------------------------------------------

    def _seed(self) -> None:
        system = {"login": "-", "firstname": "-", "lastname": "", "email": "", "active": False}
        self._store(system, role_ids=[])
        admin = {"login": "admin@example.com", "email": "admin@example.com"}
        self._store({**admin, "firstname": "Ada", "lastname": "Admin"}, role_ids=[1, 2])

    def _store(self, values: dict[str, Any], role_ids: list[int]) -> dict[str, Any]:
        user_id = self._ids
        self._ids += 1
        user = self._blank(user_id)
        user.update(values)
        user["role_ids"] = role_ids
        self.users[user_id] = user
        self.order.append(user_id)
        self._index(user, None)
        return user

    def _blank(self, user_id: int) -> dict[str, Any]:
        stamp = _now_text()
        user: dict[str, Any] = {column: None for column in USER_COLUMNS}
        user.update(id=user_id, vip=False, verified=False, active=True, out_of_office=False)
        user.update(organization_id=None, organization_ids=[], role_ids=[], group_ids={})
        user.update(created_at=stamp, updated_at=stamp, preferences={}, login_failed=0)
        for attribute in self.user_attributes():
            if attribute["name"] not in user:
                user[attribute["name"]] = None
        return user

    def add_user(self, roles: list[str], **values: Any) -> dict[str, Any]:
        """A user someone made in Zammad (an agent, a customer), outside the API."""
        with self.lock:
            ids = [int(r["id"]) for r in self.roles.values() if r["name"] in roles]
            values = {"login": values.get("email", ""), **values}
            return self._store(values, role_ids=ids)

    def add_organization(self, name: str, **values: Any) -> dict[str, Any]:
        with self.lock:
            return self._organization({"name": name, **values})

    def user_attributes(self) -> list[dict[str, Any]]:
        return [a for a in self.attributes if a["object"] == "User"]

    # --- WSGI -----------------------------------------------------------------------------

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = unquote(environ.get("PATH_INFO", ""))
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        status, body, headers = self.respond(
            method, path, query, raw, environ.get("HTTP_AUTHORIZATION", "")
        )
        data = json.dumps(body).encode()
        headers += [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        start_response(f"{status} X", headers)
        return [data]

    def respond(
        self, method: str, path: str, query: dict[str, str], raw: bytes, auth: str
    ) -> tuple[int, Any, list[tuple[str, str]]]:
        if auth != f"Token token={self.token}":
            return 401, self._error("Authorization failed"), [("X-Failure", "invalid token")]
        if not path.startswith(API):
            return 404, self._error("No route matches"), []
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return 422, self._error("Unable to parse the request body as JSON"), []
        with self.lock:
            try:
                status, answer = self.route(method, path.removeprefix(API).rstrip("/"), query, body)
            except Refused as exc:
                return exc.status, self._error(exc.message), []
        return status, answer, []

    @staticmethod
    def _error(message: str) -> dict[str, str]:
        return {"error": message, "error_human": message}

    def _need(self, permission: str) -> None:
        if permission not in self.permissions:
            raise Refused(403, "Not authorized")

    def route(self, method: str, route: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        expand = query.get("expand") == "true"
        user = re.fullmatch(r"users/(\d+)", route)
        organization = re.fullmatch(r"organizations/(\d+)", route)
        if route == "users" and method == "GET":
            self._need(USER_PERMISSION)
            return 200, [self.view(u, expand) for u in self._page(self.order, self.users, query)]
        if route == "users/search" and method == "GET":
            self._need(USER_PERMISSION)
            return 200, [self.view(u, expand) for u in self.search(query)]
        if route == "users" and method == "POST":
            self._need(USER_PERMISSION)
            return 201, self.view(self.create_user(self._object(body)), expand)
        if user and method == "GET":
            self._need(USER_PERMISSION)
            return 200, self.view(self._user(int(user.group(1))), expand)
        if user and method == "PUT":
            self._need(USER_PERMISSION)
            return 200, self.view(self.update_user(int(user.group(1)), self._object(body)), expand)
        if user and method == "DELETE":
            self._need(USER_PERMISSION)
            self.deleted.append(int(user.group(1)))
            return 200, {}
        if route == "data_privacy_tasks" and method == "POST":
            self._need(USER_PERMISSION)
            self.deleted.append(int(self._object(body).get("deletable_id") or 0))
            return 201, {"id": len(self.deleted), "state": "in process"}
        if route == "roles" and method == "GET":
            return 200, list(self.roles.values())
        if route == "object_manager_attributes" and method == "GET":
            self._need("admin.object")
            return 200, [{"id": n + 1, **a} for n, a in enumerate(self.attributes)]
        if route == "organizations" and method == "GET":
            self._need("admin.organization")
            orgs = self._page(sorted(self.organizations), self.organizations, query)
            return 200, [self.org_view(o) for o in orgs]
        if route == "organizations" and method == "POST":
            self._need("admin.organization")
            return 201, self.org_view(self._organization(self._object(body)))
        if organization and method == "GET":
            self._need("admin.organization")
            found = self.organizations.get(int(organization.group(1)))
            if found is None:
                raise Refused(404, "Couldn't find Organization with 'id'=" + organization.group(1))
            return 200, self.org_view(found)
        raise Refused(404, f"No route matches [{method}] /api/v1/{route}")

    @staticmethod
    def _object(body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise Refused(422, "The request body is not an object")
        return body

    def _page(
        self, ids: list[int], table: dict[int, dict[str, Any]], query: dict[str, str]
    ) -> list[dict[str, Any]]:
        per_page = min(int(query.get("per_page") or query.get("limit") or 100), self.per_page_max)
        page = max(int(query.get("page") or 1), 1)
        return [table[i] for i in ids[(page - 1) * per_page : page * per_page]]

    def _user(self, user_id: int) -> dict[str, Any]:
        if user_id not in self.users:
            raise Refused(404, f"Couldn't find User with 'id'={user_id}")
        return self.users[user_id]

    # --- what an answer shows -------------------------------------------------------------

    def view(self, user: dict[str, Any], expand: bool = False) -> dict[str, Any]:
        shown = {k: v for k, v in user.items() if k != "password"}
        shown["organization_ids"] = list(user["organization_ids"])
        shown["role_ids"] = list(user["role_ids"])
        if expand:
            shown["roles"] = [self.roles[r]["name"] for r in user["role_ids"]]
            org = self.organizations.get(user["organization_id"] or 0)
            shown["organization"] = org["name"] if org else None
            shown["organizations"] = [
                self.organizations[o]["name"] for o in user["organization_ids"]
            ]
        return shown

    def org_view(self, org: dict[str, Any]) -> dict[str, Any]:
        return {
            **org,
            "member_ids": sorted(self.members.get(org["id"], ())),
            "secondary_member_ids": sorted(self.secondary.get(org["id"], ())),
        }

    # --- search ---------------------------------------------------------------------------

    def search(self, query: dict[str, str]) -> list[dict[str, Any]]:
        text = (query.get("query") or query.get("term") or "").strip()
        per_page = min(int(query.get("per_page") or query.get("limit") or 100), 500)
        page = max(int(query.get("page") or 1), 1)
        now = self.clock()
        found = []
        exact = re.fullmatch(r'email:"?([^"]+)"?', text)
        for user_id in self.order:
            if user_id == 1 or self.indexed_at.get(user_id, 0) > now:
                continue  # the system user is never indexed; a fresh write not yet
            user = self.users[user_id]
            if self.elasticsearch and exact:
                hit = (user["email"] or "") == exact.group(1).lower()
            elif self.elasticsearch:  # every word of the query in one of the fields' words
                fields = set().union(*(_words(str(user[k] or "")) for k in SEARCHED))
                hit = bool(_words(text)) and _words(text) <= fields
            else:  # SQL: LIKE '%query%' over four columns
                hit = bool(text) and any(
                    text.lower() in str(user[k] or "").lower() for k in SEARCHED
                )
            if hit:
                found.append(user)
        return found[(page - 1) * per_page : page * per_page]

    def _index(self, user: dict[str, Any], before: dict[str, Any] | None) -> None:
        if before is not None and before.get("email"):
            self.by_email.pop(before["email"], None)
        if before is not None and before.get("login"):
            self.by_login.pop(before["login"], None)
        if user.get("email"):
            self.by_email[user["email"]] = user["id"]
        if user.get("login"):
            self.by_login[user["login"]] = user["id"]
        self.indexed_at[user["id"]] = self.clock() + self.index_lag
        for table, key in ((self.members, "organization_id"), (self.secondary, "organization_ids")):
            old = before.get(key) if before else None
            new = user.get(key)
            for org in [old] if isinstance(old, int) else old or []:
                table.get(org, set()).discard(user["id"])
            for org in [new] if isinstance(new, int) else new or []:
                table.setdefault(org, set()).add(user["id"])

    # --- writes ---------------------------------------------------------------------------

    def create_user(self, body: dict[str, Any]) -> dict[str, Any]:
        user = self._blank(self._ids)
        self._apply(user, body, creating=True)
        self._ids += 1
        self.users[user["id"]] = user
        self.order.append(user["id"])
        self._index(user, None)
        return user

    def update_user(self, user_id: int, body: dict[str, Any]) -> dict[str, Any]:
        current = self._user(user_id)
        before = json.loads(json.dumps(current))
        user = json.loads(json.dumps(current))
        self._apply(user, body, creating=False, before=before)
        user["updated_at"] = _now_text()
        self.users[user_id] = user
        self._index(user, before)
        return user

    def _apply(
        self,
        user: dict[str, Any],
        body: dict[str, Any],
        *,
        creating: bool,
        before: dict[str, Any] | None = None,
    ) -> None:
        attributes = {a["name"]: a for a in self.user_attributes()}
        custom = {n for n, a in attributes.items() if a["editable"]}
        for key, value in body.items():
            if key in BOOLEAN_COLUMNS:
                user[key] = bool(_as_bool(value))
            elif key in USER_COLUMNS or key in custom:
                user[key] = self._cast(attributes.get(key), value)
        if "organization" in body:
            user["organization_id"] = self._org_named(body["organization"], "organization")
        self._roles(user, body, creating)
        self._organizations(user, body)
        self._names(user)
        self._email(user, before)
        self._login(user, before)
        if creating:
            self._domain(user)
        self._check(user, attributes, creating, before)

    def _cast(self, attribute: dict[str, Any] | None, value: Any) -> Any:
        kind = attribute["data_type"] if attribute else "input"
        if value is None:
            return None
        if kind == "integer":
            return _as_int(value)
        if kind == "boolean":
            return _as_bool(value)
        if kind == "date":
            return _as_date(value)
        if kind == "datetime":
            return _as_datetime(value)
        if kind in ("multiselect", "multi_tree_select"):
            return [str(v) for v in value] if isinstance(value, list) else [str(value)]
        if kind == "richtext":  # sanitised HTML: text comes back escaped, once
            return html.escape(html.unescape(str(value)), quote=False)
        if kind == "autocompletion_ajax_external_data_source":
            return value if isinstance(value, dict) else None
        if kind == "autocompletion_ajax":
            return _as_int(value)
        return value if isinstance(value, str) else json.dumps(value)

    def _roles(self, user: dict[str, Any], body: dict[str, Any], creating: bool) -> None:
        if "roles" in body:
            names = body["roles"] if isinstance(body["roles"], list) else [body["roles"]]
            ids = []
            for name in names:
                found = [r["id"] for r in self.roles.values() if r["name"] == name]
                if not found:
                    raise Refused(422, f"No lookup value found for 'roles': \"{name}\"")
                ids += found
            user["role_ids"] = ids
        elif "role_ids" in body:
            ids = [int(r) for r in body["role_ids"] or []]
            if any(r not in self.roles for r in ids):
                raise Refused(422, "Couldn't find Role with an 'id' of those given")
            user["role_ids"] = ids
        if creating and not user["role_ids"]:
            user["role_ids"] = [r["id"] for r in self.roles.values() if r["default_at_signup"]]

    def _org_named(self, name: Any, key: str) -> int | None:
        if name in (None, ""):
            return None
        found = [o["id"] for o in self.organizations.values() if o["name"] == name]
        if not found:
            raise Refused(422, f"No lookup value found for '{key}': \"{name}\"")
        return found[0]

    def _organizations(self, user: dict[str, Any], body: dict[str, Any]) -> None:
        if "organizations" in body:
            user["organization_ids"] = [
                self._org_named(n, "organizations") for n in body["organizations"] or []
            ]
        elif "organization_ids" in body:
            user["organization_ids"] = [int(o) for o in body["organization_ids"] or []]
        for org in [user["organization_id"], *user["organization_ids"]]:
            if org is not None and org not in self.organizations:
                raise Refused(422, f"Couldn't find Organization with 'id'={org}")
        if user["organization_ids"] and user["organization_id"] is None:
            raise Refused(422, SECONDARY_WITHOUT_PRIMARY)
        if len(user["organization_ids"]) > SECONDARY_MAX:
            raise Refused(422, "More than 250 secondary organizations are not allowed.")

    def _names(self, user: dict[str, Any]) -> None:
        first = (user["firstname"] or "").strip()
        last = (user["lastname"] or "").strip()
        if not (first and last):
            guessed = None
            if first or last:
                guessed = name_guess(first or last, user["email"] or "")
            elif user["email"]:
                guessed = name_guess("", user["email"])
            if guessed:
                first, last = guessed[0] or first, guessed[1] or last
            first = first.capitalize() if _one_case(first) else first
            last = last.capitalize() if _one_case(last) else last
        user["firstname"], user["lastname"] = first, last

    def _email(self, user: dict[str, Any], before: dict[str, Any] | None) -> None:
        email = (user["email"] or "").strip().lower()
        user["email"] = email
        if not email:
            return
        if not EMAIL.match(email):
            raise Refused(422, f"Invalid email '{email}'")
        changed = before is None or email != before.get("email")
        owner = self.by_email.get(email)
        if changed and owner is not None and not self.user_email_multiple_use:
            raise Refused(422, f"Email address '{email}' is already used for another user.")

    def _login(self, user: dict[str, Any], before: dict[str, Any] | None) -> None:
        login = user["login"] or ""
        if not login:
            login = user["email"] or ""
        moved = before is not None and user["email"] != before.get("email")
        if moved and before is not None and before.get("email") == before.get("login"):
            login = user["email"]  # the login was the old address: it follows
        if not login:
            login = f"auto-{user['id']}"
        base = login.lower().strip()
        for suffix in ["", *map(str, range(1, 21))]:
            owner = self.by_login.get(base + suffix)
            if owner is None or owner == user["id"]:
                user["login"] = base + suffix
                return
        raise Refused(422, f"Invalid user login generation for login {base}!")

    def _domain(self, user: dict[str, Any]) -> None:
        if user["organization_id"] is not None or not user["email"]:
            return
        domain = user["email"].rsplit("@", 1)[-1]
        for org in self.organizations.values():
            if org.get("domain_assignment") and (org.get("domain") or "").lower() == domain:
                user["organization_id"] = org["id"]
                return

    def _check(
        self,
        user: dict[str, Any],
        attributes: dict[str, dict[str, Any]],
        creating: bool,
        before: dict[str, Any] | None,
    ) -> None:
        named = any(user[k] for k in ("email", "firstname", "lastname", "phone", "mobile"))
        if not named and (not user["login"] or user["login"].startswith("auto-")):
            raise Refused(422, NO_IDENTIFIER)
        note = user.get("note") or ""
        if len(note) > NOTE_MAX:
            raise Refused(422, f"Note is too long (maximum is {NOTE_MAX} characters)")
        problems = []
        screen = "create" if creating else "edit"
        # Zammad checks every editable attribute's value, sent or stored, once any changes.
        changed = before is None or any(user.get(n) != before.get(n) for n in attributes)
        for name, attribute in attributes.items():
            if not attribute["active"]:
                continue
            value = user.get(name)
            roles = attribute["screens"].get(screen, {})
            required = any(
                rule.get("required") or rule.get("null") is False
                for role, rule in roles.items()
                if role in ("-all-", "admin.user")
            )
            if required and value in (None, "", []):
                raise Refused(422, f"Missing required value for field '{name}'!")
            if not changed or not attribute["editable"] or value in (None, "", []):
                continue
            problems += self._invalid(attribute, value)
        if problems:
            raise Refused(422, ", ".join(problems))

    @staticmethod
    def _invalid(attribute: dict[str, Any], value: Any) -> list[str]:
        option, kind, label = attribute["data_option"], attribute["data_type"], attribute["name"]
        found = []
        limit = option.get("maxlength")
        if kind in ("input", "textarea") and limit and len(str(value)) > limit:
            found.append(f"{humanize(label)} is longer than the allowed length {limit}")
        if kind == "integer":
            if option.get("min") is not None and value < option["min"]:
                found.append(
                    f"{humanize(label)} is smaller than the allowed minimum value of "
                    f"{option['min']}"
                )
            if option.get("max") is not None and value > option["max"]:
                found.append(
                    f"{humanize(label)} is larger than the allowed maximum value of {option['max']}"
                )
        if kind in ("date", "datetime"):
            moment = str(value)[:10]
            today = datetime.now(UTC).date().isoformat()
            if not option.get("past", True) and moment < today:
                found.append(f"{humanize(label)} does not allow past dates.")
            if not option.get("future", True) and moment > today:
                found.append(f"{humanize(label)} does not allow future dates.")
        return found

    def _organization(self, body: dict[str, Any]) -> dict[str, Any]:
        name = str(body.get("name") or "").strip()
        if not name:
            raise Refused(422, "Name can't be blank")
        if any(o["name"] == name for o in self.organizations.values()):
            raise Refused(422, "Object already exists!")  # the unique index on the name
        stamp = _now_text()
        org: dict[str, Any] = {"id": self._org_ids, "name": name, "note": body.get("note") or ""}
        for flag, default in (("shared", True), ("domain_assignment", False), ("active", True)):
            org[flag] = bool(body.get(flag, default))
        org.update(vip=bool(body.get("vip")), domain=body.get("domain") or "")
        org.update(created_at=stamp, updated_at=stamp)
        self.organizations[self._org_ids] = org
        self._org_ids += 1
        return org

    # --- what tests and the demo read -----------------------------------------------------

    def by_address(self, email: str) -> dict[str, Any] | None:
        user_id = self.by_email.get(email.lower())
        return self.users[user_id] if user_id is not None else None

    def org_id(self, name: str) -> int | None:
        return next((o["id"] for o in self.organizations.values() if o["name"] == name), None)


def main() -> None:
    """Serve a simulated Zammad whose token is the first line of stdin; the port goes to
    stdout first. It stops when stdin closes (``targets/simulated_process.py``)."""
    simulated_process.serve(SimulatedZammad(simulated_process.secret("token")))


if __name__ == "__main__":
    main()
