"""One user of a tenant: find them by object id, UPN or address, and list their groups."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from azsyncd.config.model import GUID
from azsyncd.directory.client import GraphClient
from azsyncd.directory.source import EVENTUAL, read_params
from azsyncd.errors import GraphError


def find_user(graph: GraphClient, who: str, select: list[str]) -> dict[str, Any] | None:
    """The user with this object id, UPN or mail, or None when the tenant has none.

    A UPN or an address goes in a $filter, not the URL path: guests' UPNs hold a "#"
    ("ann_fabrikam.example#EXT#@contoso.example") that a path would cut, and a quote in a
    name is doubled as OData wants.
    """
    fields = read_params(select)
    who = who.strip()
    try:
        if GUID.match(who):
            return graph.get(f"/users/{who}", fields)
        quoted = who.replace("'", "''")
        found = graph.fetch(
            "/users",
            {
                "$filter": f"userPrincipalName eq '{quoted}' or mail eq '{quoted}'",
                **fields,
            },
        ).items
    except GraphError as exc:
        if exc.status == 404:
            return None
        raise
    return found[0] if found and isinstance(found[0], dict) else None


def groups_of(graph: GraphClient, user_id: str) -> set[str]:
    """The ids of every group the user is in, directly or through nested groups."""
    path = f"/users/{user_id}/transitiveMemberOf/microsoft.graph.group"
    return {
        str(group["id"])
        for page in graph.pages(path, {"$select": "id"}, EVENTUAL)
        for group in page.items
        if isinstance(group, dict) and group.get("id")
    }


def member_pages(graph: GraphClient, group_id: str) -> Iterator[list[str]]:
    """The ids of every user in the group, directly or through nested groups, a page at a
    time (a group may hold the whole tenant)."""
    path = f"/groups/{group_id}/transitiveMembers/microsoft.graph.user"
    for page in graph.pages(path, {"$select": "id", "$top": 999}, EVENTUAL):
        yield [str(user["id"]) for user in page.items if isinstance(user, dict) and user.get("id")]
