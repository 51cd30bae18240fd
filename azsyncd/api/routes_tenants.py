"""Tenants: list, add, read, change, delete, enable and disable."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from azsyncd.api.deps import daemon_of
from azsyncd.api.errors import ApiError, not_found
from azsyncd.api.schemas import TenantPatch
from azsyncd.config_model import Tenant
from azsyncd.daemon import Daemon, tenant_status

router = APIRouter(prefix="/v1/tenants", tags=["tenants"])
DaemonDep = Annotated[Daemon, Depends(daemon_of)]
TenantName = Annotated[str, Path(max_length=64)]


def _view(daemon: Daemon, tenant: Tenant) -> dict[str, Any]:
    row = daemon.state.tenants().get(tenant.name)
    return {**tenant.model_dump(mode="json"), **{"state": tenant_status(tenant.name, tenant.enabled, row)}}


def _index(daemon: Daemon, name: str) -> int:
    for i, tenant in enumerate(daemon.config.tenants):
        if tenant.name == name:
            return i
    raise not_found(f'tenant "{name}"', "GET /v1/tenants lists the configured tenants")


@router.get("", summary="Configured tenants with their status")
def list_tenants(daemon: DaemonDep) -> dict[str, Any]:
    return {"tenants": [_view(daemon, t) for t in daemon.config.tenants]}


@router.post("", status_code=201, summary="Add a tenant")
def add_tenant(tenant: Tenant, daemon: DaemonDep) -> dict[str, Any]:
    if daemon.config.tenant(tenant.name):
        raise ApiError(409, "exists", f'a tenant named "{tenant.name}" exists already', "choose another name")
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


@router.post("/{name}/authorize", summary="Acquire a token and prove it works")
def authorize_tenant(name: TenantName, daemon: DaemonDep) -> dict[str, Any]:
    _index(daemon, name)
    raise ApiError(501, "not_available", "authorizing tenants against Entra ID is not available in this version",
                   "upgrade azsyncd")


@router.get("/{name}/groups", summary="Search the tenant's groups by name")
def search_groups(name: TenantName, daemon: DaemonDep,
                  search: Annotated[str, Query(max_length=256)] = "") -> dict[str, Any]:
    _index(daemon, name)
    raise ApiError(501, "not_available", "group search is not available in this version", "upgrade azsyncd")
