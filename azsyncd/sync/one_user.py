"""Syncing one user on request: every step for that user in the run's log, the way
provision-on-demand shows it (fetched, scope, mapped, action, result)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from azsyncd.directory.client import GraphClient
from azsyncd.directory.lookup import find_user, groups_of
from azsyncd.directory.source import select_for
from azsyncd.errors import GraphError
from azsyncd.sync import joiners
from azsyncd.sync.planner import outside

if TYPE_CHECKING:
    from azsyncd.sync.tenant_run import TenantRun


def sync_one(run: TenantRun, graph: GraphClient) -> None:
    tenant, services = run.tenant, run.services
    who = str(services.ctx.options["user"])

    def log(message: str) -> None:
        services.ctx.log(f"{tenant.name}: {message}")

    member: set[str] = set()
    try:
        days = services.config.lifecycle.create_before_hire_days
        scopes = services.config.scopes(tenant)
        select = select_for(
            services.config.mapping, joiners.attributes(days), *(s.reads() for s in scopes)
        )
        user = find_user(graph, who, select)
        if user and tenant.users == "groups":
            member = groups_of(graph, str(user["id"])) & set(tenant.groups)
    except GraphError as exc:
        run.fail(f"reading {who} failed: {exc}")
        return
    if not user:
        log(f"1. fetched: no user {who} in this tenant")
        return
    log(f"1. fetched: {user.get('userPrincipalName')} (id {user.get('id')})")
    if tenant.users == "groups":
        if not member:
            log(
                "2. scope: not a member (directly or through nested groups) of the selected "
                "groups; nothing to do"
            )
            return
        where = f"member of selected group(s) {', '.join(sorted(member))}"
    else:
        where = "all users of the tenant"
    verdict = (outside(user, scopes) or "in scope") if scopes else "no [scope] conditions"
    log(f"2. scope: {where}; [scope]: {verdict}")
    action = services.planning.plan(tenant, [user])[0]
    if action.mapped:
        mapped = action.mapped
        names = services.planning.field_names
        custom = {names.get(k, k): v for k, v in mapped.custom.items()}
        log(
            f"3. mapped: email {mapped.email}, name {mapped.name!r}, phones "
            f"{[(p.type, p.number) for p in mapped.phones]}, custom fields {custom}"
        )
    log(
        f"4. action: {action.kind}"
        + (f" ({action.reason})" if action.reason else "")
        + (f": {'; '.join(action.changes)}" if action.changes else "")
    )
    run.contacts.send([action])
    services.writes.drain()
    log(f"5. result: {action.kind}" + (f": {action.reason}" if action.kind == "failed" else ""))
    run.result.users = 1
