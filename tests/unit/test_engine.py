"""The sync engine end to end in-process: simulated Entra ID in, the built-in store out."""

from __future__ import annotations

import csv
import io
import threading
from pathlib import Path

import pytest

from azsyncd.errors import Interrupted
from azsyncd.state.fields import utcnow
from azsyncd.state.models import MirrorEntry
from azsyncd.sync import report
from azsyncd.sync.engine import Engine
from azsyncd.sync.planner import Action, ActionKind
from azsyncd.sync.runner import Progress, RunContext
from azsyncd.sync.writes import Tally
from azsyncd.targets.factory import build_target
from azsyncd.targets.local.store import LocalStore
from azsyncd.targets.local.table import Contact
from tests.engine_setup import make_daemon, sync, tenant_toml
from tests.fakes.directory import FakeTenant, contoso


def contacts() -> dict[str, Contact]:
    return {c.email: c for c in Contact.select()}


def test_first_sync_creates_contacts_and_explains_each_failure(tmp_path: Path) -> None:
    directory = contoso(users=120)
    daemon = make_daemon(tmp_path, directory)
    run = sync(daemon)
    records = daemon.state.records(run.id)
    failed = {r.email: r.result for r in records if r.status == "failed"}
    stored = contacts()
    assert run.status == "partial" and run.counts["new"] == len(stored) == 120 - len(failed)
    assert run.counts["new"] + run.counts["failed"] == 120
    # Each failure rule, worded with field, attribute, value and fix.
    assert any(
        'Employee ID <- employeeId: "A-6" is not a number (datatype mismatch)' in r
        for r in failed.values()
    )
    assert any(
        "Office <- officeLocation" in r and "allowed: Berlin, London, Remote" in r
        for r in failed.values()
    )
    assert any(
        "phone (mo) <- mobilePhone: empty" in r and "skip_empty_phones" in r
        for r in failed.values()
    )
    # Guests get their real mailbox, not the #EXT# UPN.
    guest = directory.users["00000000-0000-4000-a000-000000000003"]
    assert guest["mail"].lower() in stored and "#ext#" not in " ".join(stored)
    ann = stored["anna.andersson0@contoso.example"]
    assert (
        ann.name == "Anna Andersson"
        and ann.custom["Employee ID"] == 10000
        and ann.custom["Hire date"] == "2010-01-01"
    )
    assert ann.custom["Office"] == "Berlin" and {(p["type"], p["number"]) for p in ann.phones} == {
        ("w", "+49 30 100000"),
        ("mo", "+49 170 200000"),
    }
    assert ann.source_tenant == "contoso" and ann.source_object_id.endswith("000000000000")


def test_a_resync_with_no_change_writes_nothing_and_reads_only_changes(tmp_path: Path) -> None:
    directory = contoso(users=60)
    daemon = make_daemon(tmp_path, directory)
    first = sync(daemon)
    before = {e: c.updated_at for e, c in contacts().items()}
    second = sync(daemon)
    assert {k: second.counts[k] for k in ("new", "updated", "failed")} == {
        "new": 0,
        "updated": 0,
        "failed": first.counts["failed"],  # still failing, and still listed
    }
    assert {e: c.updated_at for e, c in contacts().items()} == before
    assert any("/users/delta?%24deltatoken=v" in r for r in directory.requests[-3:])


def test_a_directory_change_updates_only_that_field_and_keeps_unmapped_ones(tmp_path: Path) -> None:
    directory = contoso(users=30)
    daemon = make_daemon(tmp_path, directory)
    sync(daemon)
    ann = Contact.get(Contact.email == "anna.andersson0@contoso.example")
    ann.custom = {
        **ann.custom,
        "Notes": "VIP: call before noon",
    }  # typed by an agent in the help desk
    ann.save()
    directory.update_user(
        "00000000-0000-4000-a000-000000000000", department="Legal", surname="Berg"
    )
    run = sync(daemon)
    records = daemon.state.records(run.id)
    assert [(r.email, r.status, r.type) for r in records if r.status != "failed"] == [
        ("anna.andersson0@contoso.example", "success", "Existing")
    ]
    # The contacts that failed in the first run are listed again, with the run they first
    # failed in; they were planned from their kept data, not read from the directory again.
    assert all(r.result.endswith("(failing since run 1)") for r in records if r.status == "failed")
    assert (
        records[0].result
        == 'Updated: name: "Anna Andersson" -> "Anna Berg"; Department: "Sales" -> "Legal"'
    )
    assert records[0].changed_fields == "name, Department"
    ann = Contact.get(Contact.email == "anna.andersson0@contoso.example")
    assert ann.custom["Department"] == "Legal" and ann.custom["Notes"] == "VIP: call before noon"


