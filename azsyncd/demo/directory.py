"""A simulated Entra ID tenant served as Microsoft identity + Graph through an httpx transport.

It speaks what the real client relies on: OpenID discovery, client-credential tokens and
device-code sign-ins, ``/users`` paging with ``@odata.nextLink``, ``/users/delta`` with
``$deltatoken=latest``, changes and ``@removed``, nested groups through
``transitiveMembers``, group search, and one-user reads. The manager is a relationship, as
in Graph: ``$expand=manager($select=...)`` on reads, ``/users/{id}/manager`` (404 without
one), and on a delta ``$select=manager`` tracks it (``manager@delta``, the id only) while
``$expand`` is refused. The real msal and Graph code run on it. The test fakes
(tests/fakes/directory.py) extend it with changes, faults and checks.
"""

from __future__ import annotations

import base64
import json
import random
import re
import threading
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode

import httpx

DEMO_LOGIN = "https://login.contoso-demo.test"
DEMO_GRAPH = "https://graph.contoso-demo.test"
DEMO_TENANT = "c0de0000-0000-4000-8000-00000000c0de"
DEMO_CLIENT = "c1d00000-0000-4000-8000-00000000c1d0"
DEMO_SECRET = "demo-client-secret"
DEVICE_CODE_GRANTS = ("urn:ietf:params:oauth:grant-type:device_code", "refresh_token")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_jwt(claims: dict[str, Any]) -> str:
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{b64url(json.dumps(claims).encode())}.demo"


def identity_error(status: int, error: str, code: int, description: str) -> httpx.Response:
    """An answer of the identity platform's token and discovery endpoints, with its AADSTS code."""
    return httpx.Response(
        status,
        json={
            "error": error,
            "error_codes": [code],
            "error_description": f"AADSTS{code}: {description}",
        },
    )


def graph_error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(
        status,
        headers={"request-id": f"demo-{int(time.time() * 1000)}"},
        json={"error": {"code": code, "message": message}},
    )


@dataclass
class Group:
    id: str
    name: str
    members: list[str] = field(default_factory=list)  # user ids
    groups: list[str] = field(default_factory=list)  # nested group ids


