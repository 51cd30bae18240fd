"""Reading a tenant's users: a full pass, a delta, or the members of selected groups.

Users stream through page by page; only a delta's changes (small by nature) are merged
in memory, because the same user may appear several times in one delta. A user object that
is not one (no id, not an object) comes through as ``{"id": ..., INVALID: reason}``, so
that contact fails with the reason and the others go on.
"""

from __future__ import annotations

import hashlib
import reprlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from azsyncd import attributes, stop
from azsyncd.config.model import Mapping, Tenant
from azsyncd.directory.client import GraphClient, LinkGuard, Page
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
INVALID = "@azsync.invalid"  # set on a user object Graph sent in a shape azsync cannot use


def checked_users(page: Page) -> Iterator[dict[str, Any]]:
    """The users of a page; a junk object becomes an INVALID marker naming the request-id."""
    for user in page.items:
        user_id = user.get("id") if isinstance(user, dict) else None
        if isinstance(user_id, str) and user_id:
            yield user
            continue
        where = f" (request-id {page.request_id})" if page.request_id else ""
        yield {
            "id": str(user_id or ""),
            INVALID: f"Graph sent a user object azsync cannot read: {reprlib.repr(user)}{where}",
        }


def select_for(mapping: Mapping, *more: Iterable[str]) -> list[str]:
    """Only the properties the mapping (and ``more`` attribute paths: scope conditions,
    contact-group rules) reads, plus what identity needs. "manager" stands for the manager's
    properties, which a read expands (``read_params``)."""
    wanted = [*mapping.reads(), *(path for paths in more for path in paths)]
    return sorted({*BASE_SELECT, *(attributes.graph_property(a) for a in wanted)})


def read_params(select: list[str]) -> dict[str, Any]:
    """$select (and $expand for the manager) of a read that is not a delta.

    The manager is a relationship, not a property: it is expanded with just the properties a
    mapping may read. A delta cannot expand; it tracks the relationship with $select=manager
    and azsync reads the managers of the users it brings (``DirectorySource._managers``).
    """
    params: dict[str, Any] = {"$select": ",".join(s for s in select if s != attributes.MANAGER)}
    if attributes.MANAGER in select:
        params["$expand"] = f"manager($select={','.join(attributes.MANAGER_SELECT)})"
    return params


def manager_of(graph: GraphClient, user_id: str) -> dict[str, Any] | None:
    """A user's manager (a user or an organizational contact), or None when it has none."""
    try:
        found = graph.get(
            f"/users/{user_id}/manager", {"$select": ",".join(attributes.MANAGER_SELECT)}
        )
    except GraphError as exc:
        if exc.status == 404:
            return None
        raise
    return found if isinstance(found, dict) else None


def scope_key(
    select: list[str], tenant: Tenant, settings: str = "", conditions: Iterable[str] = ()
) -> str:
    """Delta links track one set of properties; a changed mapping starts a new baseline, and
    so does a changed [scope] (``conditions``): only a full read sees who left it."""
    parts = [
        ",".join(select),
        tenant.users,
        ",".join(sorted(tenant.groups)),
        tenant.tenant_id,
        settings,
    ]
    scoped = list(conditions)
    if scoped:  # none: the keys stored before scopes existed stay valid
        parts.append("\n".join(scoped))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


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
                first = self.graph.fetch(delta_link)
            except GraphError as exc:
                if (
                    exc.status == 410
                    or (exc.status == 400 and exc.code in EXPIRED_CODES)
                    or exc.code == "foreign_link"  # stored for another graph_url
                ):
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
        latest = self.graph.fetch(
            "/users/delta", {"$select": ",".join(self.select), "$deltatoken": "latest"}
        )
        latest = self._follow(latest, lambda page: None)
        read = DirectoryRead("full", iter(()), delta_link=latest.link("@odata.deltaLink"))
        read.users = self._users(
            self.graph.pages("/users", {**read_params(self.select), "$top": 999})
        )
        return read

    @staticmethod
    def _users(pages: Iterable[Page]) -> Iterator[dict[str, Any]]:
        for page in pages:
            yield from checked_users(page)

    def _follow(self, page: Page, take: Callable[[Page], None]) -> Page:
        """``take`` each page of a delta chain; the last one, which holds the delta link."""
        guard = LinkGuard()
        while True:
            stop.check()
            take(page)
            if page.link("@odata.deltaLink"):
                return page
            next_link = page.link("@odata.nextLink")
            if not next_link:
                raise page.bad("a delta page had neither nextLink nor deltaLink")
            guard.check(next_link, page)
            page = self.graph.fetch(next_link)

    def _delta(self, first: Page) -> DirectoryRead:
        changed: dict[str, dict[str, Any]] = {}
        removed: set[str] = set()
        invalid: list[dict[str, Any]] = []

        def take(page: Page) -> None:
            for user in checked_users(page):
                user_id = user["id"]
                if INVALID in user:
                    invalid.append(user)
                elif "@removed" in user:
                    removed.add(user_id)
                    changed.pop(user_id, None)
                else:
                    removed.discard(user_id)
                    changed.setdefault(user_id, {}).update(user)  # replays and repeats merge

        last = self._follow(first, take)
        users: Iterator[dict[str, Any]] = iter([*changed.values(), *invalid])
        if attributes.MANAGER in self.select:
            users = self._managers(users)
        return DirectoryRead("delta", users, removed, last.link("@odata.deltaLink"))

    def _managers(self, users: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """A delta's users with their managers read: the delta names a changed manager by id
        only (manager@delta), and a user changed otherwise not at all."""
        for user in users:
            if INVALID not in user:
                user.pop("manager@delta", None)
                user[attributes.MANAGER] = manager_of(self.graph, str(user["id"]))
            yield user

    def _group_members(self) -> Iterator[dict[str, Any]]:
        seen: set[str] = set()
        for group_id in self.tenant.groups:
            path = f"/groups/{group_id}/transitiveMembers/microsoft.graph.user"
            params = {**read_params(self.select), "$top": 999, "$count": "true"}
            for user in self._users(self.graph.pages(path, params, EVENTUAL)):
                if INVALID in user or user["id"] not in seen:  # in several groups: once
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
        return [
            g for g in self.graph.fetch("/groups", params, EVENTUAL).items if isinstance(g, dict)
        ]
