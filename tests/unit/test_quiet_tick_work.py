"""What makes a tick start its run whatever the delta says: each reason alone, and none."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from azsyncd.config.model import Config
from azsyncd.state import State, open_database
from azsyncd.state.fields import utcnow
from azsyncd.state.joiners import JoinerState
from azsyncd.state.lifecycle import Leaver
from azsyncd.state.models import FailingUser
from azsyncd.sync.quiet_tick import work_besides_delta

DAY = timedelta(days=1)
TENANT = {
    "name": "t",
    "tenant_id": "contoso.example",
    "client_id": "11111111-2222-3333-4444-555555555555",
    "client_secret_file": "secret",
}


def config(**tables: object) -> Config:
    return Config.model_validate({"tenants": [TENANT], "sync": {"full_every": 7}, **tables})


@pytest.fixture
def state(tmp_path: Path) -> State:
    state = State(open_database("", tmp_path))
    now = utcnow()
    state.set_tenant("t", status="active", last_full_at=now, failures_retried_at=now)
    return state


def test_a_synced_tenant_with_nothing_due_needs_only_its_delta(state: State) -> None:
    plain = config()
    assert work_besides_delta(plain, state, plain.tenants[0], utcnow()) is None


def test_each_thing_a_run_would_do_makes_the_tick_run(state: State) -> None:
    plain, now = config(), utcnow()
    tenant = plain.tenants[0]
    state.set_tenant("t", last_full_at=now - timedelta(days=8))
    assert "full reconciliation" in str(work_besides_delta(plain, state, tenant, now))
    state.set_tenant("t", last_full_at=now)
    rules = config(
        contact_groups=[{"group": "G", "entra_group": "a" * 8 + "-0000-4000-b000-" + "0" * 12}]
    )
    assert "Entra groups" in str(work_besides_delta(rules, state, rules.tenants[0], now))
    groups = config(
        tenants=[{**TENANT, "users": "groups", "groups": ["a" * 8 + "-0000-4000-b000-" + "0" * 12]}]
    )
    assert "group members" in str(work_besides_delta(groups, state, groups.tenants[0], now))

    FailingUser.create(
        tenant="t", object_id="u1", email="u1@x.example", user={}, reason="r", since_run=1
    )
    assert work_besides_delta(plain, state, tenant, now + timedelta(minutes=5)) is None
    assert "failed" in str(work_besides_delta(plain, state, tenant, now + timedelta(hours=2)))
    FailingUser.delete().execute()

    Leaver.create(tenant="t", object_id="u2", disabled=True)
    assert work_besides_delta(plain, state, tenant, now) is None  # on_disabled = "keep"
    leaving = config(lifecycle={"on_disabled": "disable_login"})
    assert "leavers" in str(work_besides_delta(leaving, state, leaving.tenants[0], now))

    state.set_tenant("t", status="disabled")
    assert "disabled" in str(work_besides_delta(plain, state, tenant, now))


def test_a_reconciliation_is_due_by_the_daemons_clock_not_the_machines(state: State) -> None:
    """The daemon's clock (the one the scheduler and the runs use) decides, whichever way it
    stands from the machine's."""
    plain = config()
    tenant = plain.tenants[0]
    # Reconciled at the machine's now; the daemon's clock says eight days on.
    state.set_tenant("t", last_full_at=utcnow())
    later = utcnow() + 8 * DAY
    assert "full reconciliation" in str(work_besides_delta(plain, state, tenant, later))
    # Reconciled eight days before the machine's now, a day before the daemon's clock.
    state.set_tenant("t", last_full_at=utcnow() - 8 * DAY)
    assert work_besides_delta(plain, state, tenant, utcnow() - 7 * DAY) is None


def test_a_joiner_whose_day_came_makes_the_tick_run(state: State) -> None:
    hiring = config(lifecycle={"create_before_hire_days": 3}, account={"timezone": "UTC"})
    tenant, now = hiring.tenants[0], utcnow().replace(hour=12)  # days from noon, in UTC
    today = now.date()
    row = {"tenant": "t", "email": "j@x.example", "name": "J", "created_run": 1, "user": {}}
    joiners = JoinerState(state.db)
    # A contact made, starting in two days; one too early for a contact (five days on).
    joiners.note([{**row, "object_id": "j1", "created": True, "hire_date": str(today + DAY * 2)}])
    joiners.note([{**row, "object_id": "j2", "created": False, "hire_date": str(today + DAY * 5)}])
    assert work_besides_delta(hiring, state, tenant, now) is None
    assert "joiners" in str(
        work_besides_delta(hiring, state, tenant, now + DAY * 2)
    )  # j2's contact
    joiners.drop_ahead("t", ["j2"])
    assert work_besides_delta(hiring, state, tenant, now + DAY) is None
    assert "joiners" in str(work_besides_delta(hiring, state, tenant, now + DAY * 2))  # j1 starts
    # Joiners turned off: those waiting start at the next tick.
    off = config(account={"timezone": "UTC"})
    assert "joiners" in str(work_besides_delta(off, state, off.tenants[0], now))
