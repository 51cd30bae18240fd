"""Held runs with leavers and contact-group rules in the plan: the engine on the simulated
directory, over HTTP to the fake HappyFox. A held run writes nothing at all (no login, no
group, no leaver row); its plan shows every change; an approval applies exactly that plan."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from azsyncd.service.api import create_app
from azsyncd.service.daemon import Daemon
from azsyncd.state.lifecycle import LifecycleState
from tests.contract.test_engine_happyfox import happyfox_daemon
from tests.contract.test_group_rules_happyfox import synced
from tests.contract.test_leavers_happyfox import LEFT, Days
from tests.engine_setup import sync
from tests.fakes.directory import FakeTenant, contoso
from tests.fakes.happyfox import FakeHappyFox

SETTINGS = """
[lifecycle]
on_removed = "disable_login"
on_disabled = "disable_login"
grace_days = 0

[[contact_groups]]
group = "Sales desk"
when = 'department starts with "sal"'
"""
THRESHOLDS = "\n[sync.thresholds]\ndisable = 1\ngroup_changes = 3\n"


def guarded(
    tmp_path: Path, happyfox: tuple[FakeHappyFox, str]
) -> tuple[FakeHappyFox, FakeTenant, Daemon]:
    """Synced once with leavers and a rule, then thresholds turned on."""
    fake, url = happyfox
    directory = contoso(users=40)
    daemon = happyfox_daemon(tmp_path, url, directory, extra=SETTINGS)
    daemon.clock = Days()
    first = sync(daemon)
    assert first.status in ("succeeded", "partial")  # the directory has bad users
    # A user disabled when its contact is created loses the login in that same run, once.
    assert first.counts["left"] == 1
    assert sync(daemon).counts["left"] == 0
    config = tmp_path / "azsyncd.toml"
    config.write_text(config.read_text() + THRESHOLDS)
    assert daemon.config_store.reload()
    return fake, directory, daemon


def users_in(daemon: Daemon, directory: FakeTenant, department: str) -> list[str]:
    """The users of a department that have a contact."""
    users = directory.users
    return sorted(u for u in synced(daemon) if users[u].get("department") == department)


def help_desk(fake: FakeHappyFox) -> Any:
    return copy.deepcopy((fake.contacts, fake.groups))


def leaver_rows(daemon: Daemon) -> dict[str, tuple[Any, ...]]:
    rows = LifecycleState(daemon.state.db).leavers("contoso")
    return {k: (r.gone_since, r.disabled, r.acted) for k, r in rows.items()}


def posts(fake: FakeHappyFox) -> int:
    return sum(1 for method, _, _ in fake.calls if method == "POST")


def test_a_held_plan_with_leavers_and_rules_writes_nothing_then_applies_exactly(
    tmp_path: Path, happyfox: tuple[FakeHappyFox, str]
) -> None:
    fake, directory, daemon = guarded(tmp_path, happyfox)
    contact = synced(daemon)
    sales, support = users_in(daemon, directory, "Sales"), users_in(daemon, directory, "Support")
    quitting, disabled = sales[0], support[:2]
    directory.remove_user(quitting)
    for user in disabled:
        directory.update_user(user, accountEnabled=False)
    directory.update_user(support[2], department="Sales")  # joins "Sales desk"
    directory.update_user(sales[1], department="Support")  # leaves it
    before, writes, rows = help_desk(fake), posts(fake), leaver_rows(daemon)
    left_before = set(fake.group(LEFT))

    held = sync(daemon)
    assert held.status == "held", held.message
    plan = held.counts["plan"]["contoso"]
    # Two disabled and one removed: 3 logins off; 3 moves into the leavers' group and 2 rule
    # changes (one joins "Sales desk", one leaves it; the removed user is not judged).
    assert plan["disable"] == 3 and plan["group_changes"] == 3 + 2
    assert "3 disable (threshold 1, at most 1)" in held.message
    assert "group changes (threshold 3, at most 3)" in held.message
    # Nothing at all was written: no HappyFox POST, no login, no group, no leaver row.
    assert posts(fake) == writes and help_desk(fake) == before
    assert leaver_rows(daemon) == rows
    assert held.counts["left"] == 0 and held.counts["grouped"] == 0

    # The plan shows each change, contact by contact, as `azsyncctl runs show` lists it.
    shown = [r for r in daemon.state.records(held.id) if r.status != "unchanged"]
    leavers = sorted(r.user_id for r in shown if r.type == "Leaver")
    assert leavers == sorted([quitting, *disabled])
    assert all(r.result.startswith("Would turn the login off") for r in shown if r.type == "Leaver")
    groups = {(r.user_id, r.result) for r in shown if r.type == "Group"}
    assert (support[2], 'Would add to contact group "Sales desk"') in groups
    assert (sales[1], 'Would remove from contact group "Sales desk"') in groups
    assert len(groups) == 2

    api = TestClient(create_app(daemon))
    applied = api.post(f"/v1/runs/{held.id}/approve", json={}).json()["run"]
    assert applied["status"] in ("succeeded", "partial"), applied["message"]
    counts = applied["counts"]
    assert counts["left"] == 3 and counts["grouped"] == 1 and counts["ungrouped"] == 1
    assert all(fake.contacts[contact[u]]["login"] is False for u in [quitting, *disabled])
    assert set(fake.group(LEFT)) == left_before | {contact[u] for u in [quitting, *disabled]}
    assert contact[support[2]] in fake.group("Sales desk")
    assert contact[sales[1]] not in fake.group("Sales desk")
    assert {quitting, *disabled} <= {k for k, row in leaver_rows(daemon).items() if row[2]}

    # The leavers are known now: a full read does not count them again, nothing is held.
    again = sync(daemon, full=True)
    assert again.status in ("succeeded", "partial") and again.counts["left"] == 0, again.message

    # Metrics count leaver and group actions by action and outcome, per tenant.
    text = api.get("/v1/metrics").text
    found = {
        (s.labels.get("action"), s.labels.get("outcome")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "azsync_contacts_total" and s.labels.get("tenant") == "contoso"
    }
    assert found[("disable_login", "success")] == 1 + 3  # the run before the thresholds too
    assert found[("group_remove", "success")] == 1 and found[("group_add", "success")] > 1


def test_a_leaver_plan_the_directory_moved_under_is_refused(
    tmp_path: Path, happyfox: tuple[FakeHappyFox, str]
) -> None:
    fake, directory, daemon = guarded(tmp_path, happyfox)
    support = users_in(daemon, directory, "Support")
    for user in support[:2]:
        directory.update_user(user, accountEnabled=False)
    held = sync(daemon)
    assert held.status == "held" and held.counts["plan"]["contoso"]["disable"] == 2
    directory.update_user(support[0], accountEnabled=True)  # re-enabled before the approval
    before, rows = help_desk(fake), leaver_rows(daemon)
    refused = TestClient(create_app(daemon)).post(f"/v1/runs/{held.id}/approve", json={})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "plan_moved"
    assert help_desk(fake) == before and leaver_rows(daemon) == rows
    new = daemon.state.run(refused.json()["error"]["run_id"])
    assert new is not None and new.status == "held"
    assert new.counts["plan"]["contoso"]["disable"] == 1  # only the one still disabled
    # Discarded: still nothing written.
    TestClient(create_app(daemon)).post(f"/v1/runs/{new.id}/discard")
    assert help_desk(fake) == before
