"""A simulated Freshservice account (API v2), written from the reference notes on its API,
as a WSGI app: in-process for tests (``httpx.WSGITransport``), on loopback for the daemon,
or in a process of its own (``python -m azsyncd.targets.freshservice.simulated``) for
``azsyncd demo --target freshservice`` and the benchmark. The test fake
(tests/fakes/freshservice.py) adds faults and counters.

Modelled, as the notes describe them or, where they are silent, the strictest plausible way:
- HTTP Basic with the API key as user name; JSON wrapped as ``{"requester": ...}``;
- the per-minute limits of a plan, counted in a sliding minute: every answered call toward
  the total, listing requesters also toward its sub-limit; past either, 429 with
  ``Retry-After`` (seconds) and nothing done; ``X-RateLimit-*`` headers on every answer;
- pages of at most 100 (30 by default) with a ``Link`` header while more follow; filters
  (``email=``, ``query=``) see writes only after ``index_lag`` seconds, 30 a page, page <= 40;
- requesters: unique addresses (primary and secondary, and agents'), a first name and one
  of email / work phone / mobile on create, typed custom fields checked by their type, fields
  required for agents, unknown keys refused; an update is partial, but ``custom_fields``
  replaces the whole object and ``can_see_all_tickets_from_associated_departments`` falls to
  false unless sent true; DELETE deactivates, ``/reactivate`` gives it back, ``/forget``
  deletes the requester and their tickets (recorded, so tests can prove it never happens);
- departments with unique names; requester groups, of which only manual ones take members,
  one requester a call;
- errors as ``{"description", "errors": [{"field", "message", "code"}]}``, 404 without a body.
"""

from __future__ import annotations

import base64
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

from azsyncd.targets import simulated_process
from azsyncd.targets.freshservice.plans import PLANS
from azsyncd.targets.freshservice.simulated_filters import (
    Refused,
    by_email,
    invalid,
    parse_query,
    searchable,
)

API = "/api/v2/"
TEXT_LIMIT = 255
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
REQUESTER_KEYS = frozenset(
    {
        "first_name",
        "last_name",
        "job_title",
        "primary_email",
        "secondary_emails",
        "work_phone_number",
        "mobile_phone_number",
        "department_ids",
        "can_see_all_tickets_from_associated_departments",
        "can_see_all_changes_from_associated_departments",
        "reporting_manager_id",
        "address",
        "time_zone",
        "time_format",
        "language",
        "location_id",
        "background_information",
        "external_id",
        "vip_user",
        "custom_fields",
    }
)
TEXT_KEYS = ("first_name", "last_name", "job_title", "work_phone_number", "mobile_phone_number")
DEFAULT_FIELDS = (
    ("first_name", "First Name", "default_first_name"),
    ("last_name", "Last Name", "default_last_name"),
    ("job_title", "Job Title", "default_job_title"),
    ("primary_email", "Email", "default_email"),
    ("work_phone_number", "Work Phone", "default_work_phone_number"),
    ("mobile_phone_number", "Mobile Phone", "default_mobile_phone_number"),
    ("department", "Department", "default_department"),
    ("reporting_manager", "Reporting Manager", "default_reporting_manager"),
    ("location", "Location", "default_location"),
    ("time_zone", "Time Zone", "default_time_zone"),
    ("language", "Language", "default_language"),
    ("address", "Address", "default_address"),
)


def custom_field(name: str, label: str, kind: str, **more: Any) -> dict[str, Any]:
    """A custom requester field as ``GET /requester_fields`` lists it."""
    return {"name": name, "label": label, "type": kind, "required_for_agents": False, **more}


def dropdown(name: str, label: str, values: Iterable[str]) -> dict[str, Any]:
    choices = [{"id": n + 1, "value": v} for n, v in enumerate(values)]
    return custom_field(name, label, "custom_dropdown", choices=choices)


def standard_custom_fields() -> list[dict[str, Any]]:
    """The custom fields of the simulated account: one of each type the notes list, and one
    of a type they do not (a checkbox)."""
    return [
        custom_field("cf_employee_id", "Employee ID", "custom_number"),
        dropdown("cf_office", "Office", ["Berlin", "London"]),
        custom_field("cf_notes", "Notes", "custom_text"),
        custom_field("cf_hire_date", "Hire date", "custom_date"),
        custom_field("cf_desk_phone", "Desk phone", "custom_phone_number"),
        custom_field("cf_remote", "Remote worker", "custom_checkbox"),
    ]


