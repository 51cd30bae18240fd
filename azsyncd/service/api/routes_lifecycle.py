"""Leavers and contact-group rules: their settings, the rules, and who azsync saw leave."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from azsyncd.service.api.deps import daemon_of, note
from azsyncd.service.api.schemas import Body
from azsyncd.service.daemon import Daemon
from azsyncd.state.lifecycle import LifecycleState

router = APIRouter(prefix="/v1")
DaemonDep = Annotated[Daemon, Depends(daemon_of)]


class LifecyclePatch(Body):
    lifecycle: dict[str, Any] | None = Field(
        None, description="on_removed, on_disabled, grace_days, group_name: merged"
    )
    contact_groups: list[dict[str, Any]] | None = Field(
        None, max_length=200, description="The rules, all of them: replaces the list"
    )


def _view(daemon: Daemon) -> dict[str, Any]:
    config = daemon.config.model_dump(mode="json")
    leavers = LifecycleState(daemon.state.db).all_leavers()
    return {
        "lifecycle": config["lifecycle"],
        "contact_groups": config["contact_groups"],
        "leavers": [
            {
                "tenant": row.tenant,
                "object_id": row.object_id,
                "email": row.email,
                "gone_since": row.gone_since.isoformat() if row.gone_since else None,
                "disabled": row.disabled,
                "login_off": row.acted,
            }
            for row in leavers
        ],
    }


@router.get("/lifecycle", summary="Leaver settings, contact-group rules, known leavers")
def get_lifecycle(daemon: DaemonDep) -> dict[str, Any]:
    return _view(daemon)


@router.patch("/lifecycle", summary="Change leaver settings or the contact-group rules")
def patch_lifecycle(patch: LifecyclePatch, daemon: DaemonDep, request: Request) -> dict[str, Any]:
    def apply(document: dict[str, Any]) -> None:
        if patch.lifecycle is not None:
            document["lifecycle"].update(patch.lifecycle)
        if patch.contact_groups is not None:
            document["contact_groups"] = patch.contact_groups

    note(request, *daemon.update_config(apply))
    return _view(daemon)
