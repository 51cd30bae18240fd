"""A run's bookkeeping (users seen, addresses claimed) lives in the state database, and each
mirror row is written once per contact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from azsyncd.state import State
from azsyncd.state.models import DeltaLink, RunClaim, RunSeen
from azsyncd.sync import read
from azsyncd.sync.executor import PENDING
from tests.engine_setup import make_daemon, sync, tenant_toml
from tests.fakes.directory import FakeTenant, contoso

ANNA = "00000000-0000-4000-a000-000000000000"


def tenant(name: str, number: int) -> FakeTenant:
    return FakeTenant(
        name.capitalize(),
        f"{number:08d}-0000-4000-8000-000000000000",
        login=f"https://login.{name}.test",
        graph=f"https://graph.{name}.test",
    )


def three_tenants() -> tuple[FakeTenant, FakeTenant, FakeTenant, str]:
    first, second, third = contoso(users=7), tenant("fabrikam", 2), tenant("tailspin", 3)
    anna = first.users[ANNA]
    second.add_user(dict(anna, id="fab-anna"))
    # The mapping's address is the user principal name.
    second.add_user(dict(anna, id="fab-own", userPrincipalName="own@fabrikam.test"))
    third.add_user(dict(anna, id="tail-own", userPrincipalName="Own@Fabrikam.test"))
    third.add_user(dict(anna, id="tail-free", userPrincipalName="free@tailspin.test"))
    toml = tenant_toml() + "".join(
        tenant_toml(name, tenant_id=t.tenant_id, login=t.login, graph=t.graph)
        for name, t in (("fabrikam", second), ("tailspin", third))
    )
    return first, second, third, toml


def test_claims_cross_chunks_and_tenants_and_leave_with_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(read, "CHUNK", 2)  # claims must hold across chunks, not in one list
    first, second, third, toml = three_tenants()
    daemon = make_daemon(tmp_path, first, second, third, tenants_toml=toml, skip_empty=True)
    kept: dict[str, Any] = {}
    forget = State.forget_run_users

    def spy(self: State, run_id: int) -> None:
        # At the run's end, before they go: what the database held for it.
        kept["seen"] = RunSeen.select().where(RunSeen.run == run_id).count()
        kept["claims"] = {c.email: c.tenant for c in RunClaim.select()}
        forget(self, run_id)

    monkeypatch.setattr(State, "forget_run_users", spy)
    run = sync(daemon)
    failed = {(r.tenant, r.email): r.result for r in daemon.state.records(run.id, status="failed")}
    owned = "address owned by tenant {}: user {} has"
    assert (
        owned.format("contoso", "anna.andersson0@contoso.example")
        in failed[("fabrikam", "anna.andersson0@contoso.example")]
    )
    assert (
        owned.format("fabrikam", "own@fabrikam.test") in failed[("tailspin", "own@fabrikam.test")]
    )
    assert ("tailspin", "free@tailspin.test") not in failed
    assert kept["seen"] == 7 + 2 + 2
    # Every address given out is claimed by its tenant, the last tenant's too.
    assert kept["claims"]["own@fabrikam.test"] == "fabrikam"
    assert kept["claims"]["free@tailspin.test"] == "tailspin"
    assert run.counts["tenants"]["tailspin"]["users"] == 2
    assert RunSeen.select().count() == 0 and RunClaim.select().count() == 0


def test_a_dead_runs_claims_do_not_fail_the_next_run(tmp_path: Path) -> None:
    first, second, third, toml = three_tenants()
    daemon = make_daemon(tmp_path, first, second, third, tenants_toml=toml, skip_empty=True)
    sync(daemon)
    # Left behind by a run that died; the next run gets the next id.
    next_id = daemon.state.runs(limit=1)[0].id + 1
    RunClaim.create(run=next_id, email="free@tailspin.test", tenant="ghost", principal="g")
    RunSeen.create(run=next_id, tenant="contoso", object_id=ANNA)
    DeltaLink.delete().execute()  # a full read again: every user is seen, and counted
    run = sync(daemon)
    assert daemon.state.records(run.id, status="failed", search="free@") == []
    assert run.counts["tenants"]["contoso"]["users"] == 7
    assert run.counts["removed"] == 0


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every mirror row the state is asked to write from now on."""
    rows: list[dict[str, Any]] = []
    remember = State.remember

    def spy(self: State, batch: list[dict[str, Any]]) -> None:
        rows.extend(batch)
        remember(self, batch)

    monkeypatch.setattr(State, "remember", spy)
    return rows


def test_without_welcome_emails_each_mirror_row_is_written_once(
    tmp_path: Path, written: list[dict[str, Any]]
) -> None:
    daemon = make_daemon(tmp_path, contoso(users=30), skip_empty=True)
    run = sync(daemon)
    assert run.counts["new"] >= 25  # the demo's directory has a few users that cannot map
    emails = [row["email"] for row in written]
    assert len(emails) == len(set(emails)) == run.counts["new"]
    assert all(row["fingerprint"] != PENDING and row["target_id"] for row in written)


def test_a_no_change_resync_writes_no_binding_and_a_recreated_account_takes_its_contact_over(
    tmp_path: Path, written: list[dict[str, Any]]
) -> None:
    directory = contoso(users=12)
    daemon = make_daemon(tmp_path, directory, skip_empty=True)
    first = sync(daemon)
    written.clear()  # the first sync's rows
    DeltaLink.delete().execute()  # a full read: every user comes again, unchanged
    again = sync(daemon)
    assert again.counts["unchanged"] == first.counts["new"] and written == []
    # Anna's account is recreated: same address and values, another object id. The old
    # account still owns the address in the run that sees it go; the new one takes the
    # contact over at the next run, and nothing is created.
    anna = directory.users[ANNA]
    directory.remove_user(ANNA)
    directory.add_user(dict(anna, id="new-anna"))
    DeltaLink.delete().execute()
    gone = sync(daemon)
    assert gone.counts["removed"] == 1 and gone.counts["new"] == 0 and written == []
    [refused] = daemon.state.records(gone.id, status="failed", search="anna.andersson0")
    assert "address owned by tenant contoso: another user of this tenant" in refused.result
    taken = sync(daemon)
    assert [(r["email"], r["object_id"]) for r in written] == [
        ("anna.andersson0@contoso.example", "new-anna")
    ]
    [record] = daemon.state.records(taken.id, search="anna.andersson0")
    assert record.type == "Existing" and "taken over from tenant contoso" in record.result
    assert set(daemon.state.bindings("contoso", [ANNA, "new-anna"])) == {"new-anna"}
    assert taken.counts["new"] == 0
