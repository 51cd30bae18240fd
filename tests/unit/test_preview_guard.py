"""Which changes a save previews (``judged``), and what a preview counts as failing now
when the change is to who is planned, not only to the mapping.

``failing_now`` is checked for every input (Hypothesis) against an oracle built per user
from the rules themselves: of the users the change plans, those the settings in use plan
too (in their scope, the tenant synced) and fail. A wider scope's newcomers, a tenant
enabled, disabled accounts let in: none of those fail now, so their failures are the
change's and can refuse it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from azsyncd.config.model import Config
from azsyncd.service.api.routes_preview import preview_of
from azsyncd.sync.mapping import Mapper
from azsyncd.sync.planner import out_of_scope
from azsyncd.sync.preview import judged, refusal
from azsyncd.targets.factory import build_target
from tests.engine_setup import make_daemon, sync, tenant_toml
from tests.fakes.directory import FakeTenant


def config(**sections: Any) -> Config:
    return Config.model_validate(sections)


TENANT = {"name": "t", "tenant_id": "c0de0000-0000-4000-8000-00000000c0de"}
TENANT |= {"client_id": "c1d00000-0000-4000-8000-00000000c1d0", "client_secret_file": "s"}
GROUP = "90000000-0000-4000-b000-000000000000"
OTHER = "90000001-0000-4000-b000-000000000000"
IN_GROUP = TENANT | {"users": "groups", "groups": [GROUP]}
DATED = {"include": ["employeeHireDate <= today"]}

# A change of each of these is previewed at save, and named.
PREVIEWED: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    ("mapping", {}, {"mapping": {"email": "mail"}}, "mapping"),
    ("scope", {}, {"scope": {"exclude": ["not has license"]}}, "scope"),
    ("target", {}, {"target": {"kind": "local", "local": {"fields": []}}}, "target"),
    (
        "joiners",
        {},
        {"lifecycle": {"create_before_hire_days": 7}},
        "lifecycle.create_before_hire_days",
    ),
    ("zone, dated scope", {"scope": DATED}, {"account": {"timezone": "Asia/Tokyo"}}, "account"),
    ("a tenant enabled", {"tenants": [TENANT | {"enabled": False}]}, {}, "tenants.t"),
    ("a tenant added", {"tenants": []}, {}, "tenants.t"),
    ("its scope", {}, {"tenants": [TENANT | {"scope": {"include": ["has license"]}}]}, "t"),
    ("its disabled", {}, {"tenants": [TENANT | {"exclude_disabled": True}]}, "tenants.t"),
    ("all its users", {"tenants": [IN_GROUP]}, {"tenants": [TENANT]}, "tenants.t"),
    ("other groups", {"tenants": [IN_GROUP]}, {"tenants": [IN_GROUP | {"groups": [OTHER]}]}, "t"),
    ("its directory", {}, {"tenants": [TENANT | {"tenant_id": "contoso.example"}]}, "t"),
]
# ...and of these never: nothing they change can make a contact fail.
NEVER: list[tuple[str, dict[str, Any]]] = [
    ("schedule", {"schedule": {"enabled": True, "time": "03:00", "interval": "5m"}}),
    ("account name", {"account": {"name": "Desk"}}),
    ("zone, nothing dated", {"account": {"timezone": "Asia/Tokyo"}}),
    ("sync", {"sync": {"full_every": 1, "min_share": 0.5, "max_fail_share": 0.9}}),
    ("thresholds", {"sync": {"thresholds": {"create": 5, "disable": "10%"}}}),
    ("leavers", {"lifecycle": {"on_removed": "disable_login", "grace_days": 9}}),
    ("rules", {"contact_groups": [{"group": "Sales", "when": 'department = "Sales"'}]}),
    ("welcome", {"welcome_email": {"subject": "Hello"}}),
    ("alerts", {"alerts": {"stale_hours": 5}}),
    ("history", {"state": {"history_runs": 5}}),
    ("a tenant disabled", {"tenants": [TENANT | {"enabled": False}]}),
    ("a tenant's sign-in", {"tenants": [TENANT | {"display_name": "T", "auth": "device_code"}]}),
    ("groups not read", {"tenants": [TENANT | {"groups": [GROUP]}]}),
    ("narrowed to groups", {"tenants": [IN_GROUP]}),
    ("an empty scope", {"tenants": [TENANT | {"scope": {"include": []}}]}),
]


@pytest.mark.parametrize(
    ("before", "change", "named"), [p[1:] for p in PREVIEWED], ids=[p[0] for p in PREVIEWED]
)
def test_a_change_that_can_make_contacts_fail_is_previewed(
    before: dict[str, Any], change: dict[str, Any], named: str
) -> None:
    base = {"tenants": [TENANT], **before}
    found = judged(
        config(**base), config(**{**base, **change, "tenants": change.get("tenants", [TENANT])})
    )
    assert found and any(named in part for part in found), found


@pytest.mark.parametrize("change", [n[1] for n in NEVER], ids=[n[0] for n in NEVER])
def test_a_change_that_cannot_make_contacts_fail_is_not(change: dict[str, Any]) -> None:
    base = {"tenants": [TENANT]}
    assert judged(config(**base), config(**{**base, **change})) == []


# --- failing now, for every input -------------------------------------------------------

SCOPES: dict[str, dict[str, list[str]]] = {
    "all": {},
    "members": {"include": ['userType = "Member"']},
    "licensed": {"include": ["has license"]},
    "not sales": {"exclude": ['department = "Sales"']},
}
users_drawn = st.lists(
    st.tuples(
        st.sampled_from(["Member", "Guest"]),
        st.booleans(),  # a mailbox
        st.booleans(),  # enabled
        st.booleans(),  # licensed
        st.sampled_from(["Sales", "Support"]),
    ),
    min_size=1,
    max_size=8,
)
sides = st.fixed_dictionaries(
    {
        "scope": st.sampled_from(sorted(SCOPES)),
        "exclude_disabled": st.booleans(),
        "email": st.sampled_from(["userPrincipalName", "mail"]),
        "enabled": st.booleans(),
    }
)


def directory_user(
    i: int, kind: str, mailbox: bool, enabled: bool, licensed: bool, dep: str
) -> dict[str, Any]:
    upn = f"u{i}@contoso.example" if kind == "Member" else f"u{i}_x.example#EXT#@contoso.example"
    return {
        "id": f"u-{i}",
        "userPrincipalName": upn,
        "mail": f"u{i}@contoso.example" if mailbox else None,
        "displayName": f"U {i}",
        "givenName": "U",
        "surname": str(i),
        "accountEnabled": enabled,
        "userType": kind,
        "department": dep,
        "assignedLicenses": [{"skuId": "e3"}] if licensed else [],
    }


def edit(side: dict[str, Any]) -> Any:
    def apply(document: dict[str, Any]) -> None:
        document["scope"] = {"include": [], "exclude": [], **SCOPES[side["scope"]]}
        document["mapping"]["email"] = side["email"]
        tenant = document["tenants"][0]
        tenant.update(exclude_disabled=side["exclude_disabled"], enabled=side["enabled"])

    return apply


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(users_drawn, sides, sides)
def test_what_fails_now_is_what_the_settings_in_use_plan_and_fail(
    drawn: list[tuple[str, bool, bool, bool, str]], before: dict[str, Any], after: dict[str, Any]
) -> None:
    directory = FakeTenant()
    users = [directory_user(i, *row) for i, row in enumerate(drawn)]
    for found in users:
        directory.add_user(found)
    after = {**after, "enabled": True}  # a preview plans the tenants enabled by the change
    with tempfile.TemporaryDirectory() as home:
        daemon = make_daemon(Path(home), directory, tenants_toml=tenant_toml(), skip_empty=True)
        try:
            daemon.config_store.update(edit(before))
            if before["enabled"]:
                sync(daemon)  # what fails in use is kept, as after any run
            in_use = daemon.config
            changed = daemon.config_store.candidate(edit(after))
            preview = preview_of(daemon, changed)
            target = build_target(in_use, daemon.loaded.directory, daemon.state.db)
            try:
                fields = target.fields()
            finally:
                target.close()
        finally:
            daemon.state.close()
    [tenant] = preview.tenants
    assert tenant.ok, tenant.reason

    def judge(settings_: Config, user: dict[str, Any]) -> tuple[bool, bool]:
        t = settings_.tenants[0]
        planned = out_of_scope(user, t.exclude_disabled, settings_.scopes(t)) is None
        return planned, Mapper(settings_.mapping, fields).fails(user)

    expected_fail = expected_now = 0
    for user in users:
        planned, fails = judge(changed, user)
        if not planned:
            continue
        expected_fail += fails
        planned_now, fails_now = judge(in_use, user)
        expected_now += before["enabled"] and planned_now and fails_now
    assert tenant.counts["fail"] == expected_fail
    assert tenant.failing_now == expected_now
    refused = refusal(preview, 0.2)
    worse = tenant.fail_share > 0.2 and expected_fail > expected_now
    assert (refused is not None) == worse
