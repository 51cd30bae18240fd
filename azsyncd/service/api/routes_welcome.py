"""Welcome emails: send one again when it failed or may not have arrived."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from azsyncd.answers import WelcomeResent
from azsyncd.service.api.deps import daemon_of, note
from azsyncd.service.api.schemas import PRINTABLE, Body
from azsyncd.service.daemon import Daemon
from azsyncd.sync import welcome

router = APIRouter(prefix="/v1", tags=["welcome"])
DaemonDep = Annotated[Daemon, Depends(daemon_of)]


class ResendRequest(Body):
    email: str = Field(
        ..., min_length=3, max_length=320, pattern=PRINTABLE, description="The contact's address"
    )


@router.post(
    "/welcome/resend",
    summary="Send a contact's welcome email that failed or may not have arrived (never a "
    "second one after a confirmed send)",
)
def resend_welcome(request: ResendRequest, daemon: DaemonDep, http: Request) -> WelcomeResent:
    email = request.email.strip().lower()
    welcome.resend(daemon.config, daemon.config_dir, daemon.state, email)
    note(http, f"welcome email sent again to {email}")
    return WelcomeResent(email=email, welcome="sent")
