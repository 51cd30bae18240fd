"""Thresholds decide only whether a plan is applied, never what is planned.

Hypothesis draws a directory of two tenants (some addresses in both), a configuration
(leavers, a contact-group rule, disabled accounts in or out of scope, joiners' contacts
created ahead of their hire date or not) and a sequence of runs with the directory changing
between them (users disabled, enabled again, deleted, moved to another department, given
another address, hired, their hire date moved). The same script is played twice, on a
daemon whose thresholds are never reached and on one without thresholds: every run must plan
the same, step by step (the digest of each step's plan), count the same, and leave the help
desk the same.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from azsyncd.targets.local.table import Contact
from tests.engine_setup import make_daemon, sync, tenant_toml
from tests.fakes.directory import FakeTenant

FABRIKAM = ("Fabrikam", "fab00000-0000-4000-8000-00000000fab0")
DEPARTMENTS = ("Sales", "Support", "Legal")
NEVER = "\n[sync.thresholds]\n" + "".join(
    f"{kind} = 100000\n" for kind in ("create", "update", "disable", "group_changes")
)


def hire_date(days: int | None) -> str | None:
    """A hire date ``days`` from today (UTC), None for none."""
    if days is None:
        return None
    return f"{datetime.now(UTC) + timedelta(days=days):%Y-%m-%d}T00:00:00Z"


def user(
    i: int,
    tenant: str,
    enabled: bool,
    department: str,
    address: str = "",
    hire: int | None = None,
) -> dict[str, Any]:
    domain = f"{tenant}.example"
    return {
        "employeeHireDate": hire_date(hire),
        "id": f"{tenant}-{i}",
        "userPrincipalName": address or f"p{i}@{domain}",
        "mail": address or f"p{i}@{domain}",
        "displayName": f"P {i}",
        "givenName": "P",
        "surname": f"{tenant} {i}",
        "accountEnabled": enabled,
        "userType": "Member",
        "department": department,
        "employeeId": str(1000 + i),
        "officeLocation": "Berlin",
        "mobilePhone": f"+1 555 {i:04d}",
    }


@dataclass
class Script:
    users: list[tuple[bool, str]]  # contoso's users: enabled, department
    shared: list[int]  # contoso users whose address a fabrikam user has too
    on_disabled: str
    on_removed: str
    rule: bool
    exclude_disabled: bool
    ahead: int = 0  # [lifecycle] create_before_hire_days
    hires: list[int | None] = field(default_factory=list)  # contoso's users' hire dates
    changes: list[list[tuple[str, int, str]]] = field(default_factory=list)  # before each run


change = st.tuples(
    st.sampled_from(
        ["disable", "enable", "remove", "department", "address", "hire", "start", "postpone"]
    ),
    st.integers(0, 7),
    st.sampled_from(DEPARTMENTS),
)
scripts = st.builds(
    Script,
    users=st.lists(st.tuples(st.booleans(), st.sampled_from(DEPARTMENTS)), min_size=2, max_size=6),
    shared=st.lists(st.integers(0, 5), max_size=2, unique=True),
    on_disabled=st.sampled_from(["keep", "disable_login"]),
    on_removed=st.sampled_from(["keep", "disable_login"]),
    rule=st.booleans(),
    exclude_disabled=st.booleans(),
    ahead=st.sampled_from([0, 3]),
    hires=st.lists(st.sampled_from([None, -30, 0, 1, 2, 10]), max_size=6),
    changes=st.lists(st.lists(change, max_size=3), min_size=1, max_size=3),
)


def directories(script: Script) -> tuple[FakeTenant, FakeTenant]:
    contoso = FakeTenant()
    fabrikam = FakeTenant(
        *FABRIKAM, login="https://login.fabrikam.test", graph="https://graph.fabrikam.test"
    )
    for i, (enabled, department) in enumerate(script.users):
        hire = script.hires[i] if i < len(script.hires) else None
        contoso.add_user(user(i, "contoso", enabled, department, hire=hire))
    fabrikam.add_user(user(0, "fabrikam", True, "Sales"))
    for i in script.shared:
        if i < len(script.users):  # the same address, another person in another tenant
            fabrikam.add_user(user(10 + i, "fabrikam", True, "Support", f"p{i}@contoso.example"))
    return contoso, fabrikam


def play(directory: FakeTenant, what: str, i: int, department: str) -> None:
    key = f"contoso-{i}"
    if what == "hire":  # a new user, some starting in a few days
        directory.add_user(user(20 + i, "contoso", True, department, hire=[None, 2, 10][i % 3]))
    elif key not in directory.users:
        return
    elif what == "remove":
        directory.remove_user(key)
    elif what in ("disable", "enable"):
        directory.update_user(key, accountEnabled=what == "enable")
    elif what == "department":
        directory.update_user(key, department=department)
    elif what in ("start", "postpone"):  # the hire date removed (now), or moved ahead
        directory.update_user(key, employeeHireDate=hire_date(None if what == "start" else 2))
    else:
        address = f"moved{i}.{directory.version}@contoso.example"
        directory.update_user(key, userPrincipalName=address, mail=address)


def observe(script: Script, thresholds: str) -> list[Any]:
    """Each run's plan step by step, its counts and the help desk after it."""
    contoso, fabrikam = directories(script)
    scope = "exclude_disabled = true" if script.exclude_disabled else ""
    tenants = tenant_toml(extra=scope) + tenant_toml(
        "fabrikam", tenant_id=FABRIKAM[1], login=fabrikam.login, graph=fabrikam.graph
    )
    extra = (
        f'\n[lifecycle]\non_disabled = "{script.on_disabled}"\n'
        f'on_removed = "{script.on_removed}"\ngrace_days = 0\n'
        f"create_before_hire_days = {script.ahead}\n"
    )
    if script.rule:
        extra += (
            '\n[[contact_groups]]\ngroup = "Sales desk"\nwhen = \'department starts with "sal"\'\n'
        )
    seen = []
    with tempfile.TemporaryDirectory() as home:
        daemon = make_daemon(
            Path(home),
            contoso,
            fabrikam,
            tenants_toml=tenants,
            skip_empty=True,
            extra=extra + thresholds,
        )
        try:
            for changes in [[], *script.changes]:
                for what, i, department in changes:
                    play(contoso, what, i, department)
                run = sync(daemon)
                counts = {k: v for k, v in run.counts.items() if k not in ("plan", "plan_digest")}
                contacts = sorted(
                    (c.email, c.name, c.login_enabled, sorted(c.groups.items()))
                    for c in Contact.select()
                )
                seen.append((run.status, counts, contacts))
        finally:
            daemon.state.close()
    return seen


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scripts)
def test_thresholds_never_reached_plan_and_write_exactly_what_no_thresholds_do(
    script: Script,
) -> None:
    guarded, plain = observe(script, NEVER), observe(script, "")
    for n, (held, free) in enumerate(zip(guarded, plain, strict=True)):
        assert held[0] == free[0], (
            f"run {n + 1}: status {held[0]} with thresholds, {free[0]} without"
        )
        assert held[1].get("steps") == free[1].get("steps"), f"run {n + 1}: the plans differ"
        assert held[1] == free[1], f"run {n + 1}: the counts differ"
        assert held[2] == free[2], f"run {n + 1}: the help desk differs"
        assert free[0] != "held"