class SimulatedTenant:
    user_code = "DEMO-CODE"  # what a device-code sign-in shows the admin

    def __init__(
        self,
        name: str = "Contoso",
        tenant_id: str = DEMO_TENANT,
        secret: str | None = DEMO_SECRET,
        login: str = DEMO_LOGIN,
        graph: str = DEMO_GRAPH,
        page_size: int = 100,
        roles: tuple[str, ...] = ("User.Read.All", "GroupMember.Read.All"),
        pending_polls: int = 2,
    ) -> None:
        self.name, self.tenant_id, self.secret = name, tenant_id, secret
        self.login, self.graph = login.rstrip("/"), graph.rstrip("/")
        self.page_size = page_size
        self.users: dict[str, dict[str, Any]] = {}
        self.managers: dict[str, str] = {}  # user id -> its manager's id
        self.groups: dict[str, Group] = {}
        self.version = 0
        self.changed_at: dict[str, int] = {}  # user id -> version of its last change
        self.removed_at: dict[str, int] = {}
        self.roles = list(roles)
        self.pending_polls = pending_polls  # a device-code sign-in is "pending" this often first
        self.device_polls = 0
        self._lock = threading.Lock()

    # Takes the lock the transport holds: the directory may change while it is read.
    def add_user(self, user: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.version += 1
            self.users[user["id"]] = user
            self.changed_at[user["id"]] = self.version
            self.removed_at.pop(user["id"], None)
        return user

    def set_manager(self, user_id: str, manager_id: str | None) -> None:
        """A user's manager changed: the user shows in the next delta (manager@delta)."""
        with self._lock:
            self.version += 1
            if manager_id is None:
                self.managers.pop(user_id, None)
            else:
                self.managers[user_id] = manager_id
            self.changed_at[user_id] = self.version

    def _expanded(self, user: dict[str, Any], select: list[str], expand: str) -> dict[str, Any]:
        """A user as a read gives it: the selected properties, and the manager if expanded."""
        picked = _pick(user, select)
        if expand:
            manager = self.users.get(self.managers.get(str(user["id"]), ""))
            if manager is not None:
                picked["manager"] = {
                    "@odata.type": "#microsoft.graph.user",
                    **_pick(manager, _expand_select(expand)),
                }
        return picked

    def transitive_members(self, group_id: str, seen: set[str] | None = None) -> list[str]:
        seen = seen if seen is not None else set()
        if group_id in seen:
            return []
        seen.add(group_id)
        group = self.groups[group_id]
        found = list(group.members)
        for nested in group.groups:
            found += self.transitive_members(nested, seen)
        return list(dict.fromkeys(found))

    # --- the transport ------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            url = str(request.url)
            if url.startswith(self.login):
                return self._identity(request)
            if url.startswith(self.graph):
                if request.headers.get("Authorization", "") != f"Bearer {self._token()}":
                    return graph_error(
                        401, "InvalidAuthenticationToken", "Access token is missing or invalid."
                    )
                return self._graph(request)
            return httpx.Response(404)

    def _token(self) -> str:
        return unsigned_jwt({"tid": self.tenant_id, "roles": self.roles, "aud": self.graph})

    def _identity(self, request: httpx.Request) -> httpx.Response:
        root = f"{self.login}/{self.tenant_id}"
        if not str(request.url).startswith(root + "/"):
            return identity_error(400, "invalid_tenant", 90002, "Tenant not found.")
        endpoint = str(request.url).split("?")[0].removeprefix(root)
        if endpoint == "/v2.0/.well-known/openid-configuration":
            endpoints = {
                "authorization_endpoint": "oauth2/v2.0/authorize",
                "token_endpoint": "oauth2/v2.0/token",
                "device_authorization_endpoint": "oauth2/v2.0/devicecode",
                "issuer": "v2.0",
            }
            return httpx.Response(200, json={k: f"{root}/{v}" for k, v in endpoints.items()})
        if endpoint == "/oauth2/v2.0/devicecode":
            self.device_polls = self.pending_polls
            return httpx.Response(200, json=self._device_flow())
        if endpoint == "/oauth2/v2.0/token":
            return self._token_endpoint(parse_qs(request.content.decode()))
        return httpx.Response(404)

    def _device_flow(self) -> dict[str, Any]:
        where = "https://microsoft.com/devicelogin"
        return {
            "device_code": "demo-device-code",
            "user_code": self.user_code,
            "expires_in": 900,
            "interval": 1,
            "verification_uri": where,
            "message": f"To sign in, open {where} and enter the code {self.user_code}.",
        }

    def _token_endpoint(self, form: dict[str, list[str]]) -> httpx.Response:
        grant = form.get("grant_type", [""])[0]
        if grant in DEVICE_CODE_GRANTS:
            return self._delegated(grant, form.get("client_id", [""])[0])
        refused = self._client_refused(form)
        if refused is not None:
            return refused
        return httpx.Response(
            200, json={"token_type": "Bearer", "expires_in": 3600, "access_token": self._token()}
        )

    def _client_refused(self, form: dict[str, list[str]]) -> httpx.Response | None:
        """Why the app's credential is refused, or None: the client secret must match."""
        if form.get("client_secret", [""])[0] != self.secret:
            return identity_error(401, "invalid_client", 7000215, "Invalid client secret provided.")
        return None

    def _delegated(self, grant: str, client_id: str) -> httpx.Response:
        """Device-code sign-in by a simulated admin: pending for a few polls, then signed in."""
        if grant != "refresh_token" and self.device_polls > 0:
            self.device_polls -= 1
            return identity_error(400, "authorization_pending", 70016, "pending")
        info = b64url(json.dumps({"uid": "admin", "utid": self.tenant_id}).encode())
        id_token = unsigned_jwt(
            {
                "oid": "admin",
                "tid": self.tenant_id,
                "preferred_username": "admin@contoso.example",
                "iss": f"{self.login}/{self.tenant_id}/v2.0",
                "aud": client_id,
                "sub": "admin",
            }
        )
        return httpx.Response(
            200,
            json={
                "token_type": "Bearer",
                "expires_in": 3600,
                "access_token": self._token(),
                "refresh_token": "demo-refresh",
                "id_token": id_token,
                "client_info": info,
                "scope": f"{self.graph}/.default",
            },
        )

    def _listing(self) -> Sequence[dict[str, Any]]:
        """Every user, in the order /users pages through them."""
        return list(self.users.values())

    def _graph(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v1.0")
        params = dict(request.url.params.items())
        select = [s for s in params.get("$select", "").split(",") if s]
        expand = params.get("$expand", "")
        refused = _refused_query(path, select, expand)
        if refused is not None:
            return refused
        if path == "/users":
            if "$filter" in params:
                return self._filtered(params["$filter"], select, expand)
            return self._page(self._listing(), params, select, "/users")
        if path == "/users/delta":
            return self._delta(params, select)
        for pattern, route in (
            (r"/groups/([^/]+)/transitiveMembers/microsoft\.graph\.user", self._members),
            (r"/users/([^/]+)/transitiveMemberOf/microsoft\.graph\.group", self._member_of),
            (r"/users/([^/]+)/manager", self._manager_of),
            (r"/users/([^/]+)", self._user),
        ):
            match = re.fullmatch(pattern, path)
            if match:
                return route(match.group(1), params, select, path)
        if path == "/groups":
            return self._group_search(params.get("$search", ""))
        if path == "/organization":
            return httpx.Response(200, json={"value": [{"displayName": self.name}]})
        return graph_error(404, "BadRequest", f"Unsupported path {path}")

    def _filtered(self, query: str, select: list[str], expand: str) -> httpx.Response:
        match = re.search(r"eq '((?:[^']|'')*)'", query)  # '' is a quote
        who = (match.group(1).replace("''", "'") if match else "").lower()
        found = [
            u
            for u in self.users.values()
            if str(u.get("userPrincipalName", "")).lower() == who
            or str(u.get("mail") or "").lower() == who
            or ("displayName eq" in query and _named(u, who))
        ]
        return httpx.Response(
            200, json={"value": [self._expanded(u, select, expand) for u in found]}
        )

    def _members(
        self, group: str, params: dict[str, str], select: list[str], path: str
    ) -> httpx.Response:
        if group not in self.groups:
            return graph_error(404, "Request_ResourceNotFound", f"Group '{group}' does not exist.")
        members = [self.users[i] for i in self.transitive_members(group) if i in self.users]
        return self._page(members, params, select, path)

    def _member_of(self, user: str, *_: Any) -> httpx.Response:
        ids = [g.id for g in self.groups.values() if user in self.transitive_members(g.id)]
        return httpx.Response(200, json={"value": [{"id": i} for i in ids]})

    def _manager_of(
        self, user: str, params: dict[str, str], select: list[str], path: str
    ) -> httpx.Response:
        manager = self.users.get(self.managers.get(user, ""))
        if user not in self.users or manager is None:
            return graph_error(
                404,
                "Request_ResourceNotFound",
                "Resource 'manager' does not exist or one of"
                " its queried reference-property objects are not present.",
            )
        return httpx.Response(
            200, json={"@odata.type": "#microsoft.graph.user", **_pick(manager, select)}
        )

    def _user(
        self, object_id: str, params: dict[str, str], select: list[str], path: str
    ) -> httpx.Response:
        user = self.users.get(object_id)
        if not user:
            return graph_error(
                404, "Request_ResourceNotFound", f"Resource '{object_id}' does not exist."
            )
        return httpx.Response(200, json=self._expanded(user, select, params.get("$expand", "")))

    def _group_search(self, search: str) -> httpx.Response:
        text = re.sub(r'^"displayName:(.*)"$', r"\1", search).lower()
        found = [
            {"id": g.id, "displayName": g.name}
            for g in self.groups.values()
            if text in g.name.lower()
        ]
        return httpx.Response(200, json={"value": sorted(found, key=lambda g: g["displayName"])})

    def _page(
        self, items: Sequence[dict[str, Any]], params: dict[str, str], select: list[str], path: str
    ) -> httpx.Response:
        top = min(int(params.get("$top", self.page_size)), self.page_size)
        start = int(params.get("$skiptoken", 0))
        expand = params.get("$expand", "")
        body: dict[str, Any] = {
            "value": [self._expanded(u, select, expand) for u in items[start : start + top]]
        }
        if start + top < len(items):
            rest = {k: v for k, v in params.items() if k != "$skiptoken"}
            body["@odata.nextLink"] = (
                f"{self.graph}/v1.0{path}?{urlencode({**rest, '$skiptoken': start + top})}"
            )
        return httpx.Response(200, json=body)

    def _delta_link(self, base: str, select: list[str]) -> str:
        return f"{base}?" + urlencode(
            {"$deltatoken": f"v{self.version}", "$select": ",".join(select)}
        )

    def _delta(self, params: dict[str, str], select: list[str]) -> httpx.Response:
        token = params.get("$deltatoken", "")
        base = f"{self.graph}/v1.0/users/delta"
        if "$expand" in params:
            return graph_error(400, "BadRequest", "$expand is not supported on delta queries.")
        if token == "latest":
            return httpx.Response(
                200, json={"value": [], "@odata.deltaLink": self._delta_link(base, select)}
            )
        if not token.startswith("v"):
            return graph_error(
                400,
                "BadRequest",
                "A full delta from scratch is not simulated; use $deltatoken=latest",
            )
        since = int(token[1:])
        changes = [
            self._tracked(self.users[i], select)
            for i, v in self.changed_at.items()
            if v > since and i in self.users
        ]
        changes += [
            {"id": i, "@removed": {"reason": "deleted"}}
            for i, v in self.removed_at.items()
            if v > since
        ]
        start = int(params.get("$skiptoken", 0))
        size = self.page_size
        body: dict[str, Any] = {"value": changes[start : start + size]}
        if start + size < len(changes):
            body["@odata.nextLink"] = f"{base}?" + urlencode(
                {"$deltatoken": token, "$select": ",".join(select), "$skiptoken": start + size}
            )
        else:
            body["@odata.deltaLink"] = self._delta_link(base, select)
        return httpx.Response(200, json=body)

    def _tracked(self, user: dict[str, Any], select: list[str]) -> dict[str, Any]:
        """A changed user in a delta; with $select=manager, its manager by id (manager@delta)."""
        picked = (
            _pick(user, [s for s in select if s != "manager"] or ["id"]) if select else dict(user)
        )
        if "manager" in select:
            manager = self.managers.get(str(user["id"]))
            picked["manager@delta"] = (
                [{"@odata.type": "#microsoft.graph.user", "id": manager}] if manager else []
            )
        return picked


def _pick(user: dict[str, Any], select: list[str]) -> dict[str, Any]:
    if not select:
        return dict(user)
    return {key: user.get(key) for key in select if key in user or key == "id"}


def _expand_select(expand: str) -> list[str]:
    """The properties of manager($select=a,b); none named: the manager's default ones."""
    found = re.search(r"\$select=([^;)]*)", expand)
    return (
        found.group(1).split(",") if found else ["id", "displayName", "mail", "userPrincipalName"]
    )


FIRST = [
    "Anna",
    "Bjørn",
    "Chloé",
    "Dmitri",
    "Eva",
    "François",
    "Grace",
    "Hiroshi",
    "Ingrid",
    "José",
    "Kemal",
    "Léa",
    "Mateo",
    "Nadia",
    "Oğuz",
    "Priya",
    "Quentin",
    "Rūta",
    "Søren",
    "Tomás",
    "Uma",
    "Václav",
    "Wei",
    "Zoë",
]
LAST = [
    "Andersson",
    "Bianchi",
    "Çelik",
    "Dubois",
    "Eriksen",
    "Fernández",
    "García",
    "Hernández",
    "Ivanova",
    "Jørgensen",
    "Kowalski",
    "López",
    "Müller",
    "Nakamura",
    "O'Brien",
    "Petrović",
    "Rossi",
    "Schäfer",
    "Tanaka",
    "Underwood",
    "Varga",
    "Wójcik",
    "Yılmaz",
    "Zhang",
]
E3_SKU = "05e9a617-0261-4cee-bb44-138d3ef5d965"  # Microsoft 365 E3's skuId
SKILLS = ["Python; Go", "Rust", "", "Go;Rust;Python", "Excel"]
DEPARTMENTS = ["Sales", "Support", "Engineering", "Finance", "Marketing", "Legal", "Operations"]
OFFICES = ["Berlin", "London", "Remote"]


# Letters NFKD does not take apart, spelled out for the demo's addresses.
ASCII_LOOKALIKES = str.maketrans({"ø": "o", "ß": "ss", "æ": "ae", "ı": "i", "ł": "l"})


def mailbox(name: str) -> str:
    """The ASCII local part of an address for a name: "Bjørn O'Brien" -> "bjorn.obrien"."""
    plain = unicodedata.normalize("NFKD", name.translate(ASCII_LOOKALIKES))
    text = plain.encode("ascii", "ignore").decode().lower().replace("'", "")
    return ".".join(part for part in re.split(r"[^a-z0-9]+", text) if part)


def contoso(users: int = 250, seed: int = 7) -> SimulatedTenant:
    """The demo's Contoso: varied, realistic and a little messy, deterministically."""
    return populate(SimulatedTenant(), users, seed)


T = TypeVar("T", bound=SimulatedTenant)


def populate(tenant: T, users: int = 250, seed: int = 7) -> T:
    """Fill ``tenant`` with Contoso's users and groups."""
    rng = random.Random(seed)
    for i in range(users):
        user = demo_user(i, rng)
        tenant.add_user(user)
        if i % 10:  # the first of every ten users is the manager of the nine after it
            tenant.managers[user["id"]] = f"00000000-0000-4000-a000-{i - i % 10:012d}"
    _add_groups(tenant)
    return tenant


def demo_user(i: int, rng: random.Random) -> dict[str, Any]:
    """Contoso's user number ``i``: every few users one of a directory's oddities."""
    first, last = FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)]
    slug = mailbox(f"{first}.{last}{i}") or f"user{i}"
    user: dict[str, Any] = {
        "id": f"00000000-0000-4000-a000-{i:012d}",
        "userPrincipalName": f"{slug}@contoso.example",
        "mail": f"{slug}@contoso.example",
        "otherMails": [],
        "displayName": f"{first} {last}",
        "givenName": first,
        "surname": last,
        "accountEnabled": True,
        "userType": "Member",
        "department": DEPARTMENTS[i % len(DEPARTMENTS)],
        "jobTitle": rng.choice(["Engineer", "Manager", "Analyst"]),
        "officeLocation": OFFICES[i % len(OFFICES)],
        "employeeId": str(10000 + i),
        "employeeHireDate": f"20{10 + i % 14:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}T00:00:00Z",
        "businessPhones": [f"+49 30 {100000 + i}"],
        "mobilePhone": f"+49 170 {200000 + i}",
        "companyName": "Contoso",
        "city": rng.choice(["Berlin", "London", "Lisbon"]),
        # Microsoft 365 E3 for members; guests and disabled accounts have none.
        "assignedLicenses": [{"skuId": E3_SKU, "disabledPlans": []}],
        "employeeLeaveDateTime": None,
        "onPremisesExtensionAttributes": {f"extensionAttribute{n}": None for n in range(1, 16)},
    }
    user["onPremisesExtensionAttributes"]["extensionAttribute1"] = SKILLS[i % len(SKILLS)]
    if i % 25 == 3:  # guests: a UPN that is no mailbox
        user.update(
            userType="Guest",
            userPrincipalName=f"{slug}_fabrikam.example#EXT#@contoso.example",
            mail=f"{slug}@fabrikam.example",
            assignedLicenses=[],
        )
    if i % 31 == 5:
        user["accountEnabled"] = False
        user["assignedLicenses"] = []
    if i % 43 == 9:
        user["employeeLeaveDateTime"] = f"2031-{1 + i % 12:02d}-15T17:00:00Z"
    if i % 17 == 4:
        user["mobilePhone"] = None  # an empty phone
    if i % 41 == 6:
        user["employeeId"] = f"A-{i}"  # not a number
    if i % 53 == 7:
        user["officeLocation"] = "Mars Base"  # not a choice
    if i % 97 == 8:
        user["jobTitle"] = '=HYPERLINK("http://evil.example","click")'  # a formula
    return user


