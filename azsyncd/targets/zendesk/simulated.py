"""A simulated Zendesk Support API v2 account for the demo (``azsyncd demo --target zendesk``):
the users, jobs, organizations and rate limits as Zendesk's API documentation describes them,
as a WSGI app. The test fake (``tests/fakes/zendesk.py``) builds on it, adding faults.

Modelled (the sheet's traps first):
- bulk ``create_or_update_many``, ``update_many`` (by id: never a new user) and
  ``organization_memberships/create_many``: at most 100
  rows, answered with a queued job that runs in the background on a few workers, taking
  time per row; its rows land one by one, results keep request order, a failed row says why
  (its ``id`` is the row's index, not a user id), jobs expire (404) after ``job_ttl``
  seconds and only the last 100 are kept; at most 30 jobs queued or running (429);
- bulk user imports (and, it is assumed, bulk updates) refused with 403 until ``bulk_enabled``;
- ``GET /users``: cursor pages (``page[size]`` up to 100, ``meta``/``links``), offset pages
  failing with 400 past the first 10,000 records; ``/users/search`` fuzzy (a partial value
  matches), offset only, at most 10,000 results, new users found only ``search_lag``
  seconds after they were made;
- secondary emails are identities: a PUT of ``email`` makes the new address primary and
  keeps the old one as a secondary identity; ``create_or_update`` given an existing user's
  other address adds it as a secondary identity and leaves the primary as it was;
- ``create_or_update`` matches ``external_id`` case-insensitively first (and stores the case
  given), then any email identity; an address held by another user is a 422;
- per-account rate limit per calendar minute (the plan's), ``X-Rate-Limit`` and
  ``X-Rate-Limit-Remaining`` on every answer, 429 with ``Retry-After`` beyond it;
- user fields of every type the sheet lists, each value checked (422 / a failed row);
- organizations with unique names (422), memberships (422 when already a member; one a user
  unless ``multiple_organizations``); a deleted user stays, inactive, without identities;
- ``suspended`` writable; deletes allowed (and counted: azsync must never make one);
- agents and admins are users too: a write that reaches one is counted in ``staff_writes``.
"""

from __future__ import annotations

import base64
import heapq
import itertools
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any
from urllib.parse import parse_qs

from azsyncd.targets import simulated_process

API = "/api/v2/"
MAX_BULK = 100
JOB_LIMIT = 30  # queued or running jobs an account may have
JOBS_KEPT = 100  # job statuses Zendesk keeps
OFFSET_LIMIT = 10_000  # records offset pagination reaches
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# The user fields of the fake account, one of every type the sheet lists.
USER_FIELDS: list[dict[str, Any]] = [
    {"key": "department", "title": "Department", "type": "text"},
    {"key": "notes_long", "title": "Notes", "type": "textarea"},
    {"key": "vip", "title": "VIP", "type": "checkbox"},
    {"key": "hire_date", "title": "Hire date", "type": "date"},
    {"key": "employee_number", "title": "Employee number", "type": "integer"},
    {"key": "cost_share", "title": "Cost share", "type": "decimal"},
    {
        "key": "badge",
        "title": "Badge",
        "type": "regexp",
        "regexp_for_validation": r"^B-\d{4}$",
    },
    {
        "key": "office",
        "title": "Office",
        "type": "dropdown",
        "custom_field_options": [
            {"name": "Berlin", "value": "office_berlin"},
            {"name": "London", "value": "office_london"},
            {"name": "Remote", "value": "office_remote"},
        ],
    },
    {"key": "manager", "title": "Manager", "type": "lookup"},
    {
        "key": "languages",
        "title": "Languages",
        "type": "multiselect",
        "custom_field_options": [
            {"name": "English", "value": "lang_en"},
            {"name": "German", "value": "lang_de"},
            {"name": "French", "value": "lang_fr"},
        ],
    },
    {"key": "retired", "title": "Retired field", "type": "text", "active": False},
]
TIME_ZONES = [
    ("Berlin", "Europe/Berlin", 60),
    ("London", "Europe/London", 0),
    ("Eastern Time (US & Canada)", "America/New_York", -300),
    ("Tokyo", "Asia/Tokyo", 540),
    ("UTC", "Etc/UTC", 0),
]
LOCALES = [(1, "en-US", "English"), (8, "de", "Deutsch"), (16, "fr", "Français")]


class Job:
    def __init__(self, job_id: str, kind: str, rows: list[Any], created: float) -> None:
        self.id, self.kind, self.rows, self.created = job_id, kind, rows, created
        self.start = self.end = created
        self.results: list[dict[str, Any] | None] = [None] * len(rows)
        self.done = 0
        self.failed = ""  # the whole job failed, with this message


