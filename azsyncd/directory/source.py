"""Reading a tenant's users: a full pass, a delta, or the members of selected groups.

Users stream through page by page; only a delta's changes (small by nature) are merged
in memory, because the same user may appear several times in one delta.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from azsyncd import attributes
from azsyncd.config.model import Mapping, Tenant, name_template_attributes
from azsyncd.directory.client import GraphClient
from azsyncd.errors import GraphError

BASE_SELECT = (
    "id",
    "userPrincipalName",
    "mail",
    "otherMails",
    "accountEnabled",
    "userType",
    "displayName",
)
EVENTUAL = {"ConsistencyLevel": "eventual"}
EXPIRED_CODES = {"syncStateNotFound", "resyncRequired", "syncStateInvalid"}


def select_for(mapping: Mapping) -> list[str]:
    """Only the properties the mapping reads, plus what scope and identity need."""
    wanted = [
        mapping.email,
        *name_template_attributes(mapping.name),
        *mapping.phones.values(),
        *mapping.custom_fields.values(),
    ]
    return sorted({*BASE_SELECT, *(attributes.graph_property(a) for a in wanted)})


def scope_key(select: list[str], tenant: Tenant, settings: str = "") -> str:
    """Delta links track one set of properties; a changed mapping starts a new baseline."""
    text = "|".join(
        [
            ",".join(select),
            tenant.users,
            ",".join(sorted(tenant.groups)),
            tenant.tenant_id,
            settings,
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass
class DirectoryRead:
    """A stream of users; ``removed`` and ``delta_link`` are complete once it is exhausted."""

    mode: str  # full | delta | groups
    users: Iterator[dict[str, Any]]
    removed: set[str] = field(default_factory=set)
    delta_link: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class DirectorySource:
    graph: GraphClient
    tenant: Tenant
    select: list[str]  # the user properties to read
    note: Callable[[str], None] = lambda message: None  # says what a reader should know

    def read(self, delta_link: str | None = None) -> DirectoryRead:
        if self.tenant.users == "groups":
            return DirectoryRead("groups", self._group_members())
        if delta_link:
            try:
                first = self.graph.get(delta_link)
            except GraphError as exc:
                if exc.status == 410 or (exc.status == 400 and exc.code in EXPIRED_CODES):
                    message = (
                        f"the delta token expired or was reset ({exc.code or exc.status}); "
                        "reading the whole directory"
                    )
                    self.note(message)
                    read = self._full()
                    read.notes.append(message)
                    return read
                raise
            return self._delta(first)
        return self._full()

    def _full(self) -> DirectoryRead:
        # Take the delta link *before* the full read, so changes made during it come next time.
        latest = self.graph.get(
            "/users/delta", {"$select": ",".join(self.select), "$deltatoken": "latest"}
        )
        while "@odata.deltaLink" not in latest and latest.get("@odata.nextLink"):
            latest = self.graph.get(latest["@odata.nextLink"])
        read = DirectoryRead("full", iter(()), delta_link=latest.get("@odata.deltaLink"))
        read.users = self._all_users()
        return read

    def _all_users(self) -> Iterator[dict[str, Any]]:
        for page in self.graph.pages("/users", {"$select": ",".join(self.select), "$top": 999}):
            yield from page.get("value", [])

    def _delta(self, first: dict[str, Any]) -> DirectoryRead:
        changed: dict[str, dict[str, Any]] = {}
        removed: set[str] = set()
        page = first
        while True:
            for user in page.get("value", []):
                user_id = user.get("id")
                if not user_id:
                    continue
                if "@removed" in user:
                    removed.add(user_id)
                    changed.pop(user_id, None)
                else:
                    removed.discard(user_id)
                    changed.setdefault(user_id, {}).update(
                        user
                    )  # replays and partial repeats merge
            if "@odata.deltaLink" in page:
                return DirectoryRead(
                    "delta", iter(list(changed.values())), removed, page["@odata.deltaLink"]
                )
            next_link = page.get("@odata.nextLink")
            if not next_link:
                raise GraphError(
                    0, "truncated_delta", "a delta page had neither nextLink nor deltaLink"
                )
            page = self.graph.get(next_link)

    def _group_members(self) -> Iterator[dict[str, Any]]:
        seen: set[str] = set()
        for group_id in self.tenant.groups:
            path = f"/groups/{group_id}/transitiveMembers/microsoft.graph.user"
            params = {"$select": ",".join(self.select), "$top": 999, "$count": "true"}
            for page in self.graph.pages(path, params, EVENTUAL):
                for user in page.get("value", []):
                    if user.get("id") and user["id"] not in seen:  # in several groups: once
                        seen.add(user["id"])
                        yield user

    def search_groups(self, text: str, limit: int = 25) -> list[dict[str, Any]]:
        params: dict[str, Any] = {
            "$select": "id,displayName,description,mail",
            "$top": limit,
            "$count": "true",
        }
        if text:
            params["$search"] = '"displayName:' + text.replace('"', "") + '"'
            params["$orderby"] = "displayName"
        return list(self.graph.get("/groups", params, EVENTUAL).get("value", []))