def test_overwrite_off_keeps_existing_custom_values_but_follows_name(tmp_path: Path) -> None:
    directory = contoso(users=10)
    daemon = make_daemon(tmp_path, directory, overwrite=False)
    sync(daemon)
    directory.update_user(
        "00000000-0000-4000-a000-000000000000", department="Legal", givenName="Annie"
    )
    run = sync(daemon)
    ann = Contact.get(Contact.email == "anna.andersson0@contoso.example")
    assert ann.name == "Annie Andersson" and ann.custom["Department"] == "Sales"
    assert daemon.state.records(run.id)[0].changed_fields == "name"
    directory.add_user(
        {
            **directory.users["00000000-0000-4000-a000-000000000001"],
            "id": "new-1",
            "userPrincipalName": "new@contoso.example",
            "mail": "new@contoso.example",
        }
    )
    sync(daemon)
    assert Contact.get(Contact.email == "new@contoso.example").custom[
        "Department"
    ]  # new contacts still get them


def test_group_scope_counts_nested_members_once_and_follows_membership(tmp_path: Path) -> None:
    directory = contoso(users=70)
    customer_facing = "a0000001-0000-4000-b000-000000000000"  # Sales + Support, nested
    daemon = make_daemon(
        tmp_path,
        directory,
        skip_empty=True,
        tenants_toml=tenant_toml(
            extra=(
                f'users = "groups"\ngroups = ["{customer_facing}", '
                '"90000000-0000-4000-b000-000000000000"]'
            )
        ),
    )
    run = sync(daemon)
    members = set(directory.transitive_members(customer_facing))
    assert run.counts["tenants"]["contoso"]["users"] == len(members)
    newcomer = "00000000-0000-4000-a000-000000000002"  # Engineering: out of scope
    assert directory.users[newcomer]["userPrincipalName"] not in contacts()
    directory.add_to_group(
        "90000001-0000-4000-b000-000000000000", newcomer
    )  # joins Support (nested)
    sync(daemon)
    assert directory.users[newcomer]["mail"] in contacts()


def test_expired_delta_falls_back_to_a_full_pass_and_says_so(tmp_path: Path) -> None:
    directory = contoso(users=20)
    daemon = make_daemon(tmp_path, directory)
    sync(daemon)
    directory.expired_tokens.add(f"v{directory.version}")
    run = sync(daemon)
    log = " ".join(line.message for line in daemon.state.log_lines(run.id))
    assert (
        "delta token expired or was reset (syncStateNotFound); reading the whole directory" in log
    )
    assert run.counts["new"] == 0 and run.counts["updated"] == 0


def test_the_first_tenant_owns_a_shared_email(tmp_path: Path) -> None:
    first = contoso(users=5)
    second = FakeTenant(
        "Fabrikam",
        "fab00000-0000-4000-8000-00000000fab0",
        login="https://login.fabrikam.test",
        graph="https://graph.fabrikam.test",
    )
    clash = dict(first.users["00000000-0000-4000-a000-000000000000"], id="fab-user-1")
    second.add_user(clash)
    toml = tenant_toml() + tenant_toml(
        "fabrikam", tenant_id=second.tenant_id, login=second.login, graph=second.graph
    )
    daemon = make_daemon(tmp_path, first, second, tenants_toml=toml, skip_empty=True)
    run = sync(daemon)
    failure = daemon.state.records(run.id, status="failed", search="anna.andersson0")
    assert [r.tenant for r in failure] == ["fabrikam"]
    owned = "address owned by tenant contoso: user anna.andersson0@contoso.example has"
    assert owned in failure[0].result


def test_safety_rail_holds_a_tenant_that_suddenly_looks_empty(tmp_path: Path) -> None:
    directory = contoso(users=20)
    daemon = make_daemon(
        tmp_path,
        directory,
        skip_empty=True,
        tenants_toml=tenant_toml(
            extra='users = "groups"\ngroups = ["a0000003-0000-4000-b000-000000000000"]'
        ),
    )
    first = sync(daemon)
    assert first.counts["new"] > 0
    directory.groups["a0000003-0000-4000-b000-000000000000"].groups.clear()  # scope suddenly empty
    held = sync(daemon)
    assert (
        held.status == "failed"
        and "safety rail" in held.message
        and "nothing was written" in held.message
    )


