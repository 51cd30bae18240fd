"""One contact per directory object, in-process on the built-in store: who takes over an
address whose owner left, a bound contact an agent deleted, and a leaver's login the help
desk will not turn off."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import tomli_w
from starlette.testclient import TestClient

from azsyncd.config import file as config_file
from azsyncd.demo.directory import DEMO_SECRET
from azsyncd.service.api import create_app
from azsyncd.service.daemon import Daemon
from azsyncd.service.watch.alerts import conditions
from azsyncd.state.lifecycle import LifecycleState
from azsyncd.targets.local.table import Contact
from tests.engine_setup import Router, make_daemon, mapping_toml, sync, tenant_toml
from tests.fakes.directory import FakeTenant
from tests.unit.test_run_bookkeeping import tenant

SHARED = "shared@example.test"


def person(key: str, **values: Any) -> dict[str, Any]:
    return {
        "id": key,
        "userPrincipalName": f"{key}@example.test",
        "mail": f"{key}@example.test",
        "displayName": key,
        "givenName": key,
        "surname": "Person",
        "accountEnabled": True,
        "department": "Sales",
        "employeeId": "42",
        "officeLocation": "Berlin",
        **values,
    }


def test_the_first_tenant_in_the_file_that_wants_a_left_address_takes_the_contact_over(
    tmp_path: Path,
) -> None:
    first, second, third = tenant("contoso", 1), tenant("fabrikam", 2), tenant("tailspin", 3)
    for directory, key in ((first, "a"), (second, "b"), (third, "c")):
        directory.add_user(person(key, userPrincipalName=SHARED, givenName=key.upper()))
    toml = "".join(
        tenant_toml(name, tenant_id=t.tenant_id, login=t.login, graph=t.graph)
        for name, t in (("contoso", first), ("fabrikam", second), ("tailspin", third))
    )
    daemon = make_daemon(tmp_path, first, second, third, tenants_toml=toml, skip_empty=True)
    run = sync(daemon)
    failed = daemon.state.records(run.id, status="failed")
    assert sorted(r.tenant for r in failed) == ["fabrikam", "tailspin"]
    assert all("address owned by tenant contoso" in r.result for r in failed)
    [contact] = Contact.select()
    assert contact.name == "A Person"

    first.remove_user("a")  # the owner's user is deleted: seen gone by this run
    gone = sync(daemon)
    assert gone.counts["removed"] == 1 and Contact.get().name == "A Person"
    assert len(daemon.state.records(gone.id, status="failed")) == 2  # not in the same run
    # Tailspin syncs on its own first, but fabrikam comes before it in the file.
    waiting = sync(daemon, tenant="tailspin")
    [refused] = daemon.state.records(waiting.id, status="failed")
    assert "tenant fabrikam comes first in the file and takes the contact over" in refused.result
    taken = sync(daemon, tenant="fabrikam")
    [record] = daemon.state.records(taken.id, search=SHARED)
    assert record.type == "Existing" and record.status == "success"
    assert record.result.startswith("taken over from tenant contoso")
    after = Contact.get()
    assert (after.id, after.name) == (contact.id, "B Person")  # the same contact, B's data
    assert set(daemon.state.bindings("contoso", ["a"])) == set()
    assert LifecycleState(daemon.state.db).leavers("contoso") == {}  # no leaver step for it
    last = sync(daemon)
    assert Contact.get().name == "B Person" and Contact.select().count() == 1
    assert [r.tenant for r in daemon.state.records(last.id, status="failed")] == ["tailspin"]


def test_a_bound_contact_an_agent_deleted_is_bound_afresh_at_a_reconciliation(
    tmp_path: Path,
) -> None:
    directory = FakeTenant()
    directory.add_user(person("ann"))
    daemon = make_daemon(tmp_path, directory, skip_empty=True)
    sync(daemon)
    old = Contact.get()
    Contact.delete().execute()  # an agent deleted it
    assert sync(daemon).counts["new"] == 0  # nothing azsync reads tells it
    again = sync(daemon, full=True)  # compared with the help desk: the contact is gone
    assert again.counts["new"] == 1 and Contact.get().email == old.email
    assert daemon.state.bindings("contoso", ["ann"])["ann"].target_id == str(Contact.get().id)


def required_id_daemon(tmp_path: Path, directory: FakeTenant) -> Daemon:
    """The built-in store with a required Employee ID, leavers acted on at once."""
    (tmp_path / "secret").write_text(DEMO_SECRET)
    (tmp_path / "secret").chmod(0o600)
    fields = [
        {"name": "Department"},
        {"name": "Employee ID", "type": "number", "required": True},
        {"name": "Office", "type": "dropdown", "choices": ["Berlin", "London"]},
    ]
    mapping = {"Department": "department", "Employee ID": "employeeId", "Office": "officeLocation"}
    text = (
        tomli_w.dumps({"target": {"local": {"fields": fields}}})
        + mapping_toml(skip_empty_phones=True, phones={}, custom_fields=mapping)
        + tenant_toml()
        + '[lifecycle]\non_disabled = "disable_login"\n'
    )
    (tmp_path / "azsyncd.toml").write_text(text)
    (tmp_path / "azsyncd.toml").chmod(0o600)
    return Daemon(
        config_file.load(tmp_path / "azsyncd.toml"),
        state_dir=tmp_path / "state",
        graph_transport=httpx.MockTransport(Router(directory)),
        sync_process=False,  # the engine on the runner's thread
    )


def test_a_leaver_whose_login_the_help_desk_refuses_is_said_alerted_and_tried_every_run(
    tmp_path: Path,
) -> None:
    directory = FakeTenant()
    for key in ("ann", "bob"):
        directory.add_user(person(key))
    daemon = required_id_daemon(tmp_path, directory)
    assert sync(daemon).counts["new"] == 2
    bob = Contact.get(Contact.email == "bob@example.test")
    bob.custom = {k: v for k, v in bob.custom.items() if k != "Employee ID"}  # an agent
    bob.save()
    directory.update_user("bob", accountEnabled=False, employeeId=None)  # none to carry either

    def still_on() -> list[str]:
        found = conditions(daemon.state, daemon.config, datetime.now(UTC), datetime.now(UTC))
        return [a.title for a in found if a.key == "tenant-contoso-login-on"]

    for _ in range(2):  # the first run that sees it, and a run with no change: tried each time
        run = sync(daemon)
        assert run.counts["failed_left"] == 1 and run.counts["left"] == 0
        [record] = [r for r in daemon.state.records(run.id) if r.type == "Leaver"]
        assert record.result == "login still ON: Employee ID: this field is required"
        assert Contact.get(Contact.email == "bob@example.test").login_enabled is True
        assert still_on() == ["tenant contoso: 1 leaver(s) still have their portal login"]
        [row] = TestClient(create_app(daemon)).get("/v1/lifecycle").json()["leavers"]
        assert row["email"] == "bob@example.test" and row["reason"] == record.result
    bob = Contact.get(Contact.email == "bob@example.test")
    bob.custom = {**bob.custom, "Employee ID": 7}  # the agent puts a value back
    bob.save()
    fixed = sync(daemon)
    assert fixed.counts["left"] == 1 and fixed.counts["failed_left"] == 0
    assert Contact.get(Contact.email == "bob@example.test").login_enabled is False
    assert still_on() == []


def test_a_domain_move_is_updates_for_the_thresholds(tmp_path: Path) -> None:
    directory = FakeTenant()
    for key in ("ann", "bob", "cy", "dee"):
        directory.add_user(person(key))
    daemon = make_daemon(
        tmp_path, directory, skip_empty=True, extra="\n[sync.thresholds]\nupdate = 3\n"
    )
    assert sync(daemon).counts["new"] == 4
    for key in ("ann", "bob", "cy", "dee"):
        directory.update_user(key, userPrincipalName=f"{key}@new.example")
    held = sync(daemon)
    assert held.status == "held" and "4 update (threshold 3, at most 3)" in held.message
    assert held.counts["plan"]["contoso"] == {
        "create": 0,
        "update": 4,
        "disable": 0,
        "group_changes": 0,
    }
    assert sorted(c.email for c in Contact.select()) == [
        f"{k}@example.test" for k in ("ann", "bob", "cy", "dee")
    ]  # nothing written while held
