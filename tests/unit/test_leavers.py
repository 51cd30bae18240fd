"""Leavers: the pure plan's rules on plain rows, and the built-in store end to end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from azsyncd.config.model import Lifecycle
from azsyncd.state.lifecycle import Leaver, Managed
from azsyncd.state.models import DeltaLink
from azsyncd.sync import leavers
from azsyncd.targets.local.table import Contact
from tests.engine_setup import make_daemon, sync, tenant_toml
from tests.fakes.directory import contoso

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
MANAGED = {"u1": Managed("a@x.example", "11"), "u2": Managed("b@x.example", "12")}
ON = Lifecycle(on_removed="disable_login", on_disabled="disable_login", grace_days=3)


def plan(
    settings: Lifecycle = ON,
    known: dict[str, Leaver] | None = None,
    present: dict[str, bool] | None = None,
    removed: set[str] | None = None,
    now: datetime = NOW,
) -> tuple[list[leavers.Step], dict[str, Leaver]]:
    steps, rows = leavers.plan(
        settings, "t", MANAGED, known or {}, present or {}, removed or set(), now
    )
    return steps, {r.object_id: r for r in rows}


def gone(object_id: str, days: float, acted: bool = False) -> Leaver:
    return Leaver(
        tenant="t",
        object_id=object_id,
        email=MANAGED[object_id].email,
        gone_since=NOW - timedelta(days=days),
        acted=acted,
    )


def test_a_removal_is_remembered_and_acted_on_only_after_grace() -> None:
    steps, rows = plan(removed={"u1"})
    assert steps == [] and rows["u1"].gone_since == NOW
    assert plan(known={"u1": gone("u1", 2.99)})[0] == []  # still inside the grace
    (step,) = plan(known={"u1": gone("u1", 3)})[0]
    assert (step.target_id, step.login, step.type) == ("11", False, "Leaver")
    assert "since 2026-05-01" in step.reason


def test_keep_never_acts_but_a_returning_user_still_gets_the_login_back() -> None:
    keep = Lifecycle()
    assert plan(keep, known={"u1": gone("u1", 30)}, present={"u2": False})[0] == []
    (step,) = plan(keep, known={"u1": gone("u1", 30, acted=True)}, present={"u1": True})[0]
    assert step.login is True and step.reason == "back in Entra ID"


def test_disabled_acts_at_once_and_re_enabled_returns() -> None:
    (step,) = plan(present={"u2": False})[0]
    assert step.login is False and step.reason == "account disabled in Entra ID"
    row = Leaver(tenant="t", object_id="u2", email="b@x.example", disabled=True, acted=True)
    assert plan(known={"u2": row}, present={"u2": False})[0] == []  # once, not every run
    (back,) = plan(known={"u2": row}, present={"u2": True})[0]
    assert back.login is True and back.reason == "account enabled again"


def test_only_managed_contacts_and_no_double_action() -> None:
    steps, rows = plan(removed={"stranger"}, present={"other": False})
    assert steps == [] and rows == {}
    assert plan(known={"u1": gone("u1", 9, acted=True)}, removed={"u1"})[0] == []


def test_a_user_back_within_grace_is_cleared_without_a_step() -> None:
    steps, rows = plan(known={"u1": gone("u1", 1)}, present={"u1": True})
    assert steps == [] and rows["u1"].gone_since is None


def test_built_in_store_out_of_the_synced_groups_then_back(tmp_path: Path) -> None:
    directory = contoso(users=70)
    support = "90000001-0000-4000-b000-000000000000"
    daemon = make_daemon(
        tmp_path,
        directory,
        skip_empty=True,
        tenants_toml=tenant_toml(extra=f'users = "groups"\ngroups = ["{support}"]'),
        extra='[lifecycle]\non_removed = "disable_login"\ngrace_days = 0\n',
    )
    sync(daemon)
    member = directory.groups[support].members[0]
    email = directory.users[member]["mail"].lower()
    assert Contact.get(Contact.email == email).login_enabled is True
    directory.groups[support].members.remove(member)
    run = sync(daemon)
    row = Contact.get(Contact.email == email)
    assert run.counts["left"] == 1 and row.login_enabled is False
    assert row.groups == {"Left Microsoft Entra ID: contoso": False}  # the tenant's label
    assert Contact.select().where(Contact.login_enabled == False).count() == 1  # noqa: E712
    directory.add_to_group(support, member)
    run = sync(daemon)
    row = Contact.get(Contact.email == email)
    assert run.counts["returned"] == 1 and row.login_enabled is True and row.groups == {}


def test_rows_kept_under_keep_are_acted_on_when_turned_on_and_never_twice() -> None:
    keep = Lifecycle()
    steps, rows = plan(keep, removed={"u1"}, present={"u2": False})
    assert steps == [] and rows["u1"].gone_since == NOW and rows["u2"].disabled
    later = NOW + timedelta(days=4)
    # Next run, delta: neither user is in the read, both are acted on once now that it is on.
    steps, _ = plan(known=rows, now=later)
    reasons = {s.row.object_id: s.reason for s in steps}
    assert reasons["u1"].startswith("gone from Entra ID or the synced groups since 2026-05-04")
    assert reasons == {**reasons, "u2": "account disabled in Entra ID"} and len(steps) == 2
    disabled_then_deleted = Leaver(
        tenant="t", object_id="u2", email="b@x.example", disabled=True, gone_since=NOW
    )
    assert len(plan(known={"u2": disabled_then_deleted}, now=later)[0]) == 1


def test_the_safety_rail_plans_no_leaver(tmp_path: Path) -> None:
    directory = contoso(users=40)
    daemon = make_daemon(
        tmp_path,
        directory,
        skip_empty=True,
        extra=(
            '[sync]\nmin_share = 0.8\n[lifecycle]\non_removed = "disable_login"\ngrace_days = 0\n'
        ),
    )
    sync(daemon)
    DeltaLink.delete().execute()  # a full read, so the rail applies
    for user_id in list(directory.users)[:20]:
        directory.remove_user(user_id)
    held = sync(daemon)
    assert "safety rail" in held.message and held.counts.get("left", 0) == 0
    assert Contact.select().where(Contact.login_enabled == False).count() == 0  # noqa: E712
