"""Leavers and contact-group rules: their settings, the rules, and who azsync saw leave."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import AfterValidator, Field, ValidationError, WithJsonSchema

from azsyncd.answers import Joiners, Lifecycle, RuleCheck, read
from azsyncd.config import model
from azsyncd.errors import SecretError, TargetError
from azsyncd.service.api.callers import people_of
from azsyncd.service.api.deps import daemon_of, note
from azsyncd.service.api.errors import ApiError
from azsyncd.service.api.refusals import refusals
from azsyncd.service.api.routes_preview import guarded
from azsyncd.service.api.schemas import Body, deep_merge, inlined, known_keys, patch_of
from azsyncd.service.daemon import Daemon
from azsyncd.state.joiners import JoinerState
from azsyncd.state.lifecycle import LifecycleState
from azsyncd.sync import joiners
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
        WithJsonSchema({"anyOf": [patch_of(model.Lifecycle, deep=True), {"type": "null"}]}),
        AfterValidator(known_keys(model.Lifecycle)),
    ] = Field(
        None,
        description="on_removed, on_disabled, grace_days, group_name, create_before_hire_days:"
        " merged",
    )
    contact_groups: Annotated[
        list[dict[str, Any]] | None, WithJsonSchema({"anyOf": [RULES, {"type": "null"}]})
    ] = Field(None, max_length=200, description="The rules, all of them: replaces the list")
    force: bool = Field(
        False, strict=True, description="Save even if the change's preview fails too many contacts"
    )


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
        "joiners": _joiners(daemon)["joiners"] if people_of(request) else [],
    }
    return read(Lifecycle, answer)


@router.get("/lifecycle", summary="Leaver settings, contact-group rules, known leavers")
def get_lifecycle(daemon: DaemonDep, request: Request) -> Lifecycle:
    return _view(daemon, request)


@router.get("/lifecycle/joiners", summary="Upcoming starts: joiners whose login waits")
def get_joiners(daemon: DaemonDep) -> Joiners:
    return read(Joiners, _joiners(daemon))


def _joiners(daemon: Daemon) -> dict[str, Any]:
    config = daemon.config
    days = config.lifecycle.create_before_hire_days
    today = joiners.today(daemon.clock(), config.account.timezone)
    rows = JoinerState(daemon.state.db).upcoming()
    lifecycle = LifecycleState(daemon.state.db)
    disabled = {
        (tenant, object_id)
        for tenant in {r.tenant for r in rows}
        for object_id in lifecycle.disabled(
            tenant, [r.object_id for r in rows if r.tenant == tenant]
        )
    }
    return {
        "create_before_hire_days": days,
        "today": today.isoformat(),
        "timezone": config.account.timezone,
        "joiners": [
            {
                "tenant": row.tenant,
                "object_id": row.object_id,
                "email": row.email,
                "name": row.name,
                "hire_date": row.hire_date,
                "days_left": (row.day - today).days,
                "created": row.created,
                "contact_from": (row.day - timedelta(days=days)).isoformat(),
                "reason": row.reason
                or (
                    "account disabled in Entra ID: starts once enabled"
                    if (row.tenant, row.object_id) in disabled
                    else ""
                ),
            }
            for row in rows
        ],
    }


@router.patch("/lifecycle", summary="Change leaver settings or the contact-group rules")
def patch_lifecycle(patch: LifecyclePatch, daemon: DaemonDep, request: Request) -> Lifecycle:
    change = lifecycle_change(patch)
    note(request, *daemon.config_store.update(change, check=guarded(daemon, patch.force)))
    return _view(daemon, request)


def lifecycle_change(body: LifecyclePatch | dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    """The edit a PATCH /v1/lifecycle body makes to the config document (also previewed)."""
    try:
        patch = body if isinstance(body, LifecyclePatch) else LifecyclePatch.model_validate(body)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise ApiError(422, "invalid_request", f"lifecycle.{where}: {problem['msg']}") from None

    def apply(document: dict[str, Any]) -> None:
        if patch.lifecycle is not None:
            deep_merge(document.setdefault("lifecycle", {}), patch.lifecycle)
        if patch.contact_groups is not None:
            document["contact_groups"] = patch.contact_groups

    return apply


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
