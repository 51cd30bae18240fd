"""The demo's own control call: add a person to the simulated directory, to watch the next
incremental tick bring them across (``azsyncctl demo add-user NAME``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from azsyncd.answers import DemoUserAdded, read
from azsyncd.demo.directory import SimulatedTenant, mailbox
from azsyncd.service.api.deps import daemon_of, note
from azsyncd.service.api.errors import ApiError
from azsyncd.service.daemon import Daemon


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(..., min_length=1, max_length=100, description="e.g. Ada Lovelace")
    department: str = Field("Support", max_length=64)


def person(tenant: SimulatedTenant, name: str, department: str) -> dict[str, Any]:
    """A new member of the simulated directory, valid for the demo's mapping."""
    local = mailbox(name)
    if not local:
        raise ApiError(
            422,
            "invalid_name",
            f'"{name}" has no letter or digit to make an address from',
            'give a name such as "Ada Lovelace"',
        )
    number = len(tenant.users) + len(tenant.removed_at)
    address = f"{local}@contoso.example"
    if any(u.get("userPrincipalName") == address for u in tenant.users.values()):
        raise ApiError(
            409,
            "user_exists",
            f"{address} is already in the simulated directory",
            "give another name",
        )
    given, _, surname = name.strip().partition(" ")
    return {
        "id": f"00000000-0000-4000-d000-{number:012d}",
        "userPrincipalName": address,
        "mail": address,
        "otherMails": [],
        "displayName": name.strip(),
        "givenName": given,
        "surname": surname or given,
        "accountEnabled": True,
        "userType": "Member",
        "department": department,
        "jobTitle": "Analyst",
        "officeLocation": "Berlin",
        "employeeId": str(90000 + number),
        "employeeHireDate": "2026-01-05T00:00:00Z",
        "businessPhones": [f"+49 30 {900000 + number}"],
        "mobilePhone": f"+49 170 {900000 + number}",
        "companyName": "Contoso",
        "city": "Berlin",
    }


def joiner(tenant: SimulatedTenant, now: datetime, days: int) -> dict[str, Any]:
    """Jamie Joiner, whose hire date is ``days`` after ``now`` (UTC): a joiner of the demo."""
    user = person(tenant, "Jamie Joiner", "Support")
    user["employeeHireDate"] = f"{(now.astimezone(UTC) + timedelta(days=days)):%Y-%m-%d}T00:00:00Z"
    return user


def demo_router(tenant: SimulatedTenant) -> APIRouter:
    router = APIRouter(prefix="/v1/demo", tags=["demo"])

    @router.post("/users", status_code=201, summary="Add a person to the simulated directory")
    def add_user(
        body: NewUser, request: Request, daemon: Annotated[Daemon, Depends(daemon_of)]
    ) -> DemoUserAdded:
        user = tenant.add_user(person(tenant, body.name, body.department))
        note(request, f"added {user['userPrincipalName']} to the simulated directory")
        ticks = daemon.board.status()
        return read(
            DemoUserAdded,
            {
                "user": {k: user[k] for k in ("id", "userPrincipalName", "displayName")},
                "interval": ticks.interval,
                "next_tick": ticks.next_tick,
            },
        )

    return router
