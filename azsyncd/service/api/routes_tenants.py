"""Tenants: list, add, read, change, delete, enable and disable; set a tenant's credential."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request, Response
from pydantic import Field, ValidationError

from azsyncd.answers import Deleted, Groups, TenantAuthorization, TenantList, read
from azsyncd.answers import Tenant as TenantAnswer
from azsyncd.config import credentials
from azsyncd.config.changes import shown
from azsyncd.config.model import TENANT_NAME, Tenant
from azsyncd.config.secrets import resolve
from azsyncd.directory.authorize import Verdict
from azsyncd.directory.source import DirectorySource
from azsyncd.directory.tenants import DeviceSignIn
from azsyncd.errors import AuthError, GraphError, UserError
from azsyncd.service.api import schemas
from azsyncd.service.api.callers import caller_from_scope
from azsyncd.service.api.deps import daemon_of, note
from azsyncd.service.api.errors import ApiError, not_found
from azsyncd.service.api.refusals import refusals
from azsyncd.service.api.routes_preview import guarded
from azsyncd.service.api.schemas import (
    Certificate,
    ClientSecret,
    Credential,
    NewTenant,
    Pfx,
    Search,
    TenantPatch,
)
from azsyncd.service.daemon import Daemon

router = APIRouter(prefix="/v1/tenants", tags=["tenants"])
DaemonDep = Annotated[Daemon, Depends(daemon_of)]
TenantName = Annotated[str, Path(max_length=64, pattern=TENANT_NAME.pattern)]


def _document(tenant: Tenant, state: dict[str, Any]) -> dict[str, Any]:
    return {**shown(tenant.model_dump(mode="json")), "state": state}


def _view(daemon: Daemon, tenant: Tenant) -> TenantAnswer:
    return read(TenantAnswer, _document(tenant, daemon.board.tenant_states()[tenant.name]))


def _authorization(
    daemon: Daemon, tenant: Tenant, sign_in: DeviceSignIn | None
) -> TenantAuthorization:
    document = _document(tenant, daemon.board.tenant_states()[tenant.name])
    document["device_code"] = sign_in.as_dict() if sign_in else None
    return read(TenantAuthorization, document)


def _index(daemon: Daemon, name: str) -> int:
    for i, tenant in enumerate(daemon.config.tenants):
        if tenant.name == name:
            return i
    raise not_found(f'tenant "{name}"', "GET /v1/tenants lists the configured tenants")


def _tenant(daemon: Daemon, name: str) -> Tenant:
    return daemon.config.tenants[_index(daemon, name)]


def _at(name: str, change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    """A change to the tenant called ``name`` in the document, wherever it is by then."""

    def apply(document: dict[str, Any]) -> None:
        tenant = next((t for t in document["tenants"] if t["name"] == name), None)
        if tenant is None:
            raise not_found(f'tenant "{name}"', "GET /v1/tenants lists the configured tenants")
        change(tenant)

    return apply


@router.get("", summary="Configured tenants with their status")
def list_tenants(daemon: DaemonDep) -> TenantList:
    states = daemon.board.tenant_states()
    tenants = [_document(t, states[t.name]) for t in daemon.config.tenants]
    return read(TenantList, {"tenants": tenants})


@router.post("", status_code=201, summary="Add a tenant, optionally with its credential")
def add_tenant(tenant: NewTenant, daemon: DaemonDep, request: Request) -> TenantAnswer:
    if daemon.config.tenant(tenant.name):
        raise ApiError(
            409, "exists", f'a tenant named "{tenant.name}" exists already', "choose another name"
        )
    document = tenant.model_dump(mode="json", exclude={"credential"})
    staged = _stage(daemon, tenant.name, tenant.credential) if tenant.credential else None
    if staged is not None:
        document.update(staged.settings())

    def before_write() -> None:
        daemon.state.forget_tenant(tenant.name)  # a re-added name starts with no old delta links
        if staged is not None:
            staged.commit()

    lines = _with_credential(
        daemon,
        tenant.name,
        staged,
        lambda: daemon.config_store.update(
            lambda doc: doc["tenants"].append(document),
            allowed=_credential_keys(tenant.name, staged),
            before_write=before_write,
        ),
    )
    note(request, *lines)
    return _view(daemon, _tenant(daemon, tenant.name))


@router.get("/{name}", summary="One tenant", responses=refusals(404))
def get_tenant(name: TenantName, daemon: DaemonDep) -> TenantAnswer:
    return _view(daemon, _tenant(daemon, name))


@router.patch(
    "/{name}",
    summary="Change a tenant's settings (not its files or endpoints)",
    responses=refusals(404),
)
def patch_tenant(
    name: TenantName,
    patch: TenantPatch,  # type: ignore[valid-type]
    daemon: DaemonDep,
    request: Request,
) -> TenantAnswer:
    _index(daemon, name)
    changes = patch.model_dump(exclude_unset=True, mode="json")  # type: ignore[attr-defined]
    force = bool(changes.pop("force", False))
    note(
        request,
        *daemon.config_store.update(
            tenant_change(daemon, name, changes), check=guarded(daemon, force)
        ),
    )
    return _view(daemon, _tenant(daemon, name))


def tenant_change(
    daemon: Daemon, name: str, changes: dict[str, Any]
) -> Callable[[dict[str, Any]], None]:
    """The edit a PATCH /v1/tenants/{name} body makes to the config document (also previewed:
    a preview's body is checked as the PATCH's is, so it cannot rename the tenant)."""
    _index(daemon, name)
    try:
        patch = TenantPatch.model_validate(changes)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        message = f"tenant_change.changes.{where}: {problem['msg']}"
        raise ApiError(422, "invalid_request", message) from None
    checked = patch.model_dump(exclude_unset=True, mode="json")  # type: ignore[attr-defined]
    checked.pop("force", None)
    return _at(name, lambda t: t.update(checked))


@router.delete(
    "/{name}",
    summary="Delete a tenant and its runtime state; its contacts stay",
    responses=refusals(404),
)
def delete_tenant(name: TenantName, daemon: DaemonDep, request: Request) -> Deleted:
    _index(daemon, name)
    lines = daemon.config_store.update(
        lambda doc: doc["tenants"].remove(next(t for t in doc["tenants"] if t["name"] == name)),
        before_write=lambda: daemon.state.forget_tenant(name),
    )
    daemon.tenants.forget(name)
    credentials.remove_unused(_credentials_dir(daemon), _prefix(daemon, name), keep=set())
    note(request, *lines)
    return Deleted(deleted=name)


def _set_enabled(
    daemon: Daemon, request: Request, name: str, enabled: bool, force: bool = False
) -> TenantAnswer:
    _index(daemon, name)
    change = _at(name, lambda t: t.update(enabled=enabled))
    note(request, *daemon.config_store.update(change, check=guarded(daemon, force)))
    return _view(daemon, _tenant(daemon, name))


class Enable(schemas.Body):
    force: bool = Field(
        False, strict=True, description="Save even if the change's preview fails too many contacts"
    )


@router.post(
    "/{name}/enable",
    summary="Sync this tenant again (previewed: refused if it fails too many contacts)",
    responses=refusals(404),
)
def enable_tenant(
    name: TenantName,
    daemon: DaemonDep,
    request: Request,
    body: Annotated[Enable | None, Body()] = None,
) -> TenantAnswer:
    return _set_enabled(daemon, request, name, True, force=body is not None and body.force)


@router.post("/{name}/disable", summary="Leave this tenant out of syncs", responses=refusals(404))
def disable_tenant(name: TenantName, daemon: DaemonDep, request: Request) -> TenantAnswer:
    return _set_enabled(daemon, request, name, False)


@router.put(
    "/{name}/credential",
    summary="Set the tenant's client secret, certificate and key, or PFX; write-only",
    description="The daemon stores the credential as owner-only files in its credentials"
    " directory ([control] credentials_dir) and points the tenant at them. No call returns it.",
    responses=refusals(404),
)
def put_credential(
    name: TenantName,
    credential: Annotated[Credential, Body()],
    daemon: DaemonDep,
    request: Request,
) -> TenantAnswer:
    _index(daemon, name)
    staged = _stage(daemon, name, credential)
    lines = _with_credential(
        daemon,
        name,
        staged,
        lambda: daemon.config_store.update(
            _at(name, lambda t: t.update(staged.settings())),
            allowed=_credential_keys(name, staged),
            before_write=staged.commit,
        ),
    )
    note(request, f"tenants.{name}: {staged.label} stored in {_credentials_dir(daemon)}", *lines)
    return _view(daemon, _tenant(daemon, name))


def _credentials_dir(daemon: Daemon) -> FilePath:
    return credentials.credentials_dir(daemon.config.control.credentials_dir, daemon.config_dir)


def _prefix(daemon: Daemon, name: str) -> str:
    # One credentials directory may serve several daemons (azsyncd@NAME): the config's name
    # keeps their files apart.
    return f"{daemon.loaded.path.stem}.{name}"


def _stage(daemon: Daemon, name: str, credential: Any) -> credentials.Staged:
    if isinstance(credential, ClientSecret):
        contents = credentials.client_secret(credential.client_secret.get_secret_value())
        label = "client secret"
    elif isinstance(credential, Certificate):
        contents = credentials.certificate(
            credential.certificate.get_secret_value(), credential.private_key.get_secret_value()
        )
        label = "certificate and private key"
    else:
        assert isinstance(credential, Pfx)
        passphrase = credential.passphrase.get_secret_value() if credential.passphrase else None
        contents = credentials.pfx(credential.pfx.get_secret_value(), passphrase)
        label = "PFX" + (" and passphrase" if passphrase else "")
    return credentials.stage(_credentials_dir(daemon), _prefix(daemon, name), contents, label)


def _credential_keys(name: str, staged: credentials.Staged | None) -> frozenset[str]:
    if staged is None:
        return frozenset()
    return frozenset(f"tenants.{name}.{key}" for key in credentials.CREDENTIAL_KEYS)


def _with_credential(
    daemon: Daemon, name: str, staged: credentials.Staged | None, edit: Callable[[], list[str]]
) -> list[str]:
    """Run the edit; on failure no new credential file is left, on success no stale one."""
    directory, prefix = _credentials_dir(daemon), _prefix(daemon, name)
    try:
        lines = edit()
    except BaseException:
        if staged is not None:
            staged.discard()
            credentials.remove_unused(directory, prefix, keep=_referenced(daemon, name))
        raise
    if staged is not None:
        credentials.remove_unused(directory, prefix, keep=_referenced(daemon, name))
    return lines


def _referenced(daemon: Daemon, name: str) -> set[FilePath]:
    tenant = daemon.config.tenant(name)
    if tenant is None:
        return set()
    found = (getattr(tenant, key) for key in credentials.CREDENTIAL_KEYS)
    return {resolve(value, daemon.config_dir) for value in found if value}


@router.post(
    "/{name}/authorize",
    summary="Acquire a token and prove it works (device code: start the sign-in)",
    responses={
        202: {"model": TenantAuthorization, "description": "A device-code sign-in started"},
        **refusals(404, 502),
    },
)
def authorize_tenant(
    name: TenantName, daemon: DaemonDep, request: Request, response: Response
) -> TenantAuthorization:
    tenant = _tenant(daemon, name)
    if tenant.auth == "device_code":
        try:
            sign_in = daemon.tenants.start_device_sign_in(tenant)
        except AuthError as exc:
            daemon.tenants.record(tenant, Verdict("disabled", str(exc), exc.fix))
            raise ApiError(502, "sign_in_failed", str(exc), exc.fix) from None
        response.status_code = 202
        note(request, f"tenants.{name}: device-code sign-in started")
        return _authorization(daemon, tenant, sign_in)
    verdict = daemon.tenants.authorize_app(tenant)
    note(request, f"tenants.{name}: authorized: {verdict.status} {verdict.reason}".rstrip())
    return _authorization(daemon, tenant, None)


@router.get(
    "/{name}/authorize",
    summary="The device-code sign-in in progress, if any",
    responses=refusals(404),
)
def sign_in_status(name: TenantName, daemon: DaemonDep) -> TenantAuthorization:
    tenant = _tenant(daemon, name)
    return _authorization(daemon, tenant, daemon.tenants.sign_in(name))


@router.get(
    "/{name}/groups",
    summary="Search the tenant's groups by name",
    responses=refusals(400, 404, 429, 502),
)
def search_groups(
    name: TenantName,
    daemon: DaemonDep,
    request: Request,
    search: Search = "",
) -> Groups:
    tenant = _tenant(daemon, name)
    caller = caller_from_scope(request.scope)
    wait = request.app.state.group_searches.take(caller.uid if caller.uid is not None else -1)
    if wait:
        raise ApiError(
            429,
            "too_many_searches",
            f"{caller.name} searched groups too often: each search asks Microsoft Graph",
            f"wait {math.ceil(wait)} s; a search shows up to 100 groups, so type more of the name",
            retry_after=math.ceil(wait),
        )
    connection = daemon.tenants.connect(tenant)
    source = DirectorySource(connection.graph, tenant, ["id"])
    try:
        groups = source.search_groups(search)
    except AuthError as exc:
        raise ApiError(502, "auth_error", str(exc), exc.fix) from None
    except GraphError as exc:
        raise ApiError(
            502,
            "graph_error",
            str(exc),
            "GroupMember.Read.All or Group.Read.All must be granted"
            if exc.status in (401, 403)
            else "try again",
        ) from None
    except UserError:
        raise
    return read(
        Groups,
        {
            "groups": [
                {
                    "id": g.get("id"),
                    "name": g.get("displayName"),
                    "description": g.get("description") or "",
                }
                for g in groups
            ]
        },
    )