def _add_groups(tenant: SimulatedTenant) -> None:
    """A group per department, two nested groups and one by office."""
    ids = list(tenant.users)
    for n, department in enumerate(DEPARTMENTS):
        tenant.groups[f"9{n:07d}-0000-4000-b000-000000000000"] = Group(
            f"9{n:07d}-0000-4000-b000-000000000000",
            department,
            [u for u in ids if tenant.users[u]["department"] == department],
        )
    tenant.groups["a0000001-0000-4000-b000-000000000000"] = Group(
        "a0000001-0000-4000-b000-000000000000",
        "Customer facing",
        [],
        ["90000000-0000-4000-b000-000000000000", "90000001-0000-4000-b000-000000000000"],
    )  # nested: Sales, Support
    tenant.groups["a0000002-0000-4000-b000-000000000000"] = Group(
        "a0000002-0000-4000-b000-000000000000",
        "Everyone in Berlin",
        [u for u in ids if tenant.users[u]["officeLocation"] == "Berlin"],
    )
    tenant.groups["a0000003-0000-4000-b000-000000000000"] = Group(
        "a0000003-0000-4000-b000-000000000000",
        "All staff",
        [],
        ["a0000001-0000-4000-b000-000000000000", "90000002-0000-4000-b000-000000000000"],
    )


def _refused_query(path: str, select: list[str], expand: str) -> httpx.Response | None:
    """What Graph answers to an $expand or $select it does not take, or None."""
    if expand and expand != "manager" and not expand.startswith("manager("):
        return graph_error(400, "BadRequest", f"Parsing OData Select and Expand failed: {expand}")
    if expand and re.search(r"\$levels", expand) and path == "/users":
        return graph_error(
            400,
            "Request_Unsupported",
            "Transitive manager's list is only supported on a single user, send the $expand"
            " request on /users/{id} endpoint",
        )
    if "manager" in select and not path.endswith("/delta"):
        return graph_error(
            400,
            "BadRequest",
            "Could not find a property named 'manager' on type 'microsoft.graph.user'.",
        )
    return None


def _named(user: dict[str, Any], who: str) -> bool:
    """Graph's displayName eq: the whole name, case-insensitive."""
    return str(user.get("displayName") or "").lower() == who