def test_dry_run_plans_and_writes_nothing(tmp_path: Path) -> None:
    directory = contoso(users=15)
    daemon = make_daemon(tmp_path, directory, skip_empty=True)
    run = sync(daemon, dry_run=True)
    assert (
        run.counts["new"] > 0
        and Contact.select().count() == 0
        and MirrorEntry.select().count() == 0
    )
    assert {r.result for r in daemon.state.records(run.id, status="success")} == {"Would create"}
    assert daemon.state.delta_link("contoso", "any") is None


def test_one_user_sync_shows_every_step(tmp_path: Path) -> None:
    directory = contoso(users=10)
    daemon = make_daemon(tmp_path, directory)
    run = sync(daemon, user="anna.andersson0@contoso.example")
    lines = [line.message for line in daemon.state.log_lines(run.id)]
    steps = [line.split(": ", 1)[1] for line in lines if line.startswith("contoso: ")]
    assert [s.split(":")[0] for s in steps] == [
        "1. fetched",
        "2. scope",
        "3. mapped",
        "4. action",
        "5. result",
    ]
    assert "Anna Andersson" in steps[2] and steps[3] == "4. action: create"
    assert list(contacts()) == ["anna.andersson0@contoso.example"]


def test_one_user_by_display_name_and_a_name_two_users_share(tmp_path: Path) -> None:
    directory = contoso(users=30)  # 30 users, 24 names: two are called Anna Andersson
    daemon = make_daemon(tmp_path, directory)
    one = directory.users["00000000-0000-4000-a000-000000000010"]
    run = sync(daemon, user=one["displayName"], dry_run=True)
    lines = [line.message for line in daemon.state.log_lines(run.id)]
    assert any(f"1. fetched: {one['userPrincipalName']}" in line for line in lines), lines
    assert run.counts["new"] == 1
    run = sync(daemon, user="anna andersson", dry_run=True)
    lines = [line.message for line in daemon.state.log_lines(run.id)]
    assert any("2 users are named" in line and "object id" in line for line in lines), lines
    assert run.status == "succeeded"  # a name two users share is no failure of the tenant
    assert daemon.state.tenant("contoso").status not in ("failed", "disabled")


def test_throttling_waits_and_the_run_still_succeeds(tmp_path: Path) -> None:
    directory = contoso(users=10)
    directory.throttle = [(429, 0.01), (429, 0.01), (503, 0.01)]
    daemon = make_daemon(tmp_path, directory, skip_empty=True)
    run = sync(daemon)
    assert run.status in ("succeeded", "partial") and run.counts["new"] > 0
    assert "Graph answered HTTP 429; waiting" in " ".join(
        line.message for line in daemon.state.log_lines(run.id)
    )


def test_a_tenant_without_a_token_is_disabled_and_the_others_sync(tmp_path: Path) -> None:
    good = contoso(users=5)
    bad = FakeTenant(
        "Broken",
        "bad00000-0000-4000-8000-00000000bad0",
        secret="another",
        login="https://login.broken.test",
        graph="https://graph.broken.test",
    )
    toml = tenant_toml("broken", tenant_id=bad.tenant_id, login=bad.login, graph=bad.graph)
    toml += tenant_toml()
    daemon = make_daemon(tmp_path, good, bad, tenants_toml=toml, skip_empty=True)
    run = sync(daemon)
    assert run.status == "partial" and run.counts["new"] == 5
    state = daemon.board.status().model_dump(mode="json")["tenants"][0]
    assert (
        state["status"] == "disabled"
        and "AADSTS7000215" in state["reason"]
        and "client secret is wrong" in state["fix"]
    )


def test_the_csv_report_neutralises_a_formula_job_title(tmp_path: Path) -> None:
    directory = contoso(users=100)
    daemon = make_daemon(tmp_path, directory, skip_empty=True)
    directory.update_user("00000000-0000-4000-a000-000000000001", employeeId="=cmd|' /C calc'!A0")
    run = sync(daemon)
    text = "".join(report.iter_csv(daemon.state.iter_records(run.id)))
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0][:4] == ["Email", "Type", "Sync Status", "Result"]
    assert all(not cell.startswith(report.FORMULA_STARTS) for row in rows for cell in row)
    formula_contact = Contact.get(
        Contact.source_object_id == "00000000-0000-4000-a000-000000000008"
    )
    assert formula_contact.custom["Title"].startswith(
        "=HYPERLINK"
    )  # stored as the directory has it


