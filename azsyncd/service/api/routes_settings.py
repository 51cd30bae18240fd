"""Status, settings, target fields, directory attributes, contacts, reload."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from azsyncd import attributes
from azsyncd.answers import Attributes, Contacts, Fields, Reloaded, Settings, Status, read
from azsyncd.config.changes import shown
from azsyncd.config.expression import USAGE
from azsyncd.errors import TargetError
from azsyncd.service.api.deps import daemon_of, note
from azsyncd.service.api.errors import ApiError
from azsyncd.service.api.refusals import refusals
from azsyncd.service.api.routes_preview import guarded
from azsyncd.service.api.schemas import Search, SettingsPatch, deep_merge
from azsyncd.service.daemon import Daemon
from azsyncd.sync import report
from azsyncd.targets.base import setup_problems
from azsyncd.targets.factory import build_target
from azsyncd.targets.local import built_in_store

router = APIRouter(prefix="/v1")
DaemonDep = Annotated[Daemon, Depends(daemon_of)]
SETTINGS_SECTIONS = (
    "account",
    "schedule",
    "target",
    "mapping",
    "welcome_email",
    "sync",
    "scope",
    "alerts",
)


@router.get("/status", summary="Version, uptime, schedule, the running sync, tenants")
async def get_status(request: Request) -> Status:
    # During a sync, status is answered from memory on the event loop: a hop to a worker
    # thread (or a database query) would wait for the interpreter lock the sync holds.
    daemon = daemon_of(request)
    if daemon.board.in_memory:
        return daemon.board.status()
    return await run_in_threadpool(daemon.board.status)


def _settings(daemon: Daemon) -> Settings:
    document = shown(daemon.config.model_dump(mode="json"))
    settings = {section: document[section] for section in SETTINGS_SECTIONS}
    settings["state"] = {"history_runs": document["state"]["history_runs"]}
    return Settings.model_validate(settings)


@router.get("/settings", summary="Account, schedule, target, mapping, welcome email, sync, alerts")
def get_settings(daemon: DaemonDep) -> Settings:
    return _settings(daemon)


@router.patch("/settings", summary="Change settings; validated, then written atomically")
def patch_settings(patch: SettingsPatch, daemon: DaemonDep, request: Request) -> Settings:
    change = settings_change(patch)
    note(request, *daemon.config_store.update(change, check=guarded(daemon, patch.force)))
    return _settings(daemon)


def settings_change(body: SettingsPatch | dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    """The edit a PATCH /v1/settings body makes to the config document (also previewed)."""
    patch = body if isinstance(body, SettingsPatch) else _validated(body)
    changes = {
        k: v
        for k, v in patch.model_dump(exclude_unset=True).items()
        if v is not None and k != "force"
    }
    state_keys = set(changes.get("state", {})) - {"history_runs"}
    if state_keys:
        raise ApiError(
            422,
            "not_editable",
            f"state.{sorted(state_keys)[0]} cannot be changed through the API",
            "edit the configuration file and restart azsyncd",
        )

    def apply(document: dict[str, Any]) -> None:
        for section, values in changes.items():
            deep_merge(document.setdefault(section, {}), values)

    return apply


def _validated(body: dict[str, Any]) -> SettingsPatch:
    try:
        return SettingsPatch.model_validate(body)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise ApiError(
            422, "invalid_request", f"settings.{where}: {problem['msg']}", "see GET /v1/settings"
        ) from None


@router.get(
    "/fields",
    summary="The target's contact fields with types, required flags and choices",
    responses=refusals(502),
)
def get_fields(daemon: DaemonDep) -> Fields:
    try:
        target = build_target(daemon.config, daemon.loaded.directory, daemon.state.db)
        try:
            fields = target.fields()
            problems = setup_problems(target)
        finally:
            target.close()
    except TargetError as exc:
        raise ApiError(502, "target_error", exc.message, exc.fix) from None
    return read(
        Fields,
        {
            "target": daemon.config.target.kind,
            # Every key of the answer, always: as_dict leaves out a mark and a pattern not set.
            "fields": [{"fixed": None, "pattern": "", **f.as_dict()} for f in fields],
            # What the help desk lacks for the target's settings (HappyFox's mark field).
            "problems": [dataclasses.asdict(p) for p in problems],
        },
    )


@router.get("/attributes", summary="Directory attributes a mapping may read, and the functions")
def get_attributes() -> Attributes:
    return read(
        Attributes,
        {
            "attributes": list(attributes.KNOWN),
            "lists": list(attributes.LISTS),
            "functions": dict(USAGE),
            "note": "directory extensions (extension_<appid>_<name>) are accepted too",
        },
    )


@router.get("/contacts", summary="Contacts of the built-in store")
def get_contacts(
    daemon: DaemonDep,
    search: Search = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> Contacts:
    total, rows = built_in_store(daemon.config, daemon.state.db).search(search, limit, offset)
    answer = {
        "total": total,
        "contacts": [
            {
                "id": c.id,
                "email": c.email,
                "name": c.name,
                "phones": [{"id": p.get("id"), **p} for p in c.phones],
                "custom_fields": c.custom,
                "source_tenant": c.source_tenant,
                "source_object_id": c.source_object_id,
                "synced_from_entra": bool(c.source_object_id),
                "login_enabled": c.login_enabled,
                "contact_groups": c.groups,
                "created_at": c.created_at.isoformat(),
                "updated_at": c.updated_at.isoformat(),
            }
            for c in rows
        ],
    }
    return Contacts.model_validate(answer)


@router.get(
    "/contacts.csv",
    summary="Every contact of the built-in store as CSV",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def get_contacts_csv(daemon: DaemonDep) -> StreamingResponse:
    store = built_in_store(daemon.config, daemon.state.db)
    return StreamingResponse(
        report.iter_contacts_csv(store.rows(), store.field_names()),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="azsync-contacts.csv"'},
    )


@router.post(
    "/reload", summary="Re-read the configuration file (as SIGHUP does)", responses=refusals(422)
)
def post_reload(daemon: DaemonDep, request: Request) -> Reloaded:
    changes = daemon.config_store.reload()
    if changes is None:
        raise ApiError(
            422,
            "invalid_config",
            "the configuration file is invalid; still running on the last good one",
            "fix the file (azsyncd check-config lists every problem) and reload again",
            detail=daemon.config_store.error,
        )
    note(request, "configuration reloaded from the file", *changes)
    return Reloaded(reloaded=True, config_path=str(daemon.loaded.path), changes=changes)
