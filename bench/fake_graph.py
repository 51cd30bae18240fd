"""A lean simulated tenant for benchmarks: users are computed from their index, not stored,
so the figures measure azsync's memory, not the simulator's."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx

from azsyncd.demo.directory import DEMO_GRAPH, DEMO_LOGIN, DEMO_SECRET, DEMO_TENANT, SimulatedTenant


def user(i: int) -> dict[str, Any]:
    return {
        "id": f"00000000-0000-4000-a000-{i:012d}",
        "userPrincipalName": f"user{i}@bench.example",
        "mail": f"user{i}@bench.example",
        "displayName": f"User {i}",
        "givenName": "User",
        "surname": str(i),
        "accountEnabled": True,
        "userType": "Member",
        "department": ("Sales", "Support", "IT")[i % 3],
        "employeeId": str(100000 + i),
        "officeLocation": ("Berlin", "London")[i % 2],
        "businessPhones": [f"+49 30 {i:07d}"],
        "mobilePhone": f"+49 170 {i:07d}",
        "jobTitle": "Engineer",
    }


class LeanTenant(SimulatedTenant):
    def __init__(self, users: int) -> None:
        super().__init__(
            login=DEMO_LOGIN,
            graph=DEMO_GRAPH,
            tenant_id=DEMO_TENANT,
            secret=DEMO_SECRET,
            page_size=999,
        )
        self.count = users
        self.edits: dict[int, dict[str, Any]] = {}  # user index -> values changed since
        self.edited_at: dict[int, int] = {}  # user index -> version of its last change

    def edit(self, index: int, **values: Any) -> None:
        """Change a user, as an admin in Entra ID would; the next delta carries it."""
        with self._lock:
            self.version += 1
            self.edits.setdefault(index, {}).update(values)
            self.edited_at[index] = self.version

    def _user(self, index: int, select: list[str]) -> dict[str, Any]:
        values = {**user(index), **self.edits.get(index, {})}
        return {k: v for k, v in values.items() if k in select}

    def _graph(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v1.0")
        params = dict(request.url.params.items())
        select = [s for s in params.get("$select", "").split(",") if s]
        if path == "/users/delta":
            token = params.get("$deltatoken", "latest")
            since = self.version if token == "latest" else int(token.removeprefix("v"))
            changed = [i for i, at in self.edited_at.items() if at > since]
            query = urlencode({"$deltatoken": f"v{self.version}", "$select": ",".join(select)})
            link = f"{self.graph}/v1.0/users/delta?{query}"
            value = [self._user(i, select) for i in changed]
            return httpx.Response(200, json={"value": value, "@odata.deltaLink": link})
        if path == "/users":
            start = int(params.get("$skiptoken", 0))
            end = min(self.count, start + self.page_size)
            body: dict[str, Any] = {"value": [self._user(i, select) for i in range(start, end)]}
            if end < self.count:
                body["@odata.nextLink"] = (
                    f"{self.graph}/v1.0/users?{urlencode({**params, '$skiptoken': end})}"
                )
            return httpx.Response(200, json=body)
        return super()._graph(request)
