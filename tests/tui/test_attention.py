"""What needs action, from a status and the open alerts: each item once, with its keys."""

from __future__ import annotations

from azsyncd.answers import RaisedAlert
from azsyncd.control.client import Alerts, HeldRun, Status, TenantState
from tui.attention import needs_action


def tenant(name: str, status: str, enabled: bool = True) -> TenantState:
    return TenantState(name=name, status=status, enabled=enabled, reason=f"{name} {status}")


def test_held_runs_tenants_to_authorize_and_other_alerts_each_once() -> None:
    status = Status(
        held_runs=[HeldRun(id=12, message="tenant a: 412 create (threshold 50)")],
        tenants=[
            tenant("a", "active"),
            tenant("b", "quarantined"),
            tenant("c", "disabled"),  # a failed sign-in turned it off
            tenant("d", "disabled", enabled=False),  # the admin turned it off: nothing to do
            tenant("e", "new"),
        ],
    )
    alerts = Alerts(
        enabled=True,
        alerts=[
            RaisedAlert(key="held-12", title="sync run 12 is held"),  # said above already
            RaisedAlert(
                key="tenant-b-quarantined", title="tenant b quarantined"
            ),  # said above already
            RaisedAlert(key="stale", title="no sync has succeeded for 24 hours"),
        ],
    )
    lines = [item.line() for item in needs_action(status, alerts)]
    assert lines == [
        "Run 12 is held [6, then a approves, D discards]: tenant a: 412 create (threshold 50)",
        "Tenant b quarantined [2, then z authorizes]: b quarantined",
        "Tenant c disabled [2, then z authorizes]: c disabled",
        "Tenant e not authorized yet [2, then z authorizes]: e new",
        "1 alert(s) open [0 lists them]: no sync has succeeded for 24 hours",
    ]


def test_nothing_needs_action_before_the_first_status() -> None:
    assert needs_action(None) == []
    assert needs_action(Status(tenants=[tenant("a", "active")])) == []