class SimulatedZendesk:
    def __init__(
        self,
        clock: Callable[[], float],
        *,
        email: str = "admin@acme.example",
        token: str = "token",
        per_minute: int = 400,
        bulk_enabled: bool = True,
        job_workers: int = 2,
        job_setup: float = 0.5,
        job_row: float = 0.01,
        job_ttl: float = 3600.0,
        search_lag: float = 0.0,
        fields: list[dict[str, Any]] | None = None,
        multiple_organizations: bool = True,
    ) -> None:
        self.clock = clock
        self.multiple_organizations = multiple_organizations
        self.auth = "Basic " + base64.b64encode(f"{email}/token:{token}".encode()).decode()
        self.per_minute = per_minute
        self.bulk_enabled = bulk_enabled
        self.job_workers, self.job_setup, self.job_row = job_workers, job_setup, job_row
        self.job_ttl = job_ttl
        self.search_lag = search_lag
        self.calls: list[tuple[str, str, float]] = []
        self.throttled = 0  # calls answered 429
        self.users: dict[int, dict[str, Any]] = {}
        self.identities: dict[int, list[dict[str, Any]]] = {}
        self.by_email: dict[str, int] = {}  # every email identity -> user id
        self.by_external: dict[str, int] = {}  # external id, lowercased -> user id
        self.created: dict[str, int] = {}  # external id or email -> users made for it
        self.deletes: list[str] = []  # DELETE /users... calls: azsync must make none
        self.staff_writes: list[int] = []  # agents or admins a write reached
        self.organizations: dict[int, dict[str, Any]] = {}
        self.memberships: dict[int, dict[str, Any]] = {}
        self.fields = [self._field(i, f) for i, f in enumerate(fields or USER_FIELDS)]
        self.jobs: dict[str, Job] = {}
        self._rows: list[tuple[float, int, str, int]] = []  # (at, seq, job id, row) heap
        self._workers = [0.0] * job_workers
        self.job_busy = 0.0  # seconds the jobs keep a worker busy, all told
        self.jobs_made = 0
        self._seq = itertools.count()
        self._ids = itertools.count(1000)
        self._window = (-1, 0)  # (minute, calls counted in it)
        self._lock = threading.RLock()
        self.add_staff("Ada Admin", "admin@acme.example", "admin")
        self.add_staff("Aaron Agent", "agent@acme.example", "agent")

    @staticmethod
    def _field(position: int, spec: dict[str, Any]) -> dict[str, Any]:
        options = [
            {"id": 900 + position * 10 + n, **option}
            for n, option in enumerate(spec.get("custom_field_options", []))
        ]
        return {
            "id": 360000 + position,
            "key": spec["key"],
            "title": spec["title"],
            "type": spec["type"],
            "active": spec.get("active", True),
            "position": position,
            "regexp_for_validation": spec.get("regexp_for_validation"),
            "custom_field_options": options,
        }

    # --- seeding and looking, for tests ----------------------------------------------------

    def add_staff(self, name: str, email: str, role: str, external_id: str = "") -> int:
        user = self._new_user({"name": name, "email": email, "external_id": external_id or None})
        user["role"] = role
        return int(user["id"])

    def add_end_user(self, name: str, email: str, external_id: str = "") -> int:
        return int(self._new_user({"name": name, "email": email, "external_id": external_id})["id"])

    def user_by_external(self, external_id: str) -> dict[str, Any] | None:
        found = self.by_external.get(external_id.lower())
        return self.users[found] if found is not None else None

    def user_by_email(self, email: str) -> dict[str, Any] | None:
        found = self.by_email.get(email.lower())
        return self.users[found] if found is not None else None

    def emails_of(self, user_id: int) -> list[tuple[str, bool]]:
        """(address, primary) of a user's email identities."""
        return [
            (i["value"], i["primary"]) for i in self.identities[user_id] if i["type"] == "email"
        ]

    def end_users(self) -> list[dict[str, Any]]:
        return [u for u in self.users.values() if u["role"] == "end-user" and u["active"]]

    def org_members(self, name: str) -> set[int]:
        org = next((o for o in self.organizations.values() if o["name"] == name), None)
        if org is None:
            return set()
        return {
            m["user_id"] for m in self.memberships.values() if m["organization_id"] == org["id"]
        }

    def busiest_minute(self) -> int:
        """The most calls the account answered (not 429) in one calendar minute."""
        counts: dict[int, int] = {}
        for _, _, at in self.calls:
            counts[int(at // 60)] = counts.get(int(at // 60), 0) + 1
        return max(counts.values(), default=0)

    def settle(self) -> None:
        """Run every job to its end now (a test's shortcut past the jobs' time)."""
        with self._lock:
            self._advance(math.inf)

    # --- WSGI ------------------------------------------------------------------------------

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        with self._lock:
            status, body, headers = self._serve(
                method, path, query, raw, environ.get("HTTP_AUTHORIZATION", "")
            )
        data = b"" if body is None else json.dumps(body).encode()
        start_response(
            f"{status} X",
            [
                ("Content-Type", "application/json; charset=utf-8"),
                ("Content-Length", str(len(data))),
                *headers,
            ],
        )
        return [data]

    def _serve(
        self, method: str, path: str, query: dict[str, list[str]], raw: bytes, auth: str
    ) -> tuple[int, Any, list[tuple[str, str]]]:
        now = self.clock()
        self._advance(now)
        if auth != self.auth:
            return 401, {"error": "Couldn't authenticate you"}, []
        early = self._before_limit()
        if early is not None:
            return early
        minute = int(now // 60)
        if self._window[0] != minute:
            self._window = (minute, self._used_elsewhere())
        used = self._window[1]
        if used >= self.per_minute:
            self.throttled += 1
            wait = max(1, math.ceil((minute + 1) * 60 - now))
            return (
                429,
                {"error": "TooManyRequests", "description": "Rate limit exceeded"},
                [("Retry-After", str(wait)), ("X-Rate-Limit", str(self.per_minute))],
            )
        self._window = (minute, used + 1)
        self.calls.append((method, path, now))
        headers = [
            ("X-Rate-Limit", str(self.per_minute)),
            ("X-Rate-Limit-Remaining", str(self.per_minute - used - 1)),
            ("ratelimit-reset", str(max(1, math.ceil((minute + 1) * 60 - now)))),
        ]
        late = self._after_limit(headers)
        if late is not None:
            return late
        route = path.removeprefix(API).removesuffix(".json").strip("/")
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return 400, {"error": "Unprocessable JSON"}, headers
        status, answer = self._route(method, route, query, body, now)
        return status, answer, headers

    # What a test changes (tests/fakes/zendesk.py): here, an account nobody else uses.

    def _before_limit(self) -> tuple[int, Any, list[tuple[str, str]]] | None:
        return None

    def _used_elsewhere(self) -> int:
        """Calls other integrations make on the account each minute."""
        return 0

    def _after_limit(
        self, headers: list[tuple[str, str]]
    ) -> tuple[int, Any, list[tuple[str, str]]] | None:
        return None

    def _job_failure(self) -> str:
        return ""

    def _row_failure(self, keys: list[str]) -> str:
        return ""

    # --- routes -----------------------------------------------------------------------------

    def _route(
        self, method: str, route: str, query: dict[str, list[str]], body: Any, now: float
    ) -> tuple[int, Any]:
        parts = route.split("/")
        if route == "__stats__":
            return 200, self._stats()
        if parts[0] == "users" and len(parts) >= 2 and parts[1].isdigit():
            return self._user_route(method, int(parts[1]), parts[2:], body, query)
        if parts[0] == "users":
            return self._users_route(method, route, query, body, now)
        if parts[0] == "job_statuses" and method == "GET":
            found = self._jobs_route(parts, query, now)
            if found is not None:
                return found
        if parts[0].startswith("organization"):
            return self._orgs_route(method, route, query, body, now)
        if method == "GET" and route in ("user_fields", "time_zones", "locales"):
            return 200, self._reference(route)
        return _no_endpoint()

    def _users_route(
        self, method: str, route: str, query: dict[str, list[str]], body: Any, now: float
    ) -> tuple[int, Any]:
        if route == "users" and method == "GET":
            return self._list_users(query)
        if route == "users" and method == "POST":
            return self._create_user(body)
        if route == "users/count" and method == "GET":
            active = sum(1 for u in self.users.values() if u["active"])
            return 200, {"count": {"value": active, "refreshed_at": None}}
        if route == "users/search" and method == "GET":
            return self._search(query, now)
        if route == "users/show_many" and method == "GET":
            return self._show_many(query)
        if route == "users/create_or_update" and method == "POST":
            return self._create_or_update_one(body)
        if route == "users/create_or_update_many" and method == "POST":
            if not self.bulk_enabled:
                return 403, {"error": "Forbidden", "message": "Data imports are not enabled"}
            return self._queue("users", body, "users", now)
        if route == "users/update_many" and method == "PUT":
            if not self.bulk_enabled:  # taken as a bulk import too (not documented either way)
                return 403, {"error": "Forbidden", "message": "Data imports are not enabled"}
            if isinstance(body, dict) and isinstance(body.get("user"), dict) and query.get("ids"):
                body = {"users": [{**body["user"], "id": i} for i in _csv(query, "ids")]}
            return self._queue("updates", body, "users", now)
        return _no_endpoint()

    def _reference(self, route: str) -> dict[str, Any]:
        """The user fields, time zones or locales."""
        if route == "user_fields":
            return {"user_fields": self.fields, "next_page": None, "count": len(self.fields)}
        if route == "time_zones":
            return {
                "time_zones": [
                    {"name": name, "iana_name": iana, "offset": offset, "translated_name": name}
                    for name, iana, offset in TIME_ZONES
                ]
            }
        return {"locales": [{"id": i, "locale": code, "name": name} for i, code, name in LOCALES]}

    def _jobs_route(
        self, parts: list[str], query: dict[str, list[str]], now: float
    ) -> tuple[int, Any] | None:
        if len(parts) == 2 and parts[1] == "show_many":
            ids = _csv(query, "ids")
            return 200, {
                "job_statuses": [self._job_view(self.jobs[i]) for i in ids if i in self.jobs]
            }
        if len(parts) == 2:
            job = self.jobs.get(parts[1])
            if job is None or now >= job.created + self.job_ttl:
                return 404, {"error": "RecordNotFound", "description": "Not found"}
            return 200, {"job_status": self._job_view(job)}
        if len(parts) == 1:
            recent = sorted(self.jobs.values(), key=lambda j: j.created, reverse=True)
            return 200, {
                "job_statuses": [
                    self._job_view(j) for j in recent if now < j.created + self.job_ttl
                ]
            }
        return None

    def _orgs_route(
        self, method: str, route: str, query: dict[str, list[str]], body: Any, now: float
    ) -> tuple[int, Any]:
        parts = route.split("/")
        if route == "organizations" and method == "GET":
            orgs = sorted(self.organizations.values(), key=lambda o: o["id"])
            return 200, self._cursor_page(orgs, query, "organizations", "/organizations")
        if route == "organizations" and method == "POST":
            return self._create_org(body)
        if route == "organizations/search" and method == "GET":
            name = (query.get("name") or [""])[0].strip().casefold()
            found = [o for o in self.organizations.values() if o["name"].casefold() == name]
            return 200, {"organizations": found, "count": len(found), "next_page": None}
        if route == "organization_memberships" and method == "POST":
            row = body.get("organization_membership") if isinstance(body, dict) else None
            status, answer = self._membership(row)
            return (201, {"organization_membership": answer}) if status == 201 else (status, answer)
        if route == "organization_memberships/create_many" and method == "POST":
            return self._queue("memberships", body, "organization_memberships", now)
        if parts[0] == "organization_memberships" and len(parts) == 2 and method == "DELETE":
            if self.memberships.pop(int(parts[1]) if parts[1].isdigit() else -1, None) is None:
                return 404, {"error": "RecordNotFound", "description": "Not found"}
            return 204, None
        return _no_endpoint()

    def _user_route(
        self, method: str, user_id: int, rest: list[str], body: Any, query: dict[str, list[str]]
    ) -> tuple[int, Any]:
        user = self.users.get(user_id)
        if user is None:
            return 404, {"error": "RecordNotFound", "description": "Not found"}
        if not rest and method == "GET":
            return 200, {"user": self._view(user)}
        if not rest and method == "PUT":
            if not user["active"]:
                return 404, {"error": "RecordNotFound", "description": "Not found"}
            if not isinstance(body, dict) or not isinstance(body.get("user"), dict):
                return 400, {"error": "InvalidParameter", "description": "user is required"}
            problems = self._update(user, body["user"], email_primary=True)
            if problems:
                return 422, _invalid(problems)
            return 200, {"user": self._view(user)}
        if not rest and method == "DELETE":
            self.deletes.append(f"users/{user_id}")
            user["active"] = False
            return 200, {"user": self._view(user)}
        if rest == ["identities"] and method == "GET":
            return 200, {"identities": self.identities[user_id], "next_page": None}
        if (
            len(rest) == 3
            and rest[0] == "identities"
            and rest[2] == "make_primary"
            and method == "PUT"
        ):
            found = [i for i in self.identities[user_id] if str(i["id"]) == rest[1]]
            if not found:
                return 404, {"error": "RecordNotFound", "description": "Not found"}
            for identity in self.identities[user_id]:
                if identity["type"] == found[0]["type"]:
                    identity["primary"] = identity is found[0]
            if found[0]["type"] == "email":
                user["email"] = found[0]["value"]
            return 200, {"identities": self.identities[user_id]}
        if rest == ["organization_memberships"] and method == "GET":
            mine = [m for m in self.memberships.values() if m["user_id"] == user_id]
            return 200, {"organization_memberships": mine, "next_page": None}
        if len(rest) == 2 and rest[0] == "organizations" and method == "DELETE":
            gone = [
                m_id
                for m_id, m in self.memberships.items()
                if m["user_id"] == user_id and str(m["organization_id"]) == rest[1]
            ]
            if not gone:
                return 404, {"error": "RecordNotFound", "description": "Not found"}
            for m_id in gone:
                del self.memberships[m_id]
            return 204, None
        return 404, {"error": "InvalidEndpoint", "description": "Not found"}

    def _stats(self) -> dict[str, Any]:
        return {
            "calls": len(self.calls),
            "users": len(self.end_users()),
            "jobs": self.jobs_made,
            "job_polls": sum(1 for m, p, _ in self.calls if "job_statuses" in p),
            "bulk_posts": sum(1 for m, p, _ in self.calls if p.endswith("create_or_update_many")),
            "single_posts": sum(
                1 for m, p, _ in self.calls if p.endswith("users/create_or_update")
            ),
            "busiest_minute": self.busiest_minute(),
            "duplicates": sum(1 for n in self.created.values() if n > 1),
            "job_busy_s": self.job_busy,
            "job_workers": self.job_workers,
            "calls_per_minute": self.per_minute,
            "pending_jobs": sum(
                1 for j in self.jobs.values() if j.done < len(j.rows) and not j.failed
            ),
        }

    # --- users ------------------------------------------------------------------------------

    def _view(self, user: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in user.items() if not k.startswith("_")}

    def _new_user(self, given: dict[str, Any]) -> dict[str, Any]:
        user_id = next(self._ids)
        now = self.clock()
        user: dict[str, Any] = {
            "id": user_id,
            "url": f"https://acme.zendesk.com/api/v2/users/{user_id}.json",
            "name": given.get("name"),
            "email": given.get("email"),
            "phone": None,
            "external_id": None,
            "role": "end-user",
            "active": True,
            "suspended": False,
            "verified": False,
            "organization_id": None,
            "locale": "en-US",
            "time_zone": "UTC",
            "iana_time_zone": "Etc/UTC",
            "tags": [],
            "user_fields": {f["key"]: None for f in self.fields},
            "created_at": now,
            "updated_at": now,
        }
        self.users[user_id] = user
        self.identities[user_id] = []
        if given.get("email"):
            self._add_email(user_id, str(given["email"]), primary=True)
        if given.get("external_id"):
            user["external_id"] = str(given["external_id"])
            self.by_external[str(given["external_id"]).lower()] = user_id
        key = str(given.get("external_id") or given.get("email") or user_id).lower()
        self.created[key] = self.created.get(key, 0) + 1
        return user

    def _add_email(self, user_id: int, email: str, primary: bool) -> None:
        if primary:
            for identity in self.identities[user_id]:
                if identity["type"] == "email":
                    identity["primary"] = False
        self.identities[user_id].append(
            {
                "id": next(self._ids),
                "user_id": user_id,
                "type": "email",
                "value": email,
                "primary": primary,
                "verified": False,
            }
        )
        self.by_email[email.lower()] = user_id

    def _problems(self, user: dict[str, Any] | None, given: dict[str, Any]) -> dict[str, list[str]]:
        """What Zendesk's validation would refuse in ``given``, by field."""
        problems: dict[str, list[str]] = {}
        if user is None and not str(given.get("name") or "").strip():
            problems.setdefault("name", []).append("Name:  is too short (minimum one character)")
        if "email" in given and given["email"] is not None:
            email = str(given["email"])
            if not EMAIL.match(email):
                problems.setdefault("email", []).append(f"Email: {email} is not properly formatted")
            else:
                holder = self.by_email.get(email.lower())
                if holder is not None and (user is None or holder != user["id"]):
                    problems.setdefault("email", []).append(
                        f"Email: {email} is already being used by another user"
                    )
        if given.get("external_id") is not None:
            holder = self.by_external.get(str(given["external_id"]).lower())
            if holder is not None and (user is None or holder != user["id"]):
                problems.setdefault("external_id", []).append("External: has already been taken")
        fields = given.get("user_fields")
        if fields is not None and not isinstance(fields, dict):
            problems.setdefault("user_fields", []).append("User fields: must be an object")
        for key, value in (fields or {}).items():
            reason = self._field_problem(key, value)
            if reason:
                problems.setdefault(f"user_fields.{key}", []).append(reason)
        if "time_zone" in given and given["time_zone"] not in {z[0] for z in TIME_ZONES}:
            problems.setdefault("time_zone", []).append(
                f"Time zone: {given['time_zone']} is not included in the list"
            )
        if "locale" in given and given["locale"] not in {code for _, code, _ in LOCALES}:
            problems.setdefault("locale", []).append(f"Locale: {given['locale']} is invalid")
        if "suspended" in given and not isinstance(given["suspended"], bool):
            problems.setdefault("suspended", []).append("Suspended: is not a boolean")
        if "role" in given and given["role"] not in ("end-user", "agent", "admin"):
            problems.setdefault("role", []).append("Role: is invalid")
        return problems

    def _field_problem(self, key: str, value: Any) -> str:
        field = next((f for f in self.fields if f["key"] == key and f["active"]), None)
        if field is None:
            return ""  # Zendesk ignores keys it does not know
        if value is None:
            return ""
        title, kind = field["title"], field["type"]
        options = {o["value"] for o in field["custom_field_options"]}
        bad = f"{title}: {json.dumps(value)} is invalid for a {kind} field"
        if kind in ("text", "textarea") and not isinstance(value, str):
            return bad
        if kind == "checkbox" and not isinstance(value, bool):
            return bad
        if kind == "date":
            try:
                date.fromisoformat(str(value))
            except ValueError:
                return bad
            return "" if re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value)) else bad
        if kind == "integer" and not (
            (isinstance(value, int) and not isinstance(value, bool))
            or (isinstance(value, str) and re.fullmatch(r"-?\d+", value))
        ):
            return bad
        if kind == "decimal" and (
            isinstance(value, bool)
            or not (isinstance(value, (int, float)) or re.fullmatch(r"-?\d+(\.\d+)?", str(value)))
        ):
            return bad
        if kind == "regexp" and not (
            isinstance(value, str) and re.fullmatch(field["regexp_for_validation"], value)
        ):
            return f"{title}: {json.dumps(value)} does not match the field's pattern"
        if kind == "dropdown" and value not in options:
            return f"{title}: {json.dumps(value)} is not one of the field's options"
        if kind == "multiselect" and not (isinstance(value, list) and set(value) <= options):
            return f"{title}: {json.dumps(value)} are not all options of the field"
        if kind == "lookup" and not (isinstance(value, int) and value in self.users):
            return f"{title}: {json.dumps(value)} is not a record id"
        return ""

    def _update(
        self, user: dict[str, Any], given: dict[str, Any], *, email_primary: bool
    ) -> dict[str, list[str]]:
        """Apply the attributes given (the others keep their values), or say what is wrong.

        ``email_primary``: a new address becomes primary (PUT /users/{id}); otherwise it is
        added as a secondary identity (create_or_update on an existing user)."""
        problems = self._problems(user, given)
        if problems:
            return problems
        if user["role"] != "end-user":
            self.staff_writes.append(int(user["id"]))
        for key in ("name", "phone", "suspended", "locale", "role"):
            if key in given:
                user[key] = given[key]
        if "time_zone" in given:
            user["time_zone"] = given["time_zone"]
            user["iana_time_zone"] = next(z[1] for z in TIME_ZONES if z[0] == given["time_zone"])
        if given.get("external_id") is not None:
            if user["external_id"]:
                self.by_external.pop(str(user["external_id"]).lower(), None)
            user["external_id"] = str(given["external_id"])  # the case given is stored
            self.by_external[str(given["external_id"]).lower()] = user["id"]
        if isinstance(given.get("user_fields"), dict):
            for key, value in given["user_fields"].items():
                if key in user["user_fields"]:
                    user["user_fields"][key] = value  # keys left out keep their values
        email = given.get("email")
        if email and self.by_email.get(str(email).lower()) != user["id"]:
            self._add_email(user["id"], str(email), primary=email_primary)
            if email_primary:
                user["email"] = str(email)
        elif email and email_primary:
            for identity in self.identities[user["id"]]:
                if identity["type"] == "email":
                    identity["primary"] = identity["value"].lower() == str(email).lower()
            user["email"] = next(
                i["value"]
                for i in self.identities[user["id"]]
                if i["type"] == "email" and i["primary"]
            )
        user["updated_at"] = self.clock()
        return {}

    def _upsert(self, given: Any) -> tuple[int, dict[str, Any] | dict[str, list[str]], bool]:
        """create_or_update: (user id or 0, the user or the problems, created)."""
        if not isinstance(given, dict):
            return 0, {"base": ["User: must be an object"]}, False
        if not given.get("email") and not given.get("external_id"):
            return 0, {"base": ["User: an email or external_id is required"]}, False
        found = None
        if given.get("external_id"):
            found = self.by_external.get(str(given["external_id"]).lower())
        if found is None and given.get("email"):
            found = self.by_email.get(str(given["email"]).lower())
        if found is not None:
            user = self.users[found]
            problems = self._update(user, given, email_primary=False)
            return (0, problems, False) if problems else (found, user, False)
        problems = self._problems(None, given)
        if problems:
            return 0, problems, False
        user = self._new_user(given)
        self._update(user, {k: v for k, v in given.items() if k != "email"}, email_primary=True)
        return int(user["id"]), user, True

    def _create_user(self, body: Any) -> tuple[int, Any]:
        given = body.get("user") if isinstance(body, dict) else None
        if not isinstance(given, dict):
            return 400, {"error": "InvalidParameter", "description": "user is required"}
        problems = self._problems(None, given)
        if problems:
            return 422, _invalid(problems)
        user = self._new_user(given)
        self._update(user, {k: v for k, v in given.items() if k != "email"}, email_primary=True)
        return 201, {"user": self._view(user)}

    def _create_or_update_one(self, body: Any) -> tuple[int, Any]:
        given = body.get("user") if isinstance(body, dict) else None
        user_id, answer, created = self._upsert(given)
        if not user_id:
            return 422, _invalid(answer)  # type: ignore[arg-type]
        return (201 if created else 200), {"user": self._view(answer)}

    def _list_users(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        roles = set(query.get("role[]", [])) | set(query.get("role", []))
        users = [u for u in self.users.values() if u["active"]]
        if roles:
            users = [u for u in users if u["role"] in roles]
        if query.get("external_id"):
            wanted = query["external_id"][0].lower()
            users = [u for u in users if str(u["external_id"] or "").lower() == wanted]
        if "page[size]" in query or "page[after]" in query:
            return 200, self._cursor_page(users, query, "users", "/users")
        per_page = min(int((query.get("per_page") or ["100"])[0]), 100)
        page = int((query.get("page") or ["1"])[0])
        if (page - 1) * per_page >= OFFSET_LIMIT:
            return 400, {
                "error": "InvalidPaginationParameter",
                "description": "Offset pagination is limited to the first 10,000 records; use"
                " cursor pagination",
            }
        chunk = users[(page - 1) * per_page : page * per_page]
        more = page * per_page < len(users)
        return 200, {
            "users": [self._view(u) for u in chunk],
            "count": len(users),
            "next_page": f"https://acme.zendesk.com/api/v2/users.json?page={page + 1}"
            if more
            else None,
            "previous_page": None,
        }

    def _cursor_page(
        self, items: list[dict[str, Any]], query: dict[str, list[str]], key: str, path: str
    ) -> dict[str, Any]:
        size = int((query.get("page[size]") or ["100"])[0])
        size = max(1, min(size, 100))
        after = (query.get("page[after]") or [""])[0]
        start = 0
        if after:
            last = int(base64.urlsafe_b64decode(after.encode()).decode())
            start = next((n for n, item in enumerate(items) if item["id"] > last), len(items))
        chunk = items[start : start + size]
        more = start + size < len(items)
        cursor = base64.urlsafe_b64encode(str(chunk[-1]["id"]).encode()).decode() if chunk else None
        return {
            key: [self._view(i) for i in chunk],
            "meta": {"has_more": more, "after_cursor": cursor, "before_cursor": None},
            "links": {
                "next": f"https://acme.zendesk.com/api/v2{path}.json?page[size]={size}"
                f"&page[after]={cursor}"
                if more
                else None,
                "prev": None,
            },
        }

    def _search(self, query: dict[str, list[str]], now: float) -> tuple[int, Any]:
        visible = [
            u
            for u in self.users.values()
            if u["active"] and u["created_at"] + self.search_lag <= now
        ]
        if query.get("external_id"):
            wanted = query["external_id"][0].lower()
            found = [u for u in visible if str(u["external_id"] or "").lower() == wanted]
        else:
            text = (query.get("query") or [""])[0]
            terms = re.findall(r'(\w+):"([^"]*)"|(\w+):(\S+)|"([^"]*)"|(\S+)', text)
            found = visible
            for term in terms:
                name, value = (term[0], term[1]) if term[0] else (term[2], term[3])
                free = term[4] or term[5]
                if name == "email":
                    # Fuzzy: a partial value matches, across every address of the user.
                    found = [
                        u
                        for u in found
                        if any(value.lower() in v.lower() for v, _ in self.emails_of(u["id"]))
                    ]
                elif name == "role":
                    found = [u for u in found if u["role"] == value]
                elif name:
                    found = [u for u in found if value.lower() in str(u.get(name) or "").lower()]
                elif free:
                    found = [
                        u
                        for u in found
                        if free.lower() in str(u["name"] or "").lower()
                        or free.lower() in str(u["email"] or "").lower()
                    ]
        per_page = min(int((query.get("per_page") or ["100"])[0]), 100)
        page = int((query.get("page") or ["1"])[0])
        if page * per_page > OFFSET_LIMIT:
            return 400, {
                "error": "InvalidPaginationParameter",
                "description": "Search is limited to 10,000 results per query",
            }
        chunk = found[(page - 1) * per_page : page * per_page]
        return 200, {
            "users": [self._view(u) for u in chunk],
            "count": len(found),
            "next_page": None if page * per_page >= len(found) else f"page={page + 1}",
        }

    def _show_many(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        ids, externals = _csv(query, "ids"), _csv(query, "external_ids")
        if len(ids) > MAX_BULK or len(externals) > MAX_BULK:
            return 400, {"error": "TooManyValues", "description": "At most 100 values"}
        found = [self.users[int(i)] for i in ids if i.isdigit() and int(i) in self.users]
        found += [
            self.users[self.by_external[e.lower()]]
            for e in externals
            if e.lower() in self.by_external
        ]
        return 200, {"users": [self._view(u) for u in found]}  # deleted ones too: active false

    # --- organizations ----------------------------------------------------------------------

    def _create_org(self, body: Any) -> tuple[int, Any]:
        given = body.get("organization") if isinstance(body, dict) else None
        given = given if isinstance(given, dict) else {}
        name = str(given.get("name") or "").strip()
        if not name:
            return 422, _invalid({"name": ["Name: cannot be blank"]})
        if any(o["name"].casefold() == name.casefold() for o in self.organizations.values()):
            return 422, _invalid({"name": ["Name: has already been taken"]})
        org_id = next(self._ids)
        self.organizations[org_id] = {
            "id": org_id,
            "name": name,
            "shared_tickets": bool(given.get("shared_tickets")),
            "external_id": given.get("external_id"),
        }
        return 201, {"organization": self.organizations[org_id]}

    def _membership(self, row: Any) -> tuple[int, Any]:
        if not isinstance(row, dict):
            return 400, {
                "error": "InvalidParameter",
                "description": "organization_membership is required",
            }
        user_id, org_id = row.get("user_id"), row.get("organization_id")
        if user_id not in self.users or org_id not in self.organizations:
            return 404, {"error": "RecordNotFound", "description": "Not found"}
        if any(
            m["user_id"] == user_id and m["organization_id"] == org_id
            for m in self.memberships.values()
        ):
            return 422, _invalid({"user_id": ["User is already a member of this organization"]})
        if not self.multiple_organizations and any(
            m["user_id"] == user_id for m in self.memberships.values()
        ):
            return 422, _invalid({"user_id": ["User can belong to only one organization"]})
        if self.users[user_id]["role"] != "end-user":
            self.staff_writes.append(user_id)
        first = not any(m["user_id"] == user_id for m in self.memberships.values())
        membership_id = next(self._ids)
        self.memberships[membership_id] = {
            "id": membership_id,
            "user_id": user_id,
            "organization_id": org_id,
            "default": first,
        }
        if first:
            self.users[user_id]["organization_id"] = org_id
        return 201, self.memberships[membership_id]

    # --- jobs -------------------------------------------------------------------------------

    def _queue(self, kind: str, body: Any, key: str, now: float) -> tuple[int, Any]:
        rows = body.get(key) if isinstance(body, dict) else None
        if not isinstance(rows, list) or not rows:
            return 400, {"error": "InvalidParameter", "description": f"{key} is required"}
        if len(rows) > MAX_BULK:
            return 400, {"error": "TooManyValues", "description": f"At most {MAX_BULK} {key}"}
        running = sum(1 for j in self.jobs.values() if j.end > now and not j.failed)
        if running >= JOB_LIMIT:
            return 429, {
                "error": "TooManyJobs",
                "description": f"At most {JOB_LIMIT} jobs may be queued or running",
            }
        job = Job(
            base64.b16encode(next(self._seq).to_bytes(8, "big")).decode().lower(), kind, rows, now
        )
        worker = min(range(len(self._workers)), key=self._workers.__getitem__)
        job.start = max(now, self._workers[worker]) + self.job_setup
        job.end = job.start + self.job_row * len(rows)
        self._workers[worker] = job.end
        self.job_busy += self.job_setup + self.job_row * len(rows)
        self.jobs_made += 1
        job.failed = self._job_failure()
        for n in range(len(rows)):
            heapq.heappush(
                self._rows, (job.start + self.job_row * (n + 1), next(self._seq), job.id, n)
            )
        self.jobs[job.id] = job
        for old in sorted(self.jobs.values(), key=lambda j: j.created)[:-JOBS_KEPT]:
            del self.jobs[old.id]  # only the last 100 are kept
        return 200, {"job_status": self._job_view(job)}

    def _advance(self, now: float) -> None:
        """Carry out the job rows whose time has come, in time order."""
        while self._rows and self._rows[0][0] <= now:
            _, _, job_id, n = heapq.heappop(self._rows)
            job = self.jobs.get(job_id)
            if job is None or job.failed:
                continue
            job.results[n] = self._run_row(job, n)
            job.done = n + 1

    def _run_row(self, job: Job, n: int) -> dict[str, Any]:
        row = job.rows[n]
        if job.kind == "memberships":
            status, answer = self._membership(row)
            if status == 201:
                return {"id": answer["id"], "index": n}
            details = answer.get("details") if isinstance(answer, dict) else None
            text = (
                _sentence({k: [d["description"] for d in v] for k, v in details.items()})
                if isinstance(details, dict)
                else str(answer.get("description", ""))
            )
            return {"index": n, "error": "OrganizationMembershipCreateError", "details": text}
        if job.kind == "updates":
            return self._update_row(row, n)
        keys = (
            [str(row.get(k) or "").lower() for k in ("external_id", "email")]
            if isinstance(row, dict)
            else []
        )
        injected = self._row_failure(keys)
        if injected:
            return _failed(n, injected)
        user_id, answer, created = self._upsert(row)
        if not user_id:
            return _failed(n, _sentence(answer))  # type: ignore[arg-type]
        return {
            "id": user_id,
            "status": "Created" if created else "Updated",
            "email": answer["email"],
        }

    def _update_row(self, row: Any, n: int) -> dict[str, Any]:
        """A row of update_many: that user, by id, or a failed row; never a new user."""
        given = dict(row) if isinstance(row, dict) else {}
        user_id = int(given.pop("id", 0) or 0) if str(given.get("id", "")).isdigit() else 0
        user = self.users.get(user_id)
        if user is None or not user["active"]:
            return {
                "id": user_id,
                "action": "update",
                "success": False,
                "status": "Failed",
                "error": "UserNotFound",
                "details": f"User {user_id} not found",
            }
        injected = self._row_failure([str(user.get("external_id") or user["email"] or "").lower()])
        if injected:
            return {**_failed(n, injected), "id": user_id, "success": False}
        problems = self._update(user, given, email_primary=False)
        if problems:
            return {
                "id": user_id,
                "action": "update",
                "success": False,
                "status": "Failed",
                "error": "UserUpdateError",
                "details": _sentence(problems),
            }
        return {"id": user_id, "action": "update", "success": True, "status": "Updated"}

    def delete_user(self, user_id: int) -> None:
        """An agent deletes the user: it stays, inactive, without its identities."""
        user = self.users[user_id]
        user["active"] = False
        for identity in self.identities[user_id]:
            self.by_email.pop(identity["value"].lower(), None)
        self.identities[user_id] = []
        if user["external_id"]:
            self.by_external.pop(str(user["external_id"]).lower(), None)

    def _job_view(self, job: Job) -> dict[str, Any]:
        now = self.clock()
        if job.failed and now >= job.start:
            status, message = "failed", job.failed
        elif job.done == len(job.rows):
            status, message = "completed", f"Completed at {job.end:.0f}"
        elif now >= job.start - self.job_setup:  # a worker has picked it up
            status, message = "working", ""
        else:
            status, message = "queued", ""
        # Results come with the job's end, in request order.
        results = [r for r in job.results if r is not None] if status == "completed" else []
        return {
            "id": job.id,
            "url": f"https://acme.zendesk.com/api/v2/job_statuses/{job.id}.json",
            "job_type": {
                "users": "bulk_create_or_update_users",
                "updates": "bulk_update_users",
                "memberships": "bulk_create_memberships",
            }[job.kind],
            "total": len(job.rows),
            "progress": job.done,
            "status": status,
            "message": message,
            "results": results,
        }


def _csv(query: dict[str, list[str]], key: str) -> list[str]:
    return [v for v in (query.get(key) or [""])[0].split(",") if v]


def _invalid(problems: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "error": "RecordInvalid",
        "description": "Record validation errors",
        "details": {
            field: [{"description": text, "error": "InvalidValue"} for text in texts]
            for field, texts in problems.items()
        },
    }


def _sentence(problems: dict[str, list[str]]) -> str:
    return " ".join(text for texts in problems.values() for text in texts)


def _failed(index: int, details: str) -> dict[str, Any]:
    # As Zendesk answered a failed row: its "id" is the row's place in the request.
    return {"id": index, "status": "Failed", "error": "UserUpdateError", "details": details}


def _no_endpoint() -> tuple[int, Any]:
    return 404, {"error": "InvalidEndpoint", "description": "Not found"}


def main() -> None:
    """``python -m azsyncd.targets.zendesk.simulated``: the demo's account, its API token
    on stdin, on a free loopback port, which goes to stdout first; it serves until stdin
    closes (``targets/simulated_process.py``)."""
    simulated = SimulatedZendesk(
        time.monotonic,
        token=simulated_process.secret(TOKEN),
        per_minute=400,
        job_setup=0.5,
        job_row=0.01,
    )
    for n, (name, email) in enumerate(CUSTOMERS):
        simulated.add_end_user(name, email, external_id=f"crm-{n}")
    simulated_process.serve(simulated)


ADMIN, TOKEN = "admin@acme.example", "token"
# End users the account had before azsync: customers, whom no Entra ID user claims.
CUSTOMERS = [("Paula Customer", "paula@customer.example"), ("Kim Buyer", "kim@buyer.example")]


if __name__ == "__main__":
    main()
