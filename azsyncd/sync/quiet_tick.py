"""A tick that finds nothing to do, told without a run's process.

Most incremental ticks find the directory unchanged. Starting a process for them (a fresh
interpreter loading azsync, about a second of CPU and 60 MB) would cost more than everything
else the daemon does. So before a tick starts its run, the daemon asks here, in its own
process, whether the tick has work: anything a run of the tenant would do besides reading
an empty delta (a full read or reconciliation due, failing users to plan again, leavers
whose time came, welcome emails owed, rules on Entra groups, a tenant not yet active), or a
delta with any change. Only then is a run started; a quiet tick stores the new delta link
and the check's time, as the run would, and that is all (one Graph call, its token cached).
Anything unexpected (an error, an expired link) is left to the run, which handles it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from azsyncd.config.model import Config, Tenant
from azsyncd.directory.client import LinkGuard
from azsyncd.directory.tenants import TenantService
from azsyncd.errors import AzsyncError, Interrupted
from azsyncd.state import State
from azsyncd.state.fields import utcnow
from azsyncd.state.joiners import JoinerState
from azsyncd.state.lifecycle import Leaver, LifecycleState
from azsyncd.state.models import FailingUser
from azsyncd.sync import joiners, leavers
from azsyncd.sync.read import FAILURE_RETRY_EVERY, read_key, reconciliation_due

MAX_PAGES = 20  # an empty delta is one page; more pages without a change are the run's


def work_besides_delta(config: Config, state: State, tenant: Tenant, now: datetime) -> str | None:
    """Why a tick of ``tenant`` must run whatever the delta says, or None."""
    row = state.tenant(tenant.name)
    if tenant.users == "groups":
        return "group members are read in full at every tick"
    if row.status != "active":
        return f"the tenant is {row.status}"
    if reconciliation_due(config, row, {}, now):
        return "a full reconciliation is due"
    if any(rule.entra_group for rule in config.contact_groups):
        return "contact-group rules follow Entra groups, which a user delta does not show"
    last = row.failures_retried_at
    if (last is None or now - last >= FAILURE_RETRY_EVERY) and (
        FailingUser.select().where(FailingUser.tenant == tenant.name).exists()
    ):
        return "users that failed are due to be planned again"
    waiting = {
        r.object_id: r
        for r in Leaver.select().where((Leaver.tenant == tenant.name) & ~Leaver.acted)
    }
    if waiting and leavers.due(config.lifecycle, waiting, now):
        return "leavers' logins are due to be turned off"
    if state.due_welcomes(tenant=tenant.name):
        return "welcome emails are owed"
    if joiners_due(config, state, tenant, now):
        return "joiners are due to start, or to get their contact"
    return None


def joiners_due(config: Config, state: State, tenant: Tenant, now: datetime) -> bool:
    """Whether a joiner of ``tenant`` starts today, is due its contact, or waits on a start
    the help desk refused: the day turning, not the directory, brings these."""
    days = config.lifecycle.create_before_hire_days
    today = joiners.today(now, config.account.timezone)
    rows = JoinerState(state.db).of(tenant.name)
    # A joiner whose account is disabled waits for it to be enabled: a change a delta brings.
    waiting = LifecycleState(state.db).disabled(tenant.name, rows)
    for row in rows.values():
        if row.object_id in waiting and row.created:
            continue
        first = row.day if row.created else row.day - timedelta(days=days)
        if days == 0 or row.reason or first <= today:
            return True
    return False


def quiet(config: Config, state: State, tenants: TenantService, name: str, now: datetime) -> bool:
    """True if the tick of tenant ``name`` had nothing to do: its delta was read and empty,
    and the new delta link and the check's time are stored. False: start the run."""
    tenant = config.tenant(name)
    if tenant is None or work_besides_delta(config, state, tenant, now) is not None:
        return False
    key = read_key(config, tenant, joiners.today(now, config.account.timezone))
    link = state.delta_link(tenant.name, key)
    if link is None:
        return False  # a first or full read
    try:
        graph = tenants.connect(tenant).graph
        page, guard = graph.fetch(link), LinkGuard()
        for _ in range(MAX_PAGES):
            if page.items:
                return False  # changes: the run reads them again and writes them
            latest = page.link("@odata.deltaLink")
            if latest:
                state.set_delta_link(tenant.name, key, latest)
                state.set_tenant(tenant.name, last_checked_at=utcnow())
                return True
            following = page.link("@odata.nextLink")
            if not following:
                return False
            guard.check(following, page)
            page = graph.fetch(following)
    except Interrupted:
        raise
    except (AzsyncError, OSError, ValueError):
        return False  # the run meets it too, and records it as it should
    return False