class SimulatedFreshservice:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        api_key: str = "key",
        plan: str = "enterprise",
        limits: tuple[int, int] | None = None,
        index_lag: float = 180.0,
        custom_fields: list[dict[str, Any]] | None = None,
    ) -> None:
        self.clock = clock
        self.api_key = api_key
        self.total_limit, self.list_limit = limits or PLANS[plan]
        self.index_lag = index_lag
        self._epoch = time.time() - clock()  # created_at / updated_at in UTC
        self.fields: list[dict[str, Any]] = [
            {"name": name, "label": label, "type": kind, "default": True}
            for name, label, kind in DEFAULT_FIELDS
        ] + (standard_custom_fields() if custom_fields is None else custom_fields)
        for position, f in enumerate(self.fields, 1):
            f.setdefault("id", 9000 + position)
            f.setdefault("position", position)
            f.setdefault("default", False)
            f.setdefault("required_for_agents", False)
        self.requesters: dict[int, dict[str, Any]] = {}
        self.by_email: dict[str, int] = {}  # primary and secondary addresses, lower case
        self.agent_emails: set[str] = set()  # agents are not requesters, but own their address
        self.departments: dict[int, dict[str, Any]] = {}
        self.groups: dict[int, dict[str, Any]] = {}  # "members": set of requester ids
        self.forgotten: list[int] = []  # requesters (and their tickets) deleted for good
        self.calls: list[tuple[str, str, float, int]] = []  # method, path, time, status
        self.throttled = 0  # calls answered 429
        self._window: deque[float] = deque()
        self._list_window: deque[float] = deque()
        # What the filters see: per requester, (time, searchable values) as they were written.
        self._index: dict[int, list[tuple[float, dict[str, Any] | None]]] = {}
        self._ids = iter(range(21_000_000_001, 10**12))
        self._lock = threading.RLock()

    # --- WSGI -------------------------------------------------------------------------------

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        request = Request(
            method=environ["REQUEST_METHOD"],
            path=environ.get("PATH_INFO", ""),
            query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
            raw=raw,
            auth=environ.get("HTTP_AUTHORIZATION", ""),
            content_type=environ.get("CONTENT_TYPE", ""),
            base=f"{environ.get('wsgi.url_scheme', 'http')}://{host}",
        )
        status, body, headers = self.handle(request)
        data = b"" if body is None else json.dumps(body).encode()
        head = [("Content-Length", str(len(data))), *headers.items()]
        if body is not None:
            head.append(("Content-Type", "application/json; charset=utf-8"))
        start_response(f"{status} {REASONS.get(status, 'Status')}", head)
        return [data]

    def handle(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            now = self.clock()
            listing = request.method == "GET" and request.path.rstrip("/") == API + "requesters"
            wait = self._over_limit(now, listing)
            if wait:
                self.throttled += 1
                self.calls.append((request.method, request.path, now, 429))
                headers = {**self._limit_headers(), "Retry-After": str(wait)}
                return (
                    429,
                    {"message": "You have exceeded the limit of requests per minute"},
                    headers,
                )
            self._window.append(now)
            if listing:
                self._list_window.append(now)
            try:
                status, body, headers = self._answer(request, now)
            except Refused as refused:
                status, body, headers = refused.status, refused.body, refused.headers
            self.calls.append((request.method, request.path, now, status))
            return status, body, {**headers, **self._limit_headers()}

    def _over_limit(self, now: float, listing: bool) -> int:
        """Seconds until this call would fit (0: it fits now)."""
        wait = 0.0
        for window, limit in (
            (self._window, self.total_limit),
            (self._list_window, self.list_limit),
        ):
            while window and window[0] <= now - 60:
                window.popleft()
            if (window is self._window or listing) and len(window) >= limit:
                wait = max(wait, window[len(window) - limit] + 60 - now)
        return math.ceil(wait) if wait > 0 else 0

    def _limit_headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Total": str(self.total_limit),
            "X-RateLimit-Remaining": str(max(0, self.total_limit - len(self._window))),
            "X-RateLimit-Used-CurrentRequest": "1",
        }

    def _answer(self, request: Request, now: float) -> tuple[int, Any, dict[str, str]]:
        user = _basic_user(request.auth)  # the password is "X" by custom, not checked
        if user is None or user != self.api_key:
            raise Refused(
                401,
                {
                    "code": "invalid_credentials",
                    "message": "You have to be logged in to perform this action.",
                },
            )
        if not request.path.startswith(API):
            raise Refused(404)
        route = request.path.removeprefix(API).strip("/")
        body = self._body(request)
        for pattern, method, handler in self._routes():
            found = re.fullmatch(pattern, route)
            if found and method == request.method:
                return handler(request, body, now, *found.groups())
        raise Refused(404)

    def _routes(self) -> list[tuple[str, str, Callable[..., tuple[int, Any, dict[str, str]]]]]:
        return [
            (r"requesters", "GET", self._list_requesters),
            (r"requesters", "POST", self._create),
            (r"requesters/(\d+)", "GET", self._show),
            (r"requesters/(\d+)", "PUT", self._update),
            (r"requesters/(\d+)", "DELETE", self._deactivate),
            (r"requesters/(\d+)/reactivate", "PUT", self._reactivate),
            (r"requesters/(\d+)/forget", "DELETE", self._forget),
            (r"requester_fields", "GET", self._list_fields),
            (r"departments", "GET", self._list_departments),
            (r"departments", "POST", self._create_department),
            (r"requester_groups", "GET", self._list_groups),
            (r"requester_groups", "POST", self._create_group),
            (r"requester_groups/(\d+)/members", "GET", self._list_members),
            (r"requester_groups/(\d+)/members/(\d+)", "POST", self._add_member),
            (r"requester_groups/(\d+)/members/(\d+)", "DELETE", self._remove_member),
        ]

    @staticmethod
    def _body(request: Request) -> Any:
        if request.method not in ("POST", "PUT") or not request.raw:
            return None
        if not request.content_type.startswith("application/json"):
            raise Refused(
                415,
                {
                    "code": "invalid_content_type",
                    "message": "Content-Type header is not application/json",
                },
            )
        try:
            return json.loads(request.raw)
        except ValueError:
            raise Refused(
                400, {"code": "invalid_json", "message": "Request body has invalid json format"}
            ) from None

    # --- requesters -----------------------------------------------------------------------

    def _list_requesters(
        self, request: Request, body: Any, now: float
    ) -> tuple[int, Any, dict[str, str]]:
        q = request.query
        items: Iterable[dict[str, Any]]
        if "query" in q or "email" in q:
            items = self._filtered(q, now)
            if "query" in q:  # the filter language pages by 30, at most 40 pages
                page = _int(q, "page", 1)
                if page > 40:
                    raise invalid("page", "It should be between 1 and 40")
                return self._page(request, list(items), "requesters", self.view, size=30)
        else:
            items = self.requesters.values()
        if "active" in q:
            wanted = q["active"][0].lower() == "true"
            items = [r for r in items if r["active"] is wanted]
        return self._page(request, list(items), "requesters", self.view)

    def _filtered(self, q: dict[str, list[str]], now: float) -> list[dict[str, Any]]:
        """The requesters whose indexed values match: what was written ``index_lag`` ago."""
        test = parse_query(q["query"][0]) if "query" in q else by_email(q["email"][0])
        found = []
        for requester_id, history in self._index.items():
            seen = [values for at, values in history if at <= now - self.index_lag]
            if seen and seen[-1] is not None and test(seen[-1]):
                found.append(self.requesters[requester_id])
        found.sort(key=lambda r: r["created_at"], reverse=True)
        return found

    def _show(
        self, request: Request, body: Any, now: float, rid: str
    ) -> tuple[int, Any, dict[str, str]]:
        return 200, {"requester": self.view(self._requester(rid))}, {}

    def _create(self, request: Request, body: Any, now: float) -> tuple[int, Any, dict[str, str]]:
        data = self._checked(body, None)
        if not any(
            data.get(k) for k in ("primary_email", "work_phone_number", "mobile_phone_number")
        ):
            raise invalid(
                "primary_email",
                "Please provide at least one of primary_email, work_phone_number, "
                "mobile_phone_number",
                "missing_field",
            )
        if not data.get("first_name"):
            raise invalid(
                "first_name", "It should not be blank as this is a mandatory field", "missing_field"
            )
        requester: dict[str, Any] = {
            "id": next(self._ids),
            "first_name": None,
            "last_name": None,
            "job_title": None,
            "primary_email": None,
            "secondary_emails": [],
            "work_phone_number": None,
            "mobile_phone_number": None,
            "department_ids": [],
            "can_see_all_tickets_from_associated_departments": False,
            "can_see_all_changes_from_associated_departments": False,
            "custom_fields": {},
            "active": True,
            "has_logged_in": False,
            "created_at": self._stamp(now),
        }
        custom = data.pop("custom_fields", {})
        requester.update(data)
        requester["custom_fields"] = {
            f["name"]: custom.get(f["name"]) for f in self.custom_fields()
        }
        self._required(requester)
        self._store(requester, now)
        return 201, {"requester": self.view(requester)}, {}

    def _update(
        self, request: Request, body: Any, now: float, rid: str
    ) -> tuple[int, Any, dict[str, str]]:
        requester = self._requester(rid)
        data = self._checked(body, requester)
        if "first_name" in data and not data["first_name"]:
            raise invalid(
                "first_name", "It should not be blank as this is a mandatory field", "missing_field"
            )
        changed = {**requester, **data}
        # Sent or not, the flag is false after an update unless this one says true.
        changed["can_see_all_tickets_from_associated_departments"] = (
            data.get("can_see_all_tickets_from_associated_departments") is True
        )
        if "custom_fields" in data:  # the whole object: fields left out are emptied
            changed["custom_fields"] = {
                f["name"]: data["custom_fields"].get(f["name"]) for f in self.custom_fields()
            }
        self._required(changed)
        self._unindex(requester)
        requester.clear()
        requester.update(changed)
        self._store(requester, now)
        return 200, {"requester": self.view(requester)}, {}

    def _deactivate(
        self, request: Request, body: Any, now: float, rid: str
    ) -> tuple[int, Any, dict[str, str]]:
        requester = self._requester(rid)
        requester["active"] = False
        requester["updated_at"] = self._stamp(now)
        self._reindex(requester, now)
        return 204, None, {}

    def _reactivate(
        self, request: Request, body: Any, now: float, rid: str
    ) -> tuple[int, Any, dict[str, str]]:
        requester = self._requester(rid)
        requester["active"] = True
        requester["updated_at"] = self._stamp(now)
        self._reindex(requester, now)
        return 200, {"requester": self.view(requester)}, {}

    def _forget(
        self, request: Request, body: Any, now: float, rid: str
    ) -> tuple[int, Any, dict[str, str]]:
        requester = self._requester(rid)
        self._unindex(requester)
        del self.requesters[requester["id"]]
        self._index.setdefault(requester["id"], []).append((now, None))
        for group in self.groups.values():
            group["members"].discard(requester["id"])
        self.forgotten.append(requester["id"])
        return 204, None, {}

    def _requester(self, rid: str) -> dict[str, Any]:
        requester = self.requesters.get(int(rid))
        if requester is None:
            raise Refused(404)
        return requester

    def _checked(self, body: Any, current: dict[str, Any] | None) -> dict[str, Any]:
        """The payload's values, each checked; Refused naming the first bad ones."""
        if not isinstance(body, dict):
            raise Refused(
                400, {"code": "invalid_json", "message": "Request body has invalid json format"}
            )
        errors = _shape_errors(body)
        emails = _email_errors(body, errors)
        own = current["id"] if current else None
        for field, email in emails:
            holder = self.by_email.get(email)
            if (holder is not None and holder != own) or email in self.agent_emails:
                raise invalid(field, "It should be a unique value", "duplicate_value", 409)
        if "department_ids" in body:
            ids = body["department_ids"]
            if not isinstance(ids, list) or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in ids
            ):
                errors.append(
                    _error(
                        "department_ids", "It should be a/an Array of Integer", "datatype_mismatch"
                    )
                )
            elif any(i not in self.departments for i in ids):
                errors.append(
                    _error(
                        "department_ids", "There are no records matching the ids", "invalid_value"
                    )
                )
        if "custom_fields" in body:
            errors += self._custom_errors(body["custom_fields"])
        if errors:
            raise Refused(400, {"description": "Validation failed", "errors": errors})
        return dict(body)

    def custom_fields(self) -> list[dict[str, Any]]:
        return [f for f in self.fields if str(f["type"]).startswith("custom_")]

    def _custom_errors(self, values: Any) -> list[dict[str, str]]:
        if not isinstance(values, dict):
            return [
                {
                    "field": "custom_fields",
                    "message": "It should be a/an key/value pair",
                    "code": "datatype_mismatch",
                }
            ]
        fields = {f["name"]: f for f in self.custom_fields()}
        errors = []
        for name, value in values.items():
            field = fields.get(name)
            if field is None:
                errors.append(
                    {
                        "field": name,
                        "message": "Unexpected/invalid field in request",
                        "code": "invalid_field",
                    }
                )
            elif value is not None and (problem := _custom_problem(field, value)):
                errors.append({"field": name, "message": problem[0], "code": problem[1]})
        return errors

    def _required(self, requester: dict[str, Any]) -> None:
        for field in self.custom_fields():
            if field.get("required_for_agents") and requester["custom_fields"].get(
                field["name"]
            ) in (None, ""):
                raise invalid(
                    field["name"],
                    "It should not be blank as this is a mandatory field",
                    "missing_field",
                )

    def _store(self, requester: dict[str, Any], now: float) -> None:
        requester["updated_at"] = self._stamp(now)
        self.requesters[requester["id"]] = requester
        for email in _emails(requester):
            self.by_email[email] = requester["id"]
        self._reindex(requester, now)

    def _unindex(self, requester: dict[str, Any]) -> None:
        for email in _emails(requester):
            if self.by_email.get(email) == requester["id"]:
                del self.by_email[email]

    def _reindex(self, requester: dict[str, Any], now: float) -> None:
        """What filters will see ``index_lag`` from now; older entries no filter needs go."""
        history = self._index.setdefault(requester["id"], [])
        history.append((now, searchable(requester)))
        while len(history) > 1 and history[1][0] <= now - self.index_lag:
            history.pop(0)

    def view(self, requester: dict[str, Any]) -> dict[str, Any]:
        names = [
            self.departments[i]["name"]
            for i in requester["department_ids"]
            if i in self.departments
        ]
        return {
            **requester,
            "secondary_emails": list(requester["secondary_emails"]),
            "department_ids": list(requester["department_ids"]),
            "department_names": names,
            "custom_fields": dict(requester["custom_fields"]),
            "is_agent": False,
            "vip_user": requester.get("vip_user", False),
            "time_zone": requester.get("time_zone", "Eastern Time (US & Canada)"),
            "time_format": requester.get("time_format", "12h"),
            "language": requester.get("language", "en"),
        }

    def _stamp(self, now: float) -> str:
        return datetime.fromtimestamp(self._epoch + now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    # --- fields, departments, requester groups ----------------------------------------------

    def _list_fields(
        self, request: Request, body: Any, now: float
    ) -> tuple[int, Any, dict[str, str]]:
        return self._page(request, self.fields, "requester_fields", dict, default_size=10)

    def _list_departments(
        self, request: Request, body: Any, now: float
    ) -> tuple[int, Any, dict[str, str]]:
        return self._page(request, list(self.departments.values()), "departments", dict)

    def _create_department(
        self, request: Request, body: Any, now: float
    ) -> tuple[int, Any, dict[str, str]]:
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise invalid(
                "name", "It should not be blank as this is a mandatory field", "missing_field"
            )
        if set(body) - {
            "name",
            "description",
            "head_user_id",
            "prime_user_id",
            "domains",
            "custom_fields",
        }:
            raise invalid(
                sorted(set(body))[0], "Unexpected/invalid field in request", "invalid_field"
            )
        if any(d["name"].casefold() == name.strip().casefold() for d in self.departments.values()):
            raise invalid("name", "It should be a unique value", "duplicate_value", 409)
        department = {
            "id": next(self._ids),
            "name": name.strip(),
            "description": body.get("description"),
            "created_at": self._stamp(now),
            "updated_at": self._stamp(now),
        }
        self.departments[department["id"]] = department
        return 201, {"department": dict(department)}, {}

    def department(self, name: str) -> int:
        """The id of the department ``name``, created when missing (tests set up with it)."""
        for department in self.departments.values():
            if department["name"] == name:
                return int(department["id"])
        department = {"id": next(self._ids), "name": name, "description": None}
        self.departments[department["id"]] = department
        return int(department["id"])

    def _list_groups(
        self, request: Request, body: Any, now: float
    ) -> tuple[int, Any, dict[str, str]]:
        return self._page(request, list(self.groups.values()), "requester_groups", _group_view)

    def _create_group(
        self, request: Request, body: Any, now: float
    ) -> tuple[int, Any, dict[str, str]]:
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise invalid(
                "name", "It should not be blank as this is a mandatory field", "missing_field"
            )
        if set(body) - {"name", "description", "type"}:
            raise invalid(
                sorted(set(body))[0], "Unexpected/invalid field in request", "invalid_field"
            )
        if body.get("type", "manual") != "manual":
            raise invalid(
                "type", "Rule-based groups need rules; only manual groups can be created here"
            )
        if any(g["name"].casefold() == name.strip().casefold() for g in self.groups.values()):
            raise invalid("name", "It should be a unique value", "duplicate_value", 409)
        group = self.add_group(name.strip(), description=body.get("description"))
        return 201, {"requester_group": _group_view(group)}, {}

    def add_group(
        self, name: str, kind: str = "manual", description: str | None = None
    ) -> dict[str, Any]:
        group: dict[str, Any] = {
            "id": next(self._ids),
            "name": name,
            "description": description,
            "type": kind,
            "members": set(),
        }
        self.groups[group["id"]] = group
        return group

    def _group(self, gid: str) -> dict[str, Any]:
        group = self.groups.get(int(gid))
        if group is None:
            raise Refused(404)
        return group

    def _list_members(
        self, request: Request, body: Any, now: float, gid: str
    ) -> tuple[int, Any, dict[str, str]]:
        group = self._group(gid)
        members = [self.requesters[i] for i in sorted(group["members"]) if i in self.requesters]
        return self._page(request, members, "requesters", self.view)

    def _add_member(
        self, request: Request, body: Any, now: float, gid: str, rid: str
    ) -> tuple[int, Any, dict[str, str]]:
        group = self._group(gid)
        requester = self._requester(rid)
        if group["type"] != "manual":
            raise invalid(
                "requester_group_id", "Requesters can be added only to manual requester groups"
            )
        if requester["id"] in group["members"]:
            raise invalid(
                "requester_id",
                "The requester is already a member of this group",
                "duplicate_value",
                409,
            )
        group["members"].add(requester["id"])
        return 201, None, {}

    def _remove_member(
        self, request: Request, body: Any, now: float, gid: str, rid: str
    ) -> tuple[int, Any, dict[str, str]]:
        group = self._group(gid)
        if group["type"] != "manual":
            raise invalid(
                "requester_group_id", "Requesters can be removed only from manual requester groups"
            )
        if int(rid) not in group["members"]:
            raise Refused(404)
        group["members"].discard(int(rid))
        return 204, None, {}

    # --- pages ------------------------------------------------------------------------------

    def _page(
        self,
        request: Request,
        items: list[Any],
        key: str,
        view: Callable[[Any], Any],
        *,
        size: int | None = None,
        default_size: int = 30,
    ) -> tuple[int, Any, dict[str, str]]:
        per_page = size or min(max(_int(request.query, "per_page", default_size), 1), 100)
        page = max(_int(request.query, "page", 1), 1)
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            following = {k: v[0] for k, v in request.query.items()} | {"page": str(page + 1)}
            headers["Link"] = f'<{request.base}{request.path}?{urlencode(following)}>; rel="next"'
        return 200, {key: [view(item) for item in chunk]}, headers


class Request:
    def __init__(
        self,
        *,
        method: str,
        path: str,
        query: dict[str, list[str]],
        raw: bytes,
        auth: str,
        content_type: str,
        base: str,
    ) -> None:
        self.method, self.path, self.query, self.raw = method, path, query, raw
        self.auth, self.content_type, self.base = auth, content_type, base


REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    409: "Conflict",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def _basic_user(header: str) -> str | None:
    if not header.startswith("Basic "):
        return None
    try:
        user, _, _ = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return None
    return user


def _int(query: dict[str, list[str]], key: str, default: int) -> int:
    try:
        return int(query.get(key, [str(default)])[0])
    except ValueError:
        raise invalid(key, "It should be a/an Positive Integer", "datatype_mismatch") from None


def _emails(requester: dict[str, Any]) -> list[str]:
    found = [requester["primary_email"]] if requester.get("primary_email") else []
    return [e.lower() for e in found + list(requester.get("secondary_emails") or [])]


def _group_view(group: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in group.items() if k != "members"}


def _custom_problem(field: dict[str, Any], value: Any) -> tuple[str, str] | None:
    """(message, code) when ``value`` does not fit the custom field, else None."""
    kind = field["type"]
    if kind in ("custom_text", "custom_phone_number", "custom_paragraph", "custom_url"):
        if not isinstance(value, str):
            return "It should be a/an String", "datatype_mismatch"
        if len(value) > TEXT_LIMIT and kind != "custom_paragraph":
            return (
                f"Has {len(value)} characters, it can have maximum of {TEXT_LIMIT} characters",
                "invalid_value",
            )
    elif kind == "custom_number":
        if isinstance(value, bool) or not isinstance(value, int):
            return "It should be a/an Integer", "datatype_mismatch"
    elif kind == "custom_checkbox":
        if not isinstance(value, bool):
            return "It should be a/an Boolean", "datatype_mismatch"
    elif kind == "custom_dropdown":
        allowed = [str(c["value"]) for c in field.get("choices") or []]
        if value not in allowed:
            return f"It should be one of these values: '{','.join(allowed)}'", "invalid_value"
    elif kind == "custom_date":
        try:
            date.fromisoformat(value)
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError(value)
        except (TypeError, ValueError):
            return "It should be in the 'yyyy-mm-dd' format", "invalid_value"
    return None


# --- its own process ------------------------------------------------------------------------


def demo_fields() -> list[dict[str, Any]]:
    """The custom fields of the demo's account: its offices as a required dropdown."""
    office = dropdown("cf_office", "Office", ["Berlin", "London", "Remote"])
    return [
        custom_field("cf_employee_id", "Employee ID", "custom_number"),
        {**office, "required_for_agents": True},
        custom_field("cf_hire_date", "Hire date", "custom_date"),
        custom_field("cf_notes", "Notes", "custom_text"),
    ]


def _error(field: str, message: str, code: str) -> dict[str, str]:
    return {"field": field, "message": message, "code": code}


def _shape_errors(body: dict[str, Any]) -> list[dict[str, str]]:
    """Unknown keys, and text and flag values of the wrong type or length."""
    errors = [
        _error(key, "Unexpected/invalid field in request", "invalid_field")
        for key in sorted(set(body) - REQUESTER_KEYS)
    ]
    for key in TEXT_KEYS:
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            errors.append(_error(key, "It should be a/an String", "datatype_mismatch"))
        elif isinstance(value, str) and len(value) > TEXT_LIMIT:
            errors.append(
                _error(
                    key,
                    f"Has {len(value)} characters, it can have maximum of {TEXT_LIMIT} characters",
                    "invalid_value",
                )
            )
    for key in (
        "can_see_all_tickets_from_associated_departments",
        "can_see_all_changes_from_associated_departments",
    ):
        if key in body and not isinstance(body[key], bool):
            errors.append(_error(key, "It should be a/an Boolean", "datatype_mismatch"))
    return errors


def _email_errors(body: dict[str, Any], errors: list[dict[str, str]]) -> list[tuple[str, str]]:
    """The payload's addresses (field, lower-cased); a malformed one adds to ``errors``."""
    emails = []
    if "primary_email" in body:
        email = body["primary_email"]
        if not isinstance(email, str) or not EMAIL.match(email):
            errors.append(
                _error(
                    "primary_email",
                    "It should be in the 'valid email address' format",
                    "invalid_value",
                )
            )
        else:
            emails.append(("primary_email", email.lower()))
    if "secondary_emails" in body:
        extra = body["secondary_emails"]
        if not isinstance(extra, list) or not all(
            isinstance(e, str) and EMAIL.match(e) for e in extra
        ):
            errors.append(
                _error(
                    "secondary_emails",
                    "It should contain elements that are in the 'valid email address' format",
                    "invalid_value",
                )
            )
        else:
            emails += [("secondary_emails", e.lower()) for e in extra]
    return emails


def main(argv: list[str] | None = None) -> None:
    """``python -m azsyncd.targets.freshservice.simulated [--plan P] [--scale S] [--demo]``:
    the API key on stdin, the port printed first; one minute of the account lasts 60/S s; it
    serves until stdin closes (``targets/simulated_process.py``)."""
    import argparse

    parser = argparse.ArgumentParser(prog="simulated Freshservice")
    parser.add_argument("--plan", default="enterprise", choices=sorted(PLANS))
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--demo", action="store_true", help="the demo's custom fields")
    args = parser.parse_args(argv)
    fake = SimulatedFreshservice(
        lambda: time.monotonic() * args.scale,
        api_key=simulated_process.secret("key"),
        plan=args.plan,
        custom_fields=demo_fields() if args.demo else None,
    )
    simulated_process.serve(fake)


if __name__ == "__main__":
    main()