@pytest.mark.parametrize("removed_mode", ["delta"])
def test_removed_users_keep_their_contacts_and_are_counted(
    tmp_path: Path, removed_mode: str
) -> None:
    directory = contoso(users=12)
    daemon = make_daemon(tmp_path, directory, skip_empty=True)
    sync(daemon)
    directory.remove_user("00000000-0000-4000-a000-000000000000")
    run = sync(daemon)
    assert run.counts["removed"] == 1 and "anna.andersson0@contoso.example" in contacts()


def test_dry_run_through_the_api_returns_the_plan(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from azsyncd.service.api import create_app

    directory = contoso(users=12)
    daemon = make_daemon(tmp_path, directory, skip_empty=True)
    api = TestClient(create_app(daemon))
    answer = api.post("/v1/sync", json={"dry_run": True, "wait": True}).json()
    assert answer["run"]["status"] in ("succeeded", "partial") and answer["run"]["dry_run"] is True
    plan = answer["plan"]["records"]
    assert len(plan) == 12 and {r["result"] for r in plan if r["status"] == "success"} == {
        "Would create"
    }
    assert Contact.select().count() == 0


def test_a_tenant_that_works_again_is_active_again(tmp_path: Path) -> None:
    directory = contoso(users=3)
    daemon = make_daemon(tmp_path, directory, skip_empty=True)
    directory.secret = "rotated"
    sync(daemon)
    assert daemon.board.status().model_dump(mode="json")["tenants"][0]["status"] == "disabled"
    (tmp_path / "secret").write_text(
        "rotated"
    )  # the admin writes the new secret; no restart needed
    sync(daemon)
    assert daemon.board.status().model_dump(mode="json")["tenants"][0]["status"] == "active"


class RecordingWrites:
    """Only the named interface (sync/writes.py): the engine may use nothing else."""

    __slots__ = ("applied", "calls", "tenants")

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.tenants: list[tuple[str, str]] = []
        self.applied: list[Action] = []

    def begin_tenant(self, name: str, label: str) -> None:
        self.calls.append("begin_tenant")
        self.tenants.append((name, label))

    def apply(self, actions: list[Action]) -> None:
        self.calls.append("apply")
        self.applied += actions

    def drain(self) -> None:
        self.calls.append("drain")

    def tally(self) -> Tally:
        tally = Tally()
        for action in self.applied:
            if action.kind is not ActionKind.PENDING:
                tally.add(action)
        return tally

    def send_welcomes(self, tenant: str | None = None) -> int:
        self.calls.append("send_welcomes")
        return 0


def test_the_engine_plans_through_the_writes_interface_only(tmp_path: Path) -> None:
    directory = contoso(users=30)
    daemon = make_daemon(tmp_path, directory, skip_empty=True, extra='display_name = "Contoso"')
    writes = RecordingWrites()
    run_id = daemon.state.start_run("manual")
    ctx = RunContext(
        daemon.state,
        Progress(run_id, "manual", False, utcnow()),
        {},
        threading.Event(),
        lambda progress: None,
    )
    target = build_target(daemon.config, daemon.config_dir, daemon.state.db)
    outcome = Engine(ctx, daemon.config, daemon.state, daemon.tenants, target, writes).run()
    assert writes.tenants == [("contoso", "Contoso")]
    assert writes.calls[0] == "begin_tenant" and writes.calls[-2:] == ["drain", "send_welcomes"]
    assert len(writes.applied) == 30 and {a.kind for a in writes.applied} <= {
        ActionKind.CREATE,
        ActionKind.FAILED,
    }
    assert outcome.counts["new"] == sum(a.kind is ActionKind.CREATE for a in writes.applied) > 20
    assert outcome.counts["tenants"]["contoso"]["users"] == 30


def test_a_stop_while_marking_keeps_the_written_contacts_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stopped(self: LocalStore, label: str, ids: list[str]) -> None:
        raise Interrupted("stopping")

    monkeypatch.setattr(LocalStore, "mark_synced", stopped)
    daemon = make_daemon(tmp_path, contoso(users=10))
    run = sync(daemon)
    news = [r for r in daemon.state.records(run.id) if r.result == "Created"]
    assert len(news) == run.counts["new"] == len(contacts()) > 0
    log = " ".join(line.message for line in daemon.state.log_lines(run.id))
    assert "not marked as synced from Entra ID yet" in log and "could not mark" not in log
