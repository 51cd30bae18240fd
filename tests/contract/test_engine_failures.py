"""Contacts that fail stay right on real data: kept, listed and planned again every run
without a full read; a fix in the help desk works at the next sync. The engine against the
fake HappyFox on loopback and the simulated directory in-process."""

from __future__ import annotations

from pathlib import Path

from azsyncd.state.models import FailingUser
from tests.contract.test_engine_happyfox import happyfox_daemon
from tests.engine_setup import make_daemon, sync, tenant_toml
from tests.fakes.directory import FakeTenant, contoso
from tests.fakes.happyfox import TEXT_LIMIT, FakeHappyFox

ANN = "00000000-0000-4000-a000-000000000000"
OFFICE = 2  # the fake HappyFox's "Office" dropdown (Berlin, London), by index


def directory_reads(directory: FakeTenant, since: int) -> list[str]:
    """The Graph user reads since request ``since``: a full read shows as /users?..."""
    return [r for r in directory.requests[since:] if "/v1.0/users" in r]


def contact_reads(fake: FakeHappyFox, since: int) -> int:
    """HappyFox calls that read contacts: a listing, or a search for one address."""
    calls = fake.calls[since:]
    return sum(1 for method, path, _ in calls if method == "GET" and path.endswith("/users/"))


def test_a_refusal_then_a_no_change_resync_reads_and_writes_nothing_more(
    tmp_path: Path, happyfox: tuple[FakeHappyFox, str]
) -> None:
    fake, url = happyfox
    directory = contoso(users=40)
    directory.update_user(ANN, department="x" * (TEXT_LIMIT + 1))  # HappyFox refuses it
    daemon = happyfox_daemon(tmp_path, url, directory)
    first = sync(daemon)
    refused = daemon.state.records(first.id, search="anna.andersson0")[0]
    assert refused.status == "failed" and "no more than 255 characters" in refused.result
    failed_first = first.counts["failed"]

    reads, calls, posts = len(directory.requests), len(fake.calls), fake.post_calls("users/")
    second = sync(daemon)
    assert directory_reads(directory, reads) == [
        r for r in directory_reads(directory, reads) if "/users/delta?" in r
    ]  # only the delta: no full read of the directory
    assert fake.post_calls("users/") == posts  # the refused write is not sent again unchanged
    assert contact_reads(fake, calls) == 0  # nor is HappyFox asked for the contact
    again = daemon.state.records(second.id, search="anna.andersson0")[0]
    assert again.status == "failed" and "no more than 255 characters" in again.result
    assert again.result.endswith(
        "(not sent again: nothing changed since the help desk refused it) (failing since run 1)"
    )
    assert second.counts["failed"] == failed_first  # every contact still failing is counted
    assert {r.email for r in daemon.state.records(second.id, status="failed")} == {
        r.email for r in daemon.state.records(first.id, status="failed")
    }

    directory.update_user(ANN, department="Sales")  # fixed in the directory
    third = sync(daemon)
    fixed = daemon.state.records(third.id, search="anna.andersson0")[0]
    assert fixed.status == "success" and fake.by_email["anna.andersson0@contoso.example"]
    assert FailingUser.get_or_none(FailingUser.object_id == ANN) is None


def test_a_new_dropdown_choice_lets_failed_contacts_through_at_the_next_run(
    tmp_path: Path, happyfox: tuple[FakeHappyFox, str]
) -> None:
    fake, url = happyfox
    directory = contoso(users=60)
    daemon = happyfox_daemon(tmp_path, url, directory)
    first = sync(daemon)
    remote = [  # the contacts that fail for this reason alone
        r
        for r in daemon.state.records(first.id, status="failed")
        if '"Remote" is not a' in r.result and r.result.count(" <- ") == 1
    ]
    assert len(remote) > 10

    fake.fields[OFFICE]["choices"].append({"id": 33, "text": "Remote"})  # the admin adds it
    reads = len(directory.requests)
    second = sync(daemon)
    assert all("/users/delta?" in r for r in directory_reads(directory, reads))
    for record in remote:
        contact = fake.by_email[record.email]
        assert contact["custom"][3] == 33
    assert second.counts["new"] == len(remote)
    assert not FailingUser.select().where(FailingUser.email.in_([r.email for r in remote])).count()


