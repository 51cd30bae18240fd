"""The Zendesk target against the fake Zendesk (which follows the API sheet, not the client):
bulk jobs, the 403 fallback, typed user fields, identities, suspension, agents left alone,
finding users, rate limits and what a stopped run leaves behind."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from azsyncd import stop
from azsyncd.errors import Interrupted, TargetError
from azsyncd.targets.base import ContactWrite, Phone
from azsyncd.targets.fields import FieldType, convert
from azsyncd.targets.zendesk.jobs import JobNote
from tests.contract.zendesk_setup import Clock, client, user
from tests.fakes.zendesk import FakeZendesk


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> FakeZendesk:
    return FakeZendesk(clock)


def fields_by_name(target: object) -> dict[str, object]:
    return {f.name: f for f in target.fields()}  # type: ignore[attr-defined]


# --- bulk jobs ------------------------------------------------------------------------------


def test_a_first_write_goes_in_jobs_of_100_polled_until_done(
    fake: FakeZendesk, clock: Clock, tmp_path: Path
) -> None:
    zd = client(fake, clock, tmp_path)
    made = []
    for start in range(0, 250, 100):
        made += zd.write([user(n) for n in range(start, min(250, start + 100))])
    assert all(r.ok and r.id for r in made) and len({r.id for r in made}) == 250
    assert len(fake.end_users()) == 250 and max(fake.created.values()) == 1
    bulk = [p for m, p, _ in fake.calls if p.endswith("create_or_update_many")]
    polls = [p for m, p, _ in fake.calls if "job_statuses/" in p]
    assert len(bulk) == 3 and polls  # the jobs took time: polled, not answered at once
    ann = fake.user_by_external("obj-7")
    assert ann is not None and str(ann["id"]) == made[7].id and ann["email"] == "user7@example.com"
    assert ann["phone"] == "+1 555 0007" and ann["role"] == "end-user"
    assert not JobNote.select().count()  # ended jobs are forgotten


def test_a_job_whose_rows_partly_fail_reports_each_with_its_reason(
    fake: FakeZendesk, clock: Clock, tmp_path: Path
) -> None:
    zd = client(fake, clock, tmp_path)
    fake.fail_rows["obj-3"] = "Email: user3@example.com is on the suppression list"
    fake.add_end_user("Taken", "user5@example.com", external_id="someone-else")
    fake.add_end_user("Holder", "user6@example.com", external_id="another")
    fake.add_end_user("Bound", "old6@example.com", external_id="obj-6")
    results = zd.write([user(n) for n in range(8)])
    assert [r.ok for r in results] == [True, True, True, False, True, True, False, True]
    assert "suppression list" in results[3].error and "UserUpdateError" in results[3].error
    # A failed row's "id" is its index in the request: never taken for a user's id.
    assert results[3].id == "" and results[6].id == ""
    assert "already being used by another user" in results[6].error
    assert fake.user_by_email("user5@example.com")["external_id"] == "obj-5"  # adopted, bound


def test_bulk_refused_with_403_falls_back_to_one_call_a_user_said_once(
    clock: Clock, tmp_path: Path
) -> None:
    fake = FakeZendesk(clock, bulk_enabled=False)
    waits: list[str] = []
    notes: dict[str, str] = {}
    zd = client(fake, clock, tmp_path, waits=waits, notes=notes)
    first = zd.write([user(n) for n in range(30)])
    second = zd.write([user(n) for n in range(30, 60)])
    assert all(r.ok for r in first + second) and len(fake.end_users()) == 60
    singles = [p for m, p, _ in fake.calls if p.endswith("users/create_or_update")]
    assert len(singles) == 60
    bulk = [p for m, p, _ in fake.calls if p.endswith("create_or_update_many")]
    assert len(bulk) == 1  # asked once, then not again in this run
    refused = [w for w in waits if "refused bulk user imports (403)" in w]
    assert len(refused) == 1 and "ask Zendesk support" in refused[0]
    assert list(notes) == ["bulk_refused"]
    fake.bulk_enabled = True  # support turned it on: the next run uses jobs, the note goes
    zd2 = client(fake, clock, tmp_path, notes=notes)
    assert all(r.ok for r in zd2.write([user(n) for n in range(60, 70)]))
    assert notes == {}


def test_single_calls_report_each_refusal(clock: Clock, tmp_path: Path) -> None:
    fake = FakeZendesk(clock, bulk_enabled=False)
    zd = client(fake, clock, tmp_path)
    fake.add_end_user("Holder", "user1@example.com", external_id="another")
    fake.add_end_user("Bound", "old1@example.com", external_id="obj-1")
    results = zd.write([user(0), user(1)])
    assert results[0].ok and not results[1].ok
    assert results[1].error == "Email: user1@example.com is already being used by another user"


def test_a_whole_job_that_fails_fails_its_users_with_the_message(
    fake: FakeZendesk, clock: Clock, tmp_path: Path
) -> None:
    zd = client(fake, clock, tmp_path)
    fake.fail_next_job = "Job was killed by a restart"
    results = zd.write([user(n) for n in range(3)])
    assert [r.ok for r in results] == [False] * 3
    assert all("Job was killed by a restart" in r.error for r in results)


def test_an_expired_job_is_read_back_from_the_users(clock: Clock, tmp_path: Path) -> None:
    # Results gone before the first poll: what the job did is found by external_id.
    fake = FakeZendesk(clock, job_ttl=0.5, job_setup=0.1, job_row=0.01)
    zd = client(fake, clock, tmp_path)
    results = zd.write([user(n) for n in range(5)])
    assert all(r.ok for r in results)
    assert [r.id for r in results] == [
        str(fake.user_by_external(f"obj-{n}")["id"]) for n in range(5)
    ]


def test_a_job_that_never_ends_fails_after_the_timeout(clock: Clock, tmp_path: Path) -> None:
    fake = FakeZendesk(clock, job_setup=10_000)
    zd = client(fake, clock, tmp_path, job_timeout=60)
    results = zd.write([user(1)])
    assert not results[0].ok and "did not end within 1 min" in results[0].error


def test_at_most_100_a_job(fake: FakeZendesk, clock: Clock, tmp_path: Path) -> None:
    zd = client(fake, clock, tmp_path)
    with pytest.raises(ValueError, match="at most 100"):
        zd.write([user(n) for n in range(101)])


# --- user fields ----------------------------------------------------------------------------


def test_every_user_field_type_is_typed_written_and_read_back_the_same(
    fake: FakeZendesk, clock: Clock, tmp_path: Path
) -> None:
    zd = client(fake, clock, tmp_path)
    fields = {f.name: f for f in zd.fields()}
    assert {name: (f.type, f.raw_type) for name, f in fields.items()} == {
        "Department": (FieldType.TEXT, "text"),
        "Notes": (FieldType.TEXT, "textarea"),
        "VIP": (FieldType.BOOLEAN, "checkbox"),
        "Hire date": (FieldType.DATE, "date"),
        "Employee number": (FieldType.INTEGER, "integer"),
        "Cost share": (FieldType.NUMBER, "decimal"),
        "Badge": (FieldType.TEXT, "regexp"),
        "Office": (FieldType.DROPDOWN, "dropdown"),
        "Manager": (FieldType.UNKNOWN, "lookup"),
        "Languages": (FieldType.MULTI_SELECT, "multiselect"),
        "time_zone": (FieldType.DROPDOWN, "time_zone"),
        "locale": (FieldType.DROPDOWN, "locale"),
    }  # the inactive field is not offered
    assert fields["Badge"].pattern == r"^B-\d{4}$"
    directory = {
        "Department": "Sales",
        "Notes": "Line one",
        "VIP": "yes",
        "Hire date": "2021-03-04T00:00:00Z",
        "Employee number": "1234",
        "Cost share": "12,5",
        "Badge": "B-0042",
        "Office": "london",
        "Languages": "English; German",
        "time_zone": "Europe/Berlin",
        "locale": "Deutsch",
    }
    custom = {fields[name].id: convert(fields[name], value) for name, value in directory.items()}
    assert custom["@time_zone"] == "Berlin" and custom["@locale"] == "de"
    assert custom["vip"] is True and custom["employee_number"] == 1234
    [written] = zd.write([user(1, **custom)])
    assert written.ok, written.error
    stored = fake.user_by_external("obj-1")
    assert stored["user_fields"]["office"] == "office_london"
    assert stored["user_fields"]["languages"] == ["lang_en", "lang_de"]
    assert (stored["time_zone"], stored["locale"]) == ("Berlin", "de")
    found = zd.find_by_email(["user1@example.com"])["user1@example.com"]
    assert {k: v for k, v in found.custom.items() if v is not None} == custom
    assert found.phones == [Phone("mo", "+1 555 0001")]


@pytest.mark.parametrize(
    "name, value, reason",
    [
        ("Employee number", "12.5", "is not a whole number"),
        ("VIP", "maybe", "is not a yes/no value"),
        ("Badge", "B-12", "does not match the field's pattern"),
        ("Office", "Paris", "is not a choice of this field (allowed: Berlin, London, Remote)"),
        ("time_zone", "Mars/Olympus", "is not a choice of this field"),
        ("Hire date", "soon", "is not a date"),
    ],
)
def test_a_value_the_field_refuses_fails_at_mapping_with_a_reason(
    fake: FakeZendesk, clock: Clock, tmp_path: Path, name: str, value: str, reason: str
) -> None:
    field = {f.name: f for f in client(fake, clock, tmp_path).fields()}[name]
    with pytest.raises(ValueError, match=re.escape(reason)):
        convert(field, value)


def test_a_value_that_slips_past_mapping_is_refused_before_it_is_sent(
    fake: FakeZendesk, clock: Clock, tmp_path: Path
) -> None:
    zd = client(fake, clock, tmp_path)
    results = zd.write(
        [
            user(1, employee_number=12.5),
            user(2, manager=17),
            user(3, nonexistent="x"),
            user(4, badge="nope"),
            user(5),
        ]
    )
    assert [r.ok for r in results] == [False, False, False, False, True]
    assert "Employee number: a whole number is required" in results[0].error
    assert "Manager: a lookup field, which azsync cannot write" in results[1].error
    assert "nonexistent: no such Zendesk user field" in results[2].error
    assert "Badge" in results[3].error and "pattern" in results[3].error
    sent = [n for n in range(1, 5) if fake.user_by_external(f"obj-{n}")]
    assert sent == []


def test_a_partial_update_keeps_the_other_user_fields(
    fake: FakeZendesk, clock: Clock, tmp_path: Path
) -> None:
    zd = client(fake, clock, tmp_path)
    zd.write([user(1, department="Sales", notes_long="VIP, call first", office="office_berlin")])
    existing = zd.find_by_email(["user1@example.com"])["user1@example.com"]
    update = ContactWrite(
        "user1@example.com",
        "User One",
        existing.phones,
        {"department": "Support"},
        existing=existing,
    )
    assert zd.write([update])[0].ok
    stored = fake.user_by_external("obj-1")["user_fields"]
    assert stored["department"] == "Support" and stored["notes_long"] == "VIP, call first"
    assert (
        stored["office"] == "office_berlin" and fake.user_by_external("obj-1")["name"] == "User One"
    )


# --- identity -------------------------------------------------------------------------------


def test_an_address_change_edits_the_user_in_place_new_address_primary(
    fake: FakeZendesk, clock: Clock, tmp_path: Path
) -> None:
    zd = client(fake, clock, tmp_path)
    [made] = zd.write([user(1)])
    existing = zd.find_by_email(["user1@example.com"])["user1@example.com"]
    moved = replace(user(1), email="renamed@example.com", existing=existing)
    [result] = zd.write([moved])
    assert result.ok and result.id == made.id
    stored = fake.user_by_external("obj-1")
    assert str(stored["id"]) == made.id and stored["email"] == "renamed@example.com"
    assert sorted(fake.emails_of(int(made.id))) == [
        ("renamed@example.com", True),
        ("user1@example.com", False),
    ]
    assert len(fake.end_users()) == 1


def test_a_new_address_for_a_bound_user_is_made_primary_even_through_a_job(
    fake: FakeZendesk, clock: Clock, tmp_path: Path
) -> None:
    # Today's lookups are by address: the new one is not found, so the write is a create.
    # Zendesk's job matches the bound user by external_id and only adds the address as a
    # secondary identity; the target sees the other primary in the result and moves it.
    zd = client(fake, clock, tmp_path)
    [made] = zd.write([user(1)])
    [again] = zd.write([replace(user(1), email="renamed@example.com")])
    assert again.ok and again.id == made.id
    assert fake.user_by_external("obj-1")["email"] == "renamed@example.com"
    assert dict(fake.emails_of(int(made.id))) == {
        "renamed@example.com": True,
        "user1@example.com": False,
    }


def test_an_address_another_user_holds_fails_the_move_with_the_reason(
    fake: FakeZendesk, clock: Clock, tmp_path: Path
) -> None:
    zd = client(fake, clock, tmp_path)
    zd.write([user(1)])
    fake.add_end_user("Someone", "taken@example.com")
    existing = zd.find_by_email(["user1@example.com"])["user1@example.com"]
    [result] = zd.write([replace(user(1), email="taken@example.com", existing=existing)])
    assert (
        not result.ok and "taken@example.com is already being used by another user" in result.error
    )
    assert fake.user_by_external("obj-1")["email"] == "user1@example.com"


# --- leavers ------------------------------------------------------------------------------


def test_suspend_and_unsuspend_keep_every_other_value(
    fake: FakeZendesk, clock: Clock, tmp_path: Path
) -> None:
    zd = client(fake, clock, tmp_path)
    zd.write([user(1, department="Sales")])
    ann = zd.find_by_email(["user1@example.com"])["user1@example.com"]
    off = ContactWrite(ann.email, ann.name, ann.phones, {}, existing=ann, login_enabled=False)
    assert zd.write([off])[0].ok
    stored = fake.user_by_external("obj-1")
    assert stored["suspended"] is True and stored["user_fields"]["department"] == "Sales"
    plain = ContactWrite(ann.email, "Ann B", ann.phones, {}, existing=ann)
    assert zd.write([plain])[0].ok and stored["suspended"] is True
    back = ContactWrite(ann.email, "Ann B", ann.phones, {}, existing=ann, login_enabled=True)
    assert zd.write([back])[0].ok and stored["suspended"] is False
    assert stored["active"] and not fake.deletes


# --- agents and admins ----------------------------------------------------------------------


def test_agents_and_admins_are_never_written(
    fake: FakeZendesk, clock: Clock, tmp_path: Path
) -> None:
    zd = client(fake, clock, tmp_path)
    fake.add_staff("Bound Agent", "bound@acme.example", "agent", external_id="obj-9")
    results = zd.write(
        [
            replace(user(1), email="agent@acme.example"),
            replace(user(2), email="ADMIN@acme.example"),
            user(9),
            user(3),
        ]
    )
    assert [r.ok for r in results] == [False, False, False, True]
    assert "belongs to a Zendesk agent or admin" in results[0].error
    assert "carries this user's Entra object id" in results[2].error
    assert fake.staff_writes == []
    assert zd.find_by_email(["agent@acme.example"]) == {}  # never offered as a contact
    zd.add_to_group("Sales", [str(fake.user_by_email("agent@acme.example")["id"])], False)
    assert fake.staff_writes == []


# --- finding users ------------------------------------------------------------------------


def test_a_few_addresses_are_searched_exactly(
    fake: FakeZendesk, clock: Clock, tmp_path: Path
) -> None:
    zd = client(fake, clock, tmp_path)
    fake.add_end_user("Jo Ann", "joann@example.com")
    fake.add_end_user("Ann", "ann@example.com")
    zd.fields()
    before = len(fake.calls)
    found = zd.find_by_email(["ann@example.com", "nobody@example.com"])
    assert list(found) == ["ann@example.com"]  # the fuzzy match joann@ is not taken
    assert len(fake.calls) - before == 2  # one search each


def test_many_addresses_list_every_user_by_cursor_past_10000(
    fake: FakeZendesk, clock: Clock, tmp_path: Path
) -> None:
    for n in range(10_050):
        fake.add_end_user(f"U{n}", f"u{n}@example.com", external_id=f"x{n}")
    zd = client(fake, clock, tmp_path, per_minute=100_000)
    found = zd.find_by_email([f"u{n}@example.com" for n in range(0, 10_050, 10)])
    assert len(found) == 1005 and found["u10040@example.com"].name == "U10040"
    listed = [p for m, p, _ in fake.calls if p.endswith("/users")]
    assert len(listed) == 101  # 10,050 users in cursor pages of 100; no offset page


def test_offset_pages_fail_past_10000_in_the_fake(fake: FakeZendesk) -> None:
    import httpx

    for n in range(10_001):
        fake.add_end_user(f"U{n}", f"u{n}@example.com")
    with httpx.Client(
        transport=httpx.WSGITransport(app=fake), auth=("admin@acme.example/token", "token")
    ) as http:
        assert http.get("https://x/api/v2/users.json?page=100&per_page=100").status_code == 200
        assert http.get("https://x/api/v2/users.json?page=101&per_page=100").status_code == 400


# --- rate limits ----------------------------------------------------------------------------


def test_polls_count_against_the_limit_and_the_minute_holds(clock: Clock, tmp_path: Path) -> None:
    fake = FakeZendesk(clock, per_minute=1000, job_setup=3.0, job_row=0.2)
    zd = client(fake, clock, tmp_path, per_minute=12)
    results = zd.write([user(n) for n in range(100)])
    assert all(r.ok for r in results)
    polls = [at for m, p, at in fake.calls if "job_statuses/" in p]
    assert len(polls) >= 2 and fake.busiest_minute() <= 12 and fake.throttled == 0


def test_a_429_is_honoured_for_its_retry_after(
    fake: FakeZendesk, clock: Clock, tmp_path: Path
) -> None:
    waits: list[str] = []
    zd = client(fake, clock, tmp_path, waits=waits)
    zd.fields()
    fake.throttle_next = [37, 5]  # someone else tripped the account's limit
    started = clock.now
    results = zd.write([user(n) for n in range(10)])
    assert all(r.ok for r in results) and fake.throttled == 2
    assert [w for w in waits if "429" in w] == [
        "Zendesk answered 429 (rate limit): pausing all calls for 37 s as its Retry-After"
        " says, then resuming",
        "Zendesk answered 429 (rate limit): pausing all calls for 5 s as its Retry-After"
        " says, then resuming",
    ]
    assert clock.now - started >= 42 and zd.http.limiter.locks == 2


def test_calls_other_integrations_made_count_in_the_limiter_so_no_429(
    clock: Clock, tmp_path: Path
) -> None:
    fake = FakeZendesk(clock, per_minute=400)
    fake.reserved = 395  # another integration used the account's minute
    zd = client(fake, clock, tmp_path)
    started = clock.now
    assert all(r.ok for r in zd.write([user(n) for n in range(20)]))
    assert fake.throttled == 0 and clock.now - started >= 50  # it waited for the minute


def test_a_minute_zendesk_says_is_spent_holds_every_call_said_once(
    fake: FakeZendesk, clock: Clock, tmp_path: Path
) -> None:
    import httpx

    waits: list[str] = []
    zd = client(fake, clock, tmp_path, waits=waits)
    spent = httpx.Headers({"X-Rate-Limit-Remaining": "0", "ratelimit-reset": "7"})
    zd.http._budget(spent)
    zd.http._budget(spent)
    assert 6.9 <= zd.http.limiter.locked_for <= 7
    assert sum("calls for this minute are spent" in w for w in waits) == 1


def test_a_lower_account_limit_than_configured_is_used_and_said_once(
    clock: Clock, tmp_path: Path
) -> None:
    fake = FakeZendesk(clock, per_minute=200)
    waits: list[str] = []
    zd = client(fake, clock, tmp_path, per_minute=630, waits=waits)
    zd.write([user(n) for n in range(5)])
    zd.write([user(n) for n in range(5, 10)])
    said = [w for w in waits if "allows 200 calls a minute" in w]
    assert len(said) == 1 and zd.http.limiter.limits["call"] == 180


def test_wrong_credentials_name_what_to_check(
    fake: FakeZendesk, clock: Clock, tmp_path: Path
) -> None:
    zd = client(fake, clock, tmp_path, token="wrong-token-value")
    with pytest.raises(TargetError) as caught:
        zd.fields()
    assert "401" in caught.value.message and "api_token_file" in caught.value.fix
    assert "wrong-token-value" not in str(caught.value) + caught.value.fix


def test_5xx_is_retried_and_garbage_is_named(
    fake: FakeZendesk, clock: Clock, tmp_path: Path
) -> None:
    zd = client(fake, clock, tmp_path)
    fake.fail_next = [503, 502]
    assert zd.fields()
    fake.fail_next = [503] * 10
    [result] = zd.write([user(1)])
    assert not result.ok and "after 5 tries" in result.error


# --- a run stopped mid-job ------------------------------------------------------------------


def test_a_run_stopped_mid_job_leaves_a_note_the_next_run_waits_for(
    clock: Clock, tmp_path: Path
) -> None:
    import threading

    fake = FakeZendesk(clock, job_setup=5.0, job_row=0.5)
    zd = client(fake, clock, tmp_path)
    zd.fields()
    event = threading.Event()
    slept = clock.sleep

    def stopping(seconds: float) -> None:  # the daemon stops while the job is polled
        slept(seconds)
        event.set()
        stop.check()

    zd.http.sleep = stopping
    with stop.watching(event), pytest.raises(Interrupted):
        zd.write([user(n) for n in range(50)])
    [note] = JobNote.select()
    assert note.job_id and note.rows == 50 and len(fake.end_users()) < 50
    waits: list[str] = []
    again = client(fake, clock, tmp_path, waits=waits)  # the next run
    found = again.find_by_email([f"user{n}@example.com" for n in range(50)])
    assert len(found) == 50 and not JobNote.select().count()
    assert any("waited for 1 Zendesk bulk job(s) a stopped run had left" in w for w in waits)
    rewrite = again.write(
        [replace(user(n), existing=found[f"user{n}@example.com"]) for n in range(50)]
    )
    assert all(r.ok for r in rewrite) and max(fake.created.values()) == 1


def test_a_job_submitted_before_a_kill_without_its_id_is_waited_for(
    clock: Clock, tmp_path: Path
) -> None:
    fake = FakeZendesk(clock, job_setup=5.0, job_row=0.2)
    zd = client(fake, clock, tmp_path)
    JobNote.create(account=zd.http.base, what="users", rows=3)  # killed before the answer
    import httpx

    with httpx.Client(
        transport=httpx.WSGITransport(app=fake), auth=("admin@acme.example/token", "token")
    ) as http:
        rows = [
            {"name": f"U{n}", "email": f"user{n}@example.com", "external_id": f"obj-{n}"}
            for n in range(3)
        ]
        assert (
            http.post(
                "https://x/api/v2/users/create_or_update_many", json={"users": rows}
            ).status_code
            == 200
        )
    found = zd.find_by_email([f"user{n}@example.com" for n in range(3)])
    assert len(found) == 3 and not JobNote.select().count()


def test_a_job_sent_twice_makes_one_user(clock: Clock, tmp_path: Path) -> None:
    # The killed run's job and the next run's, both still queued: external_id matches first.
    fake = FakeZendesk(clock, job_setup=5.0, search_lag=3600)
    first = client(fake, clock, tmp_path)
    second = client(fake, clock, tmp_path)
    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(lambda zd: zd.write([user(n) for n in range(10)]), [first, second])
    assert all(r.ok for r in a + b) and [r.id for r in a] == [r.id for r in b]
    assert len(fake.end_users()) == 10 and max(fake.created.values()) == 1


# --- organizations --------------------------------------------------------------------------


def test_organizations_are_created_once_and_memberships_follow(
    fake: FakeZendesk, clock: Clock, tmp_path: Path
) -> None:
    zd = client(fake, clock, tmp_path)
    ids = [r.id for r in zd.write([user(n) for n in range(100)])]
    ids += [r.id for r in zd.write([user(n) for n in range(100, 150)])]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda part: zd.add_to_group("Sales", part, True), [ids[:75], ids[75:]] * 2))
    assert [o["name"] for o in fake.organizations.values()] == ["Sales"]
    assert next(iter(fake.organizations.values()))["shared_tickets"] is True
    assert fake.org_members("Sales") == {int(i) for i in ids}
    bulk = [p for m, p, _ in fake.calls if p.endswith("organization_memberships/create_many")]
    assert len(bulk) == 4  # never more than 100 a job
    zd.remove_from_group("Sales", ids[:10])
    zd.remove_from_group("Nobody made this", ids[:10])
    assert fake.org_members("Sales") == {int(i) for i in ids[10:]}
    assert [o["name"] for o in fake.organizations.values()] == ["Sales"]
    assert zd.group_names() == ["Sales"]
    again = client(fake, clock, tmp_path)  # the next run finds it by name, makes none
    again.add_to_group("sales", ids[:1], False)
    assert len(fake.organizations) == 1 and int(ids[0]) in fake.org_members("Sales")


def test_organization_members_one_call_each_when_bulk_is_refused(
    fake: FakeZendesk, clock: Clock, tmp_path: Path
) -> None:
    zd = client(fake, clock, tmp_path)
    ids = [r.id for r in zd.write([user(n) for n in range(5)])]
    zd._membership_bulk = False
    zd.add_to_group("Sales", ids, False)
    zd.add_to_group("Sales", ids, False)  # members already: 422s, taken as done
    assert fake.org_members("Sales") == {int(i) for i in ids}


# --- edits by id ----------------------------------------------------------------------------


def test_edits_go_in_an_update_job_by_id_and_never_create(
    fake: FakeZendesk, clock: Clock, tmp_path: Path
) -> None:
    zd = client(fake, clock, tmp_path)
    made = zd.write([user(n) for n in range(3)])
    found = zd.find_by_id([r.id for r in made])
    fake.delete_user(int(made[2].id))  # an agent deleted one meanwhile
    edits = [replace(user(n), name=f"Renamed {n}", existing=found[made[n].id]) for n in range(3)]
    results = zd.write(edits)
    assert [r.ok for r in results] == [True, True, False]
    assert "not found" in results[2].error
    assert [p for m, p, _ in fake.calls if m == "PUT" and p.endswith("users/update_many")]
    assert fake.users[int(made[0].id)]["name"] == "Renamed 0"
    assert len(fake.end_users()) == 2 and not fake.user_by_email("user2@example.com")


def test_find_by_id_leaves_out_the_deleted_agents_and_admins(
    fake: FakeZendesk, clock: Clock, tmp_path: Path
) -> None:
    zd = client(fake, clock, tmp_path)
    made = zd.write([user(n) for n in range(3)])
    fake.delete_user(int(made[1].id))
    agent = str(fake.user_by_email("agent@acme.example")["id"])
    found = zd.find_by_id([made[0].id, made[1].id, agent, "123456", "not-a-number"])
    assert list(found) == [made[0].id] and found[made[0].id].email == "user0@example.com"


def test_with_bulk_refused_an_edit_of_a_deleted_user_fails_and_creates_nothing(
    clock: Clock, tmp_path: Path
) -> None:
    fake = FakeZendesk(clock, bulk_enabled=False)
    zd = client(fake, clock, tmp_path)
    [made] = zd.write([user(1)])
    ann = zd.find_by_id([made.id])[made.id]
    fake.delete_user(int(made.id))
    [result] = zd.write([replace(user(1), existing=ann)])
    assert not result.ok and "no longer there (deleted); nothing was created" in result.error
    assert fake.end_users() == []


def test_a_one_organization_account_refuses_a_second_with_its_reason(
    clock: Clock, tmp_path: Path
) -> None:
    fake = FakeZendesk(clock, multiple_organizations=False)
    zd = client(fake, clock, tmp_path)
    ids = [r.id for r in zd.write([user(n) for n in range(2)])]
    zd.add_to_group("Sales", ids, False)
    with pytest.raises(TargetError, match="can belong to only one organization"):
        zd.add_to_group("Berlin office", ids[:1], False)


def test_the_organization_mark_shows_the_tenant(
    fake: FakeZendesk, clock: Clock, tmp_path: Path
) -> None:
    plain = client(fake, clock, tmp_path)
    ids = [r.id for r in plain.write([user(n) for n in range(3)])]
    plain.mark_synced("Contoso", ids)  # mark = "none": the external_id is the mark
    assert fake.organizations == {}
    marking = client(fake, clock, tmp_path, mark_organization="Microsoft Entra ID: {tenant}")
    marking.mark_synced("Contoso", ids)
    marking.mark_synced("Contoso", ids)
    assert fake.org_members("Microsoft Entra ID: Contoso") == {int(i) for i in ids}


def test_retry_after_as_seconds_or_a_date_within_reason() -> None:
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    from azsyncd.targets.zendesk.http import _seconds

    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    assert _seconds("37", 60) == 37 and 85 <= _seconds(soon, 60) <= 90
    assert _seconds("soon", 60) == 60 and _seconds("-5", 60) == 60 and _seconds(None, 60) == 60
    assert _seconds("99999999", 60) == 3600 and _seconds("nan", 60) == 60


def test_two_processes_on_one_account_share_its_budget(tmp_path: Path) -> None:
    """Two daemons' clients (their own connections to the host's shared rate-limit file) write
    to one account at once: together they stay within its minute."""
    import threading

    from azsyncd.targets.shared_limits import CallLog, SharedRateLimiter

    clock = Clock()
    lock = threading.Lock()
    slept = clock.sleep

    def sleep(seconds: float) -> None:
        with lock:
            slept(seconds)

    clock.sleep = sleep  # type: ignore[method-assign]
    fake = FakeZendesk(clock, per_minute=1000, bulk_enabled=False)  # one call a user
    shared = tmp_path / "shared"
    clients = [
        client(
            fake,
            clock,
            tmp_path / f"state{n}",
            limiter=SharedRateLimiter(
                CallLog.in_directory(shared),
                "https://acme.zendesk.com",
                {"call": 36},
                clock=clock,
                sleep=clock.sleep,
            ),
        )
        for n in range(2)
    ]
    with ThreadPoolExecutor(2) as pool:
        done = list(
            pool.map(
                lambda pair: [pair[0].write([user(i) for i in range(s, s + 50)]) for s in pair[1]],
                [(clients[0], range(0, 100, 50)), (clients[1], range(100, 200, 50))],
            )
        )
    assert all(r.ok for batches in done for batch in batches for r in batch)
    assert len(fake.end_users()) == 200 and fake.throttled == 0
    assert fake.busiest_minute() <= 40  # about the shared 36 (a limiter each: 72)
