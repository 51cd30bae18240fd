"""Authorizing a tenant: a token, proof that it reads users, and the permissions it needs."""

from __future__ import annotations

from dataclasses import dataclass

from azsyncd.config.model import Tenant
from azsyncd.directory.auth import TenantAuth, jwt_claims
from azsyncd.directory.client import GraphClient
from azsyncd.errors import AuthError, GraphError

USER_PERMISSIONS = {
    "User.Read.All",
    "Directory.Read.All",
    "User.ReadWrite.All",
    "Directory.ReadWrite.All",
}
GROUP_PERMISSIONS = {
    "GroupMember.Read.All",
    "Group.Read.All",
    "Directory.Read.All",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
}


@dataclass(frozen=True)
class Verdict:
    status: str  # active | disabled
    reason: str = ""
    fix: str = ""
    display_name: str = ""


def missing_permissions(token: str, tenant: Tenant) -> list[str]:
    claims = jwt_claims(token)
    granted = set(claims.get("roles") or []) | set(str(claims.get("scp") or "").split())
    if not claims:
        return []  # an opaque token: the test read below decides
    missing = []
    if not granted & USER_PERMISSIONS:
        missing.append("User.Read.All")
    if tenant.users == "groups" and not granted & GROUP_PERMISSIONS:
        missing.append("GroupMember.Read.All")
    return missing


def authorize(auth: TenantAuth, graph: GraphClient) -> Verdict:
    tenant = auth.tenant
    kind = "application" if auth.app_only else "delegated"
    try:
        token = auth.token(fresh=True)  # a cached token says nothing of today's credential
    except AuthError as exc:
        return Verdict("disabled", str(exc), exc.fix)
    missing = missing_permissions(token, tenant)
    if missing:
        return Verdict(
            "disabled",
            f"the app lacks the {kind} permission {', '.join(missing)}",
            f"add it in the app registration (API permissions > Microsoft Graph > {kind}) and "
            "grant "
            f"admin consent: {auth.consent_url}",
        )
    try:
        graph.get("/users", {"$select": "id", "$top": 1})
    except GraphError as exc:
        if exc.status in (401, 403):
            return Verdict(
                "disabled",
                f"reading users was refused: {exc}",
                f"grant User.Read.All ({kind}) with admin consent: {auth.consent_url}",
            )
        return Verdict(
            "disabled",
            f"reading users failed: {exc}",
            exc.fix or "try again; if it persists, quote the request-id",
        )
    display_name = ""
    try:
        orgs = graph.fetch("/organization", {"$select": "displayName"}).items
        if orgs and isinstance(orgs[0], dict):
            display_name = str(orgs[0].get("displayName") or "")
    except GraphError:
        pass  # reading the tenant's name needs Organization.Read.All; optional
    return Verdict("active", "", "", display_name)
