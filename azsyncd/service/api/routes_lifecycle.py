"""Leavers and contact-group rules: their settings, the rules, and who azsync saw leave."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field, WithJsonSchema

from azsyncd.answers import Lifecycle, RuleCheck, read
from azsyncd.config import model
from azsyncd.errors import SecretError, TargetError
from azsyncd.service.api.callers import people_of
from azsyncd.service.api.deps import daemon_of, note
from azsyncd.service.api.errors import ApiError
from azsyncd.service.api.refusals import refusals
from azsyncd.service.api.schemas import Body, inlined, patch_of
from azsyncd.service.daemon import Daemon
from azsyncd.state.lifecycle import LifecycleState
from azsyncd.sync.rule_check import check_rules
from azsyncd.targets.factory import build_target

router = APIRouter(prefix="/v1")
DaemonDep = Annotated[Daemon, Depends(daemon_of)]


RULES = {
    "type": "array",
    "items": inlined(model.ContactGroupRule.model_json_schema()),
    "maxItems": 200,
}


class LifecyclePatch(Body):
    lifecycle: Annotated[
        dict[str, Any] | None,
        WithJsonSchema({"anyOf": [patch_of(model.Lifecycle), {"type": "null"}]}),
    ] = Field(None, description="on_removed, on_disabled, grace_days, group_name: merged")
    contact_groups: Annotated[
        list[dict[str, Any]] | None, WithJsonSchema({"anyOf": [RULES, {"type": "null"}]})
    ] = Field(None, max_length=200, description="The rules, all of them: replaces the list")


def _view(daemon: Daemon, request: Request) -> Lifecycle:
    config = daemon.config.model_dump(mode="json")
    # Who left is personal data: for [control] readers and admins only.
    leavers = LifecycleState(daemon.state.db).all_leavers() if people_of(request) else []
    answer = {
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
                "reason": row.reason,
            }
            for row in leavers
        ],
    }
    return read(Lifecycle, answer)


@router.get("/lifecycle", summary="Leaver settings, contact-group rules, known leavers")
def get_lifecycle(daemon: DaemonDep, request: Request) -> Lifecycle:
    return _view(daemon, request)


@router.patch("/lifecycle", summary="Change leaver settings or the contact-group rules")
def patch_lifecycle(patch: LifecyclePatch, daemon: DaemonDep, request: Request) -> Lifecycle:
    def apply(document: dict[str, Any]) -> None:
        if patch.lifecycle is not None:
            document["lifecycle"].update(patch.lifecycle)
        if patch.contact_groups is not None:
            document["contact_groups"] = patch.contact_groups

    note(request, *daemon.config_store.update(apply))
    return _view(daemon, request)


@router.get(
    "/lifecycle/check",
    summary="Do the rules' Entra groups and contact groups exist? (asks the tenants and help desk)",
    responses=refusals(400, 502),
)
def check_lifecycle(daemon: DaemonDep) -> RuleCheck:
    config = daemon.config
    try:
        target = build_target(config, daemon.loaded.directory, daemon.state.db)
    except (TargetError, SecretError) as exc:
        raise ApiError(502, "target_error", exc.message, exc.fix) from None
    try:
        findings = check_rules(config, daemon.tenants, target)
    finally:
        target.close()
    return read(
        RuleCheck,
        {
            "problems": [
                {"key": f.key, "message": f.message} for f in findings if f.level == "error"
            ],
            "notes": [{"key": f.key, "message": f.message} for f in findings if f.level == "note"],
        },
    )
