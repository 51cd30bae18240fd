"""Welcome emails: send one again when it failed or may not have arrived."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field

from azsyncd.service.api.deps import daemon_of
from azsyncd.service.api.schemas import Body
from azsyncd.service.daemon import Daemon
from azsyncd.sync import welcome

router = APIRouter(prefix="/v1", tags=["welcome"])
DaemonDep = Annotated[Daemon, Depends(daemon_of)]


class ResendRequest(Body):
    email: str = Field(..., min_length=3, max_length=320, description="The contact's address")


@router.post(
    "/welcome/resend",
    summary="Send a contact's welcome email that failed or may not have arrived (never a "
    "second one after a confirmed send)",
)
def resend_welcome(request: ResendRequest, daemon: DaemonDep) -> dict[str, Any]:
    welcome.resend(daemon.config, daemon.config_dir, daemon.state, request.email)
    return {"email": request.email.strip().lower(), "welcome": "sent"}