def test_a_required_field_made_optional_lets_them_through(
    tmp_path: Path, happyfox: tuple[FakeHappyFox, str]
) -> None:
    fake, url = happyfox
    fake.fields[1]["required"] = True  # Employee ID
    directory = contoso(users=30)
    for user_id in list(directory.users)[:3]:
        directory.update_user(user_id, employeeId=None, officeLocation="Berlin")
    daemon = happyfox_daemon(tmp_path, url, directory)
    first = sync(daemon)
    empty = [r for r in daemon.state.records(first.id, status="failed") if "required" in r.result]
    assert len(empty) == 3
    fake.fields[1]["required"] = False
    sync(daemon)
    assert all(r.email in fake.by_email for r in empty)


def test_type_is_existing_for_a_contact_the_help_desk_held_even_when_it_fails(
    tmp_path: Path, happyfox: tuple[FakeHappyFox, str]
) -> None:
    fake, url = happyfox
    directory = contoso(users=12)
    directory.update_user(ANN, officeLocation="Mars Base")  # fails in the mapping
    fake._add_or_edit({"email": "anna.andersson0@contoso.example", "name": "Anna (by hand)"})
    daemon = happyfox_daemon(tmp_path, url, directory)
    first = sync(daemon)
    record = daemon.state.records(first.id, search="anna.andersson0")[0]
    assert (record.status, record.type) == ("failed", "Existing")
    calls = len(fake.calls)
    second = sync(daemon)
    again = daemon.state.records(second.id, search="anna.andersson0")[0]
    assert (again.status, again.type) == ("failed", "Existing")
    assert len(fake.calls) - calls <= 2  # the fields, and no search: the type was kept


def test_a_failing_user_who_leaves_the_directory_is_no_longer_listed(
    tmp_path: Path, happyfox: tuple[FakeHappyFox, str]
) -> None:
    _, url = happyfox
    directory = contoso(users=12)
    directory.update_user(ANN, officeLocation="Mars Base")
    daemon = happyfox_daemon(tmp_path, url, directory)
    sync(daemon)
    assert FailingUser.get_or_none(FailingUser.object_id == ANN) is not None
    directory.remove_user(ANN)
    run = sync(daemon)
    assert not daemon.state.records(run.id, search="anna.andersson0")
    assert FailingUser.get_or_none(FailingUser.object_id == ANN) is None


def test_overwrite_off_fills_an_empty_required_field_and_keeps_the_rest(
    tmp_path: Path, happyfox: tuple[FakeHappyFox, str]
) -> None:
    fake, url = happyfox
    directory = contoso(users=8)
    daemon = happyfox_daemon(tmp_path, url, directory, overwrite=False)
    sync(daemon)
    ann = fake.by_email["anna.andersson0@contoso.example"]
    ann["custom"].pop(1)  # Department emptied in the help desk
    ann["custom"][2] = 99999  # Employee ID typed by an agent
    fake.fields[0]["required"] = True  # then Department made required
    directory.update_user(ANN, displayName="Annie Andersson")  # so the contact is written
    run = sync(daemon)
    record = daemon.state.records(run.id, search="anna.andersson0")[0]
    assert record.status == "success", record.result
    assert ann["custom"][1] == "Sales" and ann["custom"][2] == 99999
    assert record.changed_fields == "name, Department"


def test_type_is_existing_for_a_synced_contact_now_out_of_scope(tmp_path: Path) -> None:
    directory = contoso(users=6)
    daemon = make_daemon(
        tmp_path,
        directory,
        skip_empty=True,
        tenants_toml=tenant_toml(extra="exclude_disabled = true"),
    )
    sync(daemon)
    directory.update_user(ANN, accountEnabled=False)
    run = sync(daemon)
    record = daemon.state.records(run.id, search="anna.andersson0")[0]
    assert (record.status, record.type) == ("skipped", "Existing")
    assert "disabled account" in record.result
