"""A fake HappyFox that models the documented behaviour, as a WSGI app.

Used in-process through httpx.WSGITransport, over real HTTP on loopback (servers.serve), or
in a process of its own on a time-scaled clock (``python -m tests.fakes.happyfox SCALE``, as
the benchmarks run it).
Modelled: Basic auth; add-or-edit by email (``POST /users/``); one contact read and edited
by id (``GET``/``POST /user/<id>/``, its address included; an address another contact has is
refused); an edit resets every custom field it leaves out; a phone is edited only when its
integer id is given, otherwise added; at most 100 contacts a bulk call; 50-contact pages;
500 GET / 300 POST a minute, and going over locks the account with 429s for 10 minutes;
per-field validation errors, required fields on every add and edit, and a text field's
length.
"""

from __future__ import annotations

import base64
import json
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.servers import serve_forever
from tests.helpers import within

API = "/api/1.1/json/"
TEXT_LIMIT = 255  # a text field's longest value


class FakeHappyFox:
    def __init__(
        self,
        clock: Callable[[], float],
        key: str = "key",
        code: str = "code",
        get_limit: int = 500,
        post_limit: int = 300,
        lock_seconds: float = 600,
    ) -> None:
        self.clock = clock
        self.auth = "Basic " + base64.b64encode(f"{key}:{code}".encode()).decode()
        self.limits = {"GET": get_limit, "POST": post_limit}
        self.lock_seconds = lock_seconds
        self.recent: dict[str, deque[float]] = {"GET": deque(), "POST": deque()}
        self.locked_until = 0.0
        self.lock_next_call = False  # the next call finds the account locked, as if over the limit
        self.calls: list[tuple[str, str, float]] = []
        self.fail_next: list[int] = []  # statuses to answer with before serving normally
        self.delay = 0.0  # seconds each POST takes, to make a sync slow enough to interrupt
        # A POST whose body holds one of these texts waits until ``gate`` is set (60 s at
        # most): a sync held mid-way, whatever the machine's speed.
        self.gate = threading.Event()
        self.gate_on: set[bytes] = set()
        # A POST whose body holds this text is answered one byte every ``drip_every``
        # seconds, never to end: a help desk that hangs while it still seems to answer.
        self.drip: bytes = b""
        self.drip_every = 5.0
        self.dripped: list[float] = []  # when each dripping answer began
        self.created: dict[str, int] = {}  # email -> how many times a contact was created for it
        self.contacts: dict[int, dict[str, Any]] = {}
        self.by_email: dict[str, dict[str, Any]] = {}
        # id -> {"id", "name", "contacts": {contact id: access_tickets}}: O(1) a member
        self.groups: dict[int, dict[str, Any]] = {}
        self.fields = [
            {"id": 1, "name": "Department", "type": "text", "required": False, "choices": None},
            {"id": 2, "name": "Employee ID", "type": "number", "required": False, "choices": None},
            {
                "id": 3,
                "name": "Office",
                "type": "choice",
                "required": False,
                "choices": [{"id": 31, "text": "Berlin"}, {"id": 32, "text": "London"}],
            },
            {"id": 4, "name": "Notes", "type": "text", "required": False, "choices": None},
            {"id": 5, "name": "Badge", "type": "hologram", "required": False, "choices": None},
        ]
        self._next_id = 1
        self._phone_ids = 1000
        self._lock = threading.Lock()

    # --- the WSGI entry point -------------------------------------------------------------

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        # A call counts when it arrives, as HappyFox counts it: not once the fake's lock,
        # behind the other writers' calls, lets it be handled (on a busy machine that moved
        # calls into the next minute).
        arrived = self.clock()
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        if self.gate_on and method == "POST" and any(text in raw for text in self.gate_on):
            self.gate.wait(within(60))
        if self.delay and method == "POST":
            time.sleep(self.delay)
        if self.drip and method == "POST" and self.drip in raw:
            self.calls.append((method, path, arrived))
            self.dripped.append(time.monotonic())
            start_response("200 OK", [("Content-Type", "application/json")])
            return self._dripping()
        with self._lock:
            status, body = self._handle(
                method, path, query, raw, environ.get("HTTP_AUTHORIZATION", ""), arrived
            )
        data = json.dumps(body).encode()
        start_response(
            f"{status} X",
            [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
        )
        return [data]

    def _dripping(self) -> Iterable[bytes]:
        yield b"["
        while True:
            time.sleep(self.drip_every)
            yield b" "

    def _handle(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        raw: bytes,
        auth: str,
        arrived: float | None = None,
    ) -> tuple[int, Any]:
        now = self.clock() if arrived is None else arrived
        self.calls.append((method, path, now))
        if auth != self.auth:
            return 401, {"error": "Authentication failed"}
        if self.lock_next_call:
            self.lock_next_call, self.locked_until = False, now + self.lock_seconds
        if now < self.locked_until:
            return 429, {"error": "Rate limit exceeded"}
        kind = "GET" if method == "GET" else "POST"
        recent = self.recent[kind]
        while recent and recent[0] <= now - 60:
            recent.popleft()
        recent.append(now)
        if len(recent) > self.limits[kind]:
            self.locked_until = now + self.lock_seconds
            return 429, {"error": "Rate limit exceeded"}
        if self.fail_next:
            return self.fail_next.pop(0), {"error": "injected"}
        route = path.removeprefix(API)
        body = json.loads(raw) if raw else None
        if route == "__stats__/":  # for benchmarks: what the client made us do
            return 200, {
                "post_users": self.post_calls("users/"),
                "calls": len(self.calls),
                "contacts": len(self.contacts),
                "post_other": sum(1 for m, p, _ in self.calls if m == "POST")
                - self.post_calls("users/"),
                "gets": sum(1 for m, _, _ in self.calls if m == "GET"),
                "locked": self.locked_until > now,
                # When the first and the last POST came, on this account's (scaled) clock.
                "first_post": min((t for m, _, t in self.calls if m == "POST"), default=None),
                "last_post": max((t for m, _, t in self.calls if m == "POST"), default=None),
            }
        if route == "user_custom_fields/" and method == "GET":
            return 200, self.fields
        if route == "users/" and method == "GET":
            return 200, self._list(query)
        if route == "users/" and method == "POST":
            if isinstance(body, list):
                if len(body) > 100:
                    return 400, {"error": "At most 100 contacts can be added at once"}
                return 200, [self._add_or_edit(item) for item in body]
            return 200, self._add_or_edit(body)
        one = re.fullmatch(r"user/(\d+)/", route)
        if one and int(one.group(1)) not in self.contacts:
            return 404, {"error": "Not found"}
        if one and method == "GET":
            return 200, self._view(self.contacts[int(one.group(1))])
        if one and method == "POST":
            return self._edit_by_id(self.contacts[int(one.group(1))], body or {})
        if route == "contact_groups/" and method == "GET":
            return 200, [self._group_view(g) for g in self.groups.values()]
        if route == "contact_groups/" and method == "POST":
            group_id = 100 + len(self.groups)
            # contacts: contact id -> access_tickets; a dict keeps membership O(1) a contact
            self.groups[group_id] = {"id": group_id, "name": body["name"], "contacts": {}}
            return 200, self._group_view(self.groups[group_id])
        match = re.fullmatch(r"contact_group/(\d+)/(update|delete)_contacts/", route)
        if match and method == "POST":
            if len(body) > 100:
                return 400, {"error": "At most 100 contacts"}
            group_id = int(match.group(1))
            if group_id not in self.groups:
                return 404, {"error": "Not found"}
            if match.group(2) == "update":
                return 200, self.add_to_group(
                    group_id, {e["contact"]: bool(e.get("access_tickets")) for e in body}
                )
            for entry in body:
                self.groups[group_id]["contacts"].pop(entry["contact"], None)
            return 200, self._group_view(self.groups[group_id])
        return 404, {"error": "Not found"}

    def add_to_group(
        self, group_id: int, contacts: Iterable[int] | dict[int, bool]
    ) -> dict[str, Any]:
        """Add contacts to a group, each once (a dict gives each one's access_tickets)."""
        tickets = contacts if isinstance(contacts, dict) else dict.fromkeys(contacts, False)
        self.groups[group_id]["contacts"].update(tickets)
        return self._group_view(self.groups[group_id])

    @staticmethod
    def _group_view(group: dict[str, Any]) -> dict[str, Any]:
        """A group as answered: the (long) member list left out."""
        return {"id": group["id"], "name": group["name"], "contact_count": len(group["contacts"])}

    def group(self, name: str) -> dict[int, bool]:
        """Contact id -> access_tickets of the group ``name`` (empty if there is none)."""
        found = [g["contacts"] for g in self.groups.values() if g["name"] == name]
        return found[0] if found else {}

    def _list(self, query: dict[str, list[str]]) -> dict[str, Any]:
        size = min(int(query.get("size", ["10"])[0]), 50)
        page = int(query.get("page", ["1"])[0])
        items = list(self.contacts.values())  # insertion order is id order
        for term in query.get("q", [""])[0].split():
            if term.startswith("email:"):
                found = self.by_email.get(term[6:].lower())
                items = [found] if found else []
        pages = max(1, -(-len(items) // size))
        chunk = items[(page - 1) * size : page * size]
        return {
            "page_info": {
                "count": len(chunk),
                "page_count": pages,
                "start_index": (page - 1) * size + 1,
                "end_index": (page - 1) * size + len(chunk),
                "last_index": len(items),
            },
            "data": [self._view(c) for c in chunk],
        }

    def _view(self, contact: dict[str, Any]) -> dict[str, Any]:
        custom = []
        for f in self.fields:
            value = contact["custom"].get(f["id"])
            label = next((c["text"] for c in f["choices"] or [] if c["id"] == value), None)
            custom.append(
                {
                    "id": f["id"],
                    "name": f["name"],
                    "type": f["type"],
                    "value": label if label is not None else value,
                    "value_id": value if label is not None else None,
                }
            )
        return {
            "id": contact["id"],
            "name": contact["name"],
            "email": contact["email"],
            "phones": contact["phones"],
            "custom_fields": custom,
            "contact_groups": [
                {"id": g["id"], "name": g["name"]}
                for g in self.groups.values()
                if contact["id"] in g["contacts"]
            ],
            "is_login_enabled": contact.get("login", True),
        }

    def _checked(self, item: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[int, Any]]:
        """The per-field errors of a contact as written, and its custom values (a field left
        out is not among them: it is reset)."""
        errors = []
        if not item.get("name"):
            errors.append({"field": "name", "errors": ["This field is required."]})
        custom: dict[int, Any] = {}
        for f in self.fields:
            key = f"c-cf-{f['id']}"
            if f["required"] and item.get(key) in (None, "", []):  # on every add and edit
                errors.append({"field": key, "errors": ["This field is required."]})
            if key not in item:
                continue  # left out: reset below, as HappyFox does
            value = item[key]
            if f["type"] == "text" and len(str(value)) > TEXT_LIMIT:
                errors.append(
                    {
                        "field": key,
                        "errors": [f"Ensure this field has no more than {TEXT_LIMIT} characters."],
                    }
                )
            elif f["type"] == "number" and not isinstance(value, (int, float)):
                errors.append({"field": key, "errors": ["A valid number is required."]})
            elif f["type"] == "choice" and value not in [c["id"] for c in f["choices"]]:
                errors.append(
                    {
                        "field": key,
                        "errors": [
                            f"Select a valid choice. {value} is not one of the available choices."
                        ],
                    }
                )
            custom[f["id"]] = value
        return errors, custom

    def _add_or_edit(self, item: dict[str, Any]) -> dict[str, Any]:
        email = str(item.get("email") or "")
        errors, custom = self._checked(item)
        if errors:
            return {"email": email, "success": False, "error": errors}
        existing = self.by_email.get(email.lower())
        if existing is None:
            existing = {"id": self._next_id, "email": email, "created": True, "phones": []}
            self.created[email.lower()] = self.created.get(email.lower(), 0) + 1
            self._next_id += 1
            self.contacts[existing["id"]] = existing
            self.by_email[email.lower()] = existing
        self._store(existing, item, custom)
        return {"email": email, "success": True, "id": existing["id"]}

    def _edit_by_id(self, contact: dict[str, Any], item: dict[str, Any]) -> tuple[int, Any]:
        """``POST /user/<id>/``: the same contact edited, its address too when one is given."""
        errors, custom = self._checked(item)
        email = str(item.get("email") or contact["email"])
        holder = self.by_email.get(email.lower())
        if holder is not None and holder is not contact:
            errors.append(
                {"field": "email", "errors": ["A contact with this email already exists."]}
            )
        if errors:
            return 400, {"error": errors}
        del self.by_email[contact["email"].lower()]
        contact["email"] = email
        self.by_email[email.lower()] = contact
        self._store(contact, item, custom)
        return 200, self._view(contact)

    def _store(self, contact: dict[str, Any], item: dict[str, Any], custom: dict[int, Any]) -> None:
        phones = self._phones(contact.get("phones", []), item.get("phones") or [])
        contact.update(name=item["name"], phones=phones, custom=custom)  # the rest is reset
        if "is_login_enabled" in item:
            contact["login"] = item["is_login_enabled"] == "TRUE"
        contact.setdefault("login", True)

    def add_field(
        self, name: str, type: str = "text", choices: list[str] | None = None
    ) -> dict[str, Any]:
        """A contact custom field an admin adds in HappyFox's own settings (the API has no
        call for it); a ``choice`` field's choices get ids of their own."""
        field_id = max(f["id"] for f in self.fields) + 1
        listed = [{"id": field_id * 10 + n, "text": t} for n, t in enumerate(choices or [], 1)]
        field = {
            "id": field_id,
            "name": name,
            "type": type,
            "required": False,
            "choices": listed if type == "choice" else None,
        }
        self.fields.append(field)
        return field

    def agent_edits(self, contact_id: int, **values: Any) -> None:
        """What an agent does in HappyFox's own screens: ``email``, ``name``, or a custom
        field by its name (None empties it); nothing is checked, as a person is trusted."""
        contact = self.contacts[contact_id]
        names = {f["name"]: f["id"] for f in self.fields}
        for key, value in values.items():
            if key == "email":
                del self.by_email[contact["email"].lower()]
                self.by_email[value.lower()] = contact
                contact["email"] = value
            elif key == "name":
                contact["name"] = value
            else:
                contact["custom"][names[key]] = value

    def busiest_minute(self, kind: str) -> int:
        """The most calls of ``kind`` (GET or POST) the account received in any 60 s."""
        times = sorted(at for method, _, at in self.calls if (method == "GET") == (kind == "GET"))
        busiest, start = 0, 0
        for end, at in enumerate(times):
            while times[start] <= at - 60:
                start += 1
            busiest = max(busiest, end - start + 1)
        return busiest

    def _phones(
        self, current: list[dict[str, Any]], given: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """A phone whose id is one of the contact's (an integer, as HappyFox gave it) is
        edited; any other entry is a new phone; phones left out stay."""
        phones = {p["id"]: dict(p) for p in current}
        for phone in given:
            known = phone.get("id")
            if not (isinstance(known, int) and known in phones):
                self._phone_ids += 1
                known = self._phone_ids
            phones[known] = {
                "id": known,
                "type": phone["type"],
                "number": phone["number"],
                "is_primary": bool(phone.get("is_primary")),
            }
        return list(phones.values())

    def post_calls(self, route: str) -> int:
        return sum(1 for method, path, _ in self.calls if method == "POST" and path == API + route)


def main() -> None:
    """``SCALE [MARK_FIELD]``: one HappyFox minute lasts 60/SCALE seconds; a text field named
    MARK_FIELD is added (the custom-field mark's); the port is printed first."""
    scale = float(sys.argv[1])
    fake = FakeHappyFox(lambda: time.monotonic() * scale)
    fake.fields = [f for f in fake.fields if f["type"] != "hologram"]
    if len(sys.argv) > 2:
        fake.add_field(sys.argv[2])
    serve_forever(fake)


if __name__ == "__main__":
    main()
