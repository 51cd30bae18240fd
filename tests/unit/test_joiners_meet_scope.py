"""Joiners where they meet [scope] and the leavers: a joiner whose contact waits with the
login off and who leaves the scope, or whose account is disabled, before the hire date is
not started on that date (no login, no welcome email); a disabled one starts once enabled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from azsyncd.demo.api import person
from azsyncd.service.api import create_app
from azsyncd.service.daemon import Daemon
from azsyncd.state.joiners import JoinerState
from azsyncd.state.models import SyncRecord, SyncRun
from azsyncd.sync import quiet_tick
from azsyncd.targets.local.table import Contact
from tests.engine_setup import make_daemon, sync
from tests.fakes.directory import FakeTenant, contoso
from tests.helpers import FakeClock

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday; the joiner starts on Wednesday
SETTINGS = """
[sync]
full_every = 0

[lifecycle]
create_before_hire_days = 3
on_removed = "disable_login"
on_disabled = "disable_login"
grace_days = 5

[scope]
exclude = ['department = "Contractors"']
"""


def setup(tmp_path: Path) -> tuple[Daemon, FakeTenant, FakeClock, dict[str, Any]]:
    directory = contoso(users=10)
    for n, user in enumerate(directory.users.values()):  # none fails
        user.update(officeLocation="Berlin", employeeId=str(n))
    joiner = person(directory, "Jo Joiner", "Support")
    joiner["employeeHireDate"] = "2026-03-04T00:00:00Z"
    directory.add_user(joiner)
    clock = FakeClock(START)
    daemon = make_daemon(tmp_path, directory, skip_empty=True, extra=SETTINGS, clock=clock)
    first = sync(daemon)
    assert first.status == "succeeded", first.message
    assert login(joiner["mail"]) is False  # ready, login off
    return daemon, directory, clock, joiner


def login(email: str) -> bool | None:
    contact = Contact.get_or_none(Contact.email == email)
    return None if contact is None else bool(contact.login_enabled)


def started(run: SyncRun, email: str) -> list[SyncRecord]:
    return [
        r
        for r in SyncRecord.select().where((SyncRecord.run == run.id) & (SyncRecord.email == email))
        if r.type == "Started"
    ]


def test_a_joiner_who_leaves_the_scope_is_not_started(tmp_path: Path) -> None:
    daemon, directory, clock, joiner = setup(tmp_path)
    directory.update_user(joiner["id"], department="Contractors")  # a delta: out of scope
    run = sync(daemon)
    assert run.counts["removed"] == 1
    assert not JoinerState(daemon.state.db).of("contoso")  # a joiner who left is forgotten
    clock.now = START + timedelta(days=2)  # the hire date
    run = sync(daemon)
    assert login(joiner["mail"]) is False and not started(run, joiner["mail"])
    assert run.counts.get("started", 0) == 0


def test_a_joiner_out_of_scope_at_a_full_read_is_not_started(tmp_path: Path) -> None:
    daemon, directory, clock, joiner = setup(tmp_path)
    directory.update_user(joiner["id"], department="Contractors")
    clock.now = START + timedelta(days=2)  # the hire date, and a full read
    run = sync(daemon, full=True)
    assert run.counts["removed"] == 1
    assert login(joiner["mail"]) is False and not started(run, joiner["mail"])


def test_a_disabled_joiner_waits_and_starts_once_enabled(tmp_path: Path) -> None:
    daemon, directory, clock, joiner = setup(tmp_path)
    directory.update_user(joiner["id"], accountEnabled=False)
    sync(daemon)  # a leaver at once: its login is off already
    clock.now = START + timedelta(days=2)  # the hire date: still disabled
    run = sync(daemon)
    assert login(joiner["mail"]) is False and not started(run, joiner["mail"])
    listed = TestClient(create_app(daemon)).get("/v1/lifecycle/joiners").json()["joiners"]
    assert [(j["email"], j["reason"]) for j in listed] == [
        (joiner["mail"], "account disabled in Entra ID: starts once enabled")
    ]
    # Waiting on the account, not on the day: the day's later ticks are idle.
    assert quiet_tick.quiet(daemon.config, daemon.state, daemon.tenants, "contoso", clock())
    directory.update_user(joiner["id"], accountEnabled=True)  # IT enables it on day one
    clock.now = START + timedelta(days=2, hours=1)
    run = sync(daemon)
    assert login(joiner["mail"]) is True
    assert len(started(run, joiner["mail"])) == 1 and run.counts["started"] == 1


def test_a_preview_shows_the_joiners_a_change_starts(tmp_path: Path) -> None:
    """Turning joiners off starts those waiting (login on, welcome email): the preview of
    that change counts and shows them, as the run right after saving it starts them."""
    from azsyncd.service.api.routes_preview import preview_of

    daemon, _, _, joiner = setup(tmp_path)

    def off(document: dict[str, Any]) -> None:
        document["lifecycle"]["create_before_hire_days"] = 0

    found = preview_of(daemon, daemon.config_store.candidate(off), sample=100)
    assert found.counts["joiner_start"] == 1
    (start,) = [c for c in found.sample if c.action == "start"]
    assert start.email == joiner["mail"] and "login on" in start.changes[0]
    daemon.config_store.update(off)
    run = sync(daemon, full=True)
    assert run.counts["started"] == 1 and login(joiner["mail"]) is True


def test_a_joiner_too_early_for_a_contact_who_leaves_the_scope_never_gets_one(
    tmp_path: Path,
) -> None:
    daemon, directory, clock, _ = setup(tmp_path)
    later = person(directory, "Lou Later", "Support")
    later["employeeHireDate"] = "2026-03-12T00:00:00Z"  # ten days on: no contact yet
    directory.add_user(later)
    sync(daemon)
    assert login(later["mail"]) is None
    directory.update_user(later["id"], department="Contractors")  # out of scope
    sync(daemon)
    clock.now = START + timedelta(days=8)  # the contact's day, the 9th: no delta brings Lou
    sync(daemon)
    clock.now = START + timedelta(days=10)
    sync(daemon)
    assert login(later["mail"]) is None


def test_a_joiner_whose_contact_fails_does_not_make_every_tick_run(tmp_path: Path) -> None:
    """A joiner whose window opened but whose contact fails (its data is incomplete) is a
    failing user, planned again once an hour like the others; the ticks in between are idle
    (each started a run's process)."""
    daemon, directory, clock, _ = setup(tmp_path)
    late = person(directory, "Ned Nophone", "Support")
    late.update(employeeHireDate="2026-03-12T00:00:00Z", officeLocation="Mars Base")
    directory.add_user(late)
    sync(daemon)  # too early: kept, no contact
    clock.now = START + timedelta(days=8)  # the contact's day, the 9th
    run = sync(daemon)
    assert run.counts["failed"] == 1 and login(late["mail"]) is None
    clock.now = START + timedelta(days=8, minutes=5)
    tenant = daemon.config.tenants[0]
    assert quiet_tick.work_besides_delta(daemon.config, daemon.state, tenant, clock()) is None
    clock.now = START + timedelta(days=8, hours=2)  # an hour on: the failing user is due
    due = quiet_tick.work_besides_delta(daemon.config, daemon.state, tenant, clock())
    assert due is not None and "failed" in due
