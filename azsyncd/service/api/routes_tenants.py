"""Tenants: list, add, read, change, delete, enable and disable."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from azsyncd.config.model import Tenant
from azsyncd.directory.authorize import Verdict
from azsyncd.directory.source import DirectorySource
from azsyncd.errors import AuthError, GraphError, UserError
from azsyncd.service.api.deps import daemon_of
from azsyncd.service.api.errors import ApiError, not_found
from azsyncd.service.api.schemas import TenantPatch
from azsyncd.service.daemon import Daemon, tenant_status

router = APIRouter(prefix="/v1/tenants", tags=["tenants"])
DaemonDep = Annotated[Daemon, Depends(daemon_of)]
TenantName = Annotated[str, Path(max_length=64)]


def _view(daemon: Daemon, tenant: Tenant, states: dict[str, Any] | None = None) -> dict[str, Any]:
    row = (states if states is not None else daemon.state.tenants()).get(tenant.name)
    return {
        **tenant.model_dump(mode="json"),
        **{"state": tenant_status(tenant.name, tenant.enabled, row)},
    }


def _index(daemon: Daemon, name: str) -> int:
    for i, tenant in enumerate(daemon.config.tenants):
        if tenant.name == name:
            return i
    raise not_found(f'tenant "{name}"', "GET /v1/tenants lists the configured tenants")


@router.get("", summary="Configured tenants with their status")
def list_tenants(daemon: DaemonDep) -> dict[str, Any]:
    states = daemon.state.tenants()
    return {"tenants": [_view(daemon, t, states) for t in daemon.config.tenants]}


@router.post("", status_code=201, summary="Add a tenant")
def add_tenant(tenant: Tenant, daemon: DaemonDep) -> dict[str, Any]:
    if daemon.config.tenant(tenant.name):
        raise ApiError(
            409, "exists", f'a tenant named "{tenant.name}" exists already', "choose another name"
        )
    daemon.update_config(lambda doc: doc["tenants"].append(tenant.model_dump(mode="json")))
    daemon.state.forget_tenant(tenant.name)  # a re-added name starts with no old delta links
    return _view(daemon, daemon.config.tenant(tenant.name))  # type: ignore[arg-type]


@router.get("/{name}", summary="One tenant")
def get_tenant(name: TenantName, daemon: DaemonDep) -> dict[str, Any]:
    return _view(daemon, daemon.config.tenants[_index(daemon, name)])


@router.patch("/{name}", summary="Change a tenant's settings")
def patch_tenant(name: TenantName, patch: TenantPatch, daemon: DaemonDep) -> dict[str, Any]:  # type: ignore[valid-type]
    index = _index(daemon, name)
    changes = patch.model_dump(exclude_unset=True, mode="json")  # type: ignore[attr-defined]
    daemon.update_config(lambda doc: doc["tenants"][index].update(changes))
    return _view(daemon, daemon.config.tenants[index])


@router.delete("/{name}", summary="Delete a tenant and its runtime state; its contacts stay")
def delete_tenant(name: TenantName, daemon: DaemonDep) -> dict[str, Any]:
    index = _index(daemon, name)
    daemon.update_config(lambda doc: doc["tenants"].pop(index))
    daemon.state.forget_tenant(name)
    daemon.tenants.forget(name)
    return {"deleted": name}


def _set_enabled(daemon: Daemon, name: str, enabled: bool) -> dict[str, Any]:
    index = _index(daemon, name)
    daemon.update_config(lambda doc: doc["tenants"][index].update(enabled=enabled))
    return _view(daemon, daemon.config.tenants[index])


@router.post("/{name}/enable", summary="Sync this tenant again")
def enable_tenant(name: TenantName, daemon: DaemonDep) -> dict[str, Any]:
    return _set_enabled(daemon, name, True)


@router.post("/{name}/disable", summary="Leave this tenant out of syncs")
def disable_tenant(name: TenantName, daemon: DaemonDep) -> dict[str, Any]:
    return _set_enabled(daemon, name, False)


@router.post(
    "/{name}/authorize",
    summary="Acquire a token and prove it works (device code: start the sign-in)",
)
def authorize_tenant(name: TenantName, daemon: DaemonDep, response: Response) -> dict[str, Any]:
    tenant = daemon.config.tenants[_index(daemon, name)]
    if tenant.auth == "device_code":
        try:
            sign_in = daemon.tenants.start_device_sign_in(tenant)
        except AuthError as exc:
            daemon.tenants.record(tenant, Verdict("disabled", str(exc), exc.fix))
            raise ApiError(502, "sign_in_failed", str(exc), exc.fix) from None
        response.status_code = 202
        return {"device_code": sign_in.as_dict(), **_view(daemon, tenant)}
    daemon.tenants.authorize_app(tenant)
    return _view(daemon, tenant)


@router.get("/{name}/authorize", summary="The device-code sign-in in progress, if any")
def sign_in_status(name: TenantName, daemon: DaemonDep) -> dict[str, Any]:
    tenant = daemon.config.tenants[_index(daemon, name)]
    sign_in = daemon.tenants.sign_in(name)
    return {"device_code": sign_in.as_dict() if sign_in else None, **_view(daemon, tenant)}


@router.get("/{name}/groups", summary="Search the tenant's groups by name")
def search_groups(
    name: TenantName, daemon: DaemonDep, search: Annotated[str, Query(max_length=256)] = ""
) -> dict[str, Any]:
    tenant = daemon.config.tenants[_index(daemon, name)]
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
    return {
        "groups": [
            {
                "id": g.get("id"),
                "name": g.get("displayName"),
                "description": g.get("description") or "",
            }
            for g in groups
        ]
    }
