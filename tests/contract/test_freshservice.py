"""The Freshservice target against the fake account: fields, requesters, its traps, its
departments and requester groups, the portal login, its limits and its faults."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from azsyncd.errors import TargetError
from azsyncd.targets import ContactWrite, Phone
from azsyncd.targets.freshservice.api import retry_after
from azsyncd.targets.freshservice.fields import Requester
from azsyncd.targets.freshservice.target import SEARCH_LIMIT, Freshservice
from tests.fakes.freshservice import FakeFreshservice
from tests.fakes.servers import serve
from tests.freshservice_setup import Clock, client


@pytest.fixture
def world() -> Iterator[tuple[FakeFreshservice, Freshservice, Clock]]:
    clock = Clock()
    fake = FakeFreshservice(clock)
    target = client(fake, clock)
    yield fake, target, clock
    target.close()


def ids(target: Freshservice) -> dict[str, str]:
    return {f.name: f.id for f in target.fields()}


def person(email: str, target: Freshservice, **values: Any) -> ContactWrite:
    """A new requester, its values by field label."""
    fields = ids(target)
    return ContactWrite(
        email,
        email.split("@")[0].title() + " Lee",
        [Phone("w", "+1 555 0100")],
        {fields[label]: value for label, value in values.items()},
    )


def found(target: Freshservice, email: str) -> Requester:
    requester = target.find_by_email([email])[email]
    assert isinstance(requester, Requester)
    return requester


def raw_call(fake: FakeFreshservice, method: str, path: str, body: Any = None) -> httpx.Response:
    """A call of someone else's (an agent's script) on the account."""
    with httpx.Client(
        transport=httpx.WSGITransport(app=fake),
        base_url="https://acme.freshservice.com/api/v2/",
        auth=("key", "X"),
    ) as http:
        return http.request(method, path, json=body)


# --- fields --------------------------------------------------------------------------------


def test_fields_are_the_built_in_four_and_the_custom_ones_typed(
    world: tuple[FakeFreshservice, Freshservice, Clock], caplog: pytest.LogCaptureFixture
) -> None:
    _, target, _ = world
    with caplog.at_level(logging.WARNING):
        fields = {f.name: f for f in target.fields()}
    assert [(f.name, f.id, str(f.type)) for f in fields.values()][:4] == [
        ("First Name", "first_name", "text"),
        ("Last Name", "last_name", "text"),
        ("Job Title", "job_title", "text"),
        ("Department", "department", "text"),
    ]
    kinds = {name: (f.id, str(f.type)) for name, f in fields.items()}
    assert kinds["Employee ID"] == ("cf_employee_id", "number")
    assert kinds["Office"] == ("cf_office", "dropdown")
    assert kinds["Hire date"] == ("cf_hire_date", "date")
    assert kinds["Desk phone"] == ("cf_desk_phone", "text")
    assert [c.label for c in fields["Office"].choices] == ["Berlin", "London"]
    # A type the notes do not list is reported and left alone.
    assert (fields["Remote worker"].type, fields["Remote worker"].raw_type) == (
        "unknown",
        "custom_checkbox",
    )
    assert "custom_checkbox" in caplog.text


def test_the_field_list_is_read_page_by_page(
    world: tuple[FakeFreshservice, Freshservice, Clock],
) -> None:
    fake, target, _ = world
    fake.fields += [
        {
            "id": 20000 + n,
            "name": f"cf_extra{n}",
            "label": f"Extra {n}",
            "type": "custom_text",
            "default": False,
        }
        for n in range(150)
    ]
    names = [f.name for f in target.fields()]
    assert "Extra 149" in names and len(names) == 4 + 6 + 150
    pages = [p for m, p, _, _ in fake.calls if p.endswith("/requester_fields")]
    assert len(pages) == 2  # 100 a page, the next one named by the Link header


# --- requesters ----------------------------------------------------------------------------


def test_create_then_find_with_names_phones_title_and_department(
    world: tuple[FakeFreshservice, Freshservice, Clock],
) -> None:
    fake, target, _ = world
    written = target.write(
        [
            person("Ann@Example.com", target, **{"Job Title": "Engineer", "Department": "Sales"}),
            person("bob@example.com", target, **{"Employee ID": 42, "Office": "London"}),
        ]
    )
    assert all(r.ok and r.id for r in written)
    ann = fake.requester("ann@example.com")
    assert (ann["first_name"], ann["last_name"], ann["work_phone_number"]) == (
        "Ann",
        "Lee",
        "+1 555 0100",
    )
    assert ann["job_title"] == "Engineer"
    assert [fake.departments[i]["name"] for i in ann["department_ids"]] == ["Sales"]
    back = target.find_by_email(["ANN@example.com", "nobody@example.com"])
    assert list(back) == ["ann@example.com"]
    assert back["ann@example.com"].name == "Ann Lee"
    assert back["ann@example.com"].custom["department"] == "Sales"
    bob = found(target, "bob@example.com")
    assert (bob.custom["cf_employee_id"], bob.custom["cf_office"]) == (42, "London")
    assert sorted(c.email for c in target.iter_contacts()) == ["ann@example.com", "bob@example.com"]


def test_departments_are_found_by_name_and_created_once_by_parallel_writers(
    world: tuple[FakeFreshservice, Freshservice, Clock],
) -> None:
    fake, target, _ = world
    fake.department("Sales")
    batches = [
        [person(f"u{n}x{i}@example.com", target, Department=dept) for i in range(5)]
        for n, dept in enumerate(["sales", "Legal", "Legal", "Legal"] * 2)
    ]
    with ThreadPoolExecutor(8) as pool:
        results = [r for batch in pool.map(target.write, batches) for r in batch]
    assert all(r.ok for r in results)
    assert sorted(d["name"] for d in fake.departments.values()) == ["Legal", "Sales"]
    assert len(fake.requesters) == 40


def test_an_update_keeps_the_see_department_tickets_flag_and_every_custom_value(
    world: tuple[FakeFreshservice, Freshservice, Clock],
) -> None:
    fake, target, _ = world
    target.write(
        [
            person(
                "ann@example.com",
                target,
                Notes="VIP, call first",
                Office="Berlin",
                Department="Sales",
            )
        ]
    )
    stored = fake.requester("ann@example.com")
    stored["can_see_all_tickets_from_associated_departments"] = True  # an agent's choice
    stored["custom_fields"]["cf_remote"] = True  # a field azsync does not write
    ann = found(target, "ann@example.com")
    fields = ids(target)
    update = ContactWrite(
        "ann@example.com", "Ann B Lee", ann.phones, {fields["Department"]: "Support"}, existing=ann
    )
    assert target.write([update])[0].ok
    after = fake.requester("ann@example.com")
    assert after["can_see_all_tickets_from_associated_departments"] is True
    assert (after["first_name"], after["last_name"]) == ("Ann B", "Lee")
    assert [fake.departments[i]["name"] for i in after["department_ids"]] == ["Support"]
    assert after["custom_fields"]["cf_notes"] == "VIP, call first"
    fields_update = ContactWrite(
        "ann@example.com",
        "Ann B Lee",
        ann.phones,
        {fields["Employee ID"]: 7},
        existing=found(target, "ann@example.com"),
    )
    assert target.write([fields_update])[0].ok
    after = fake.requester("ann@example.com")
    # The fake empties every custom field an update leaves out: all went back.
    assert after["custom_fields"] == {
        "cf_employee_id": 7,
        "cf_office": "Berlin",
        "cf_notes": "VIP, call first",
        "cf_hire_date": None,
        "cf_desk_phone": None,
        "cf_remote": True,
    }
    assert after["can_see_all_tickets_from_associated_departments"] is True


def test_the_fake_resets_the_flag_and_empties_custom_fields_left_out(
    world: tuple[FakeFreshservice, Freshservice, Clock],
) -> None:
    """The traps azsync avoids, shown on the fake with an update that falls into them."""
    fake, target, _ = world
    target.write([person("ann@example.com", target, Notes="keep")])
    stored = fake.requester("ann@example.com")
    stored["can_see_all_tickets_from_associated_departments"] = True
    answer = raw_call(
        fake,
        "PUT",
        f"requesters/{stored['id']}",
        {"job_title": "Boss", "custom_fields": {"cf_office": "Berlin"}},
    )
    assert answer.status_code == 200
    assert stored["can_see_all_tickets_from_associated_departments"] is False
    assert (
        stored["custom_fields"]["cf_notes"] is None
        and stored["custom_fields"]["cf_office"] == "Berlin"
    )


def test_another_department_an_agent_added_stays(
    world: tuple[FakeFreshservice, Freshservice, Clock],
) -> None:
    fake, target, _ = world
    target.write([person("ann@example.com", target, Department="Sales")])
    stored = fake.requester("ann@example.com")
    stored["department_ids"].append(fake.department("Projects"))
    ann = found(target, "ann@example.com")
    update = ContactWrite(
        "ann@example.com", ann.name, ann.phones, {"department": "Support"}, existing=ann
    )
    assert target.write([update])[0].ok
    assert [fake.departments[i]["name"] for i in stored["department_ids"]] == [
        "Support",
        "Projects",
    ]


def test_bad_values_fail_only_their_requester_with_a_readable_reason(
    world: tuple[FakeFreshservice, Freshservice, Clock],
) -> None:
    fake, target, _ = world
    results = target.write(
        [
            person("ann@example.com", target, **{"Employee ID": "A-123"}),
            person("bob@example.com", target, **{"Employee ID": 4.5}),
            person("cy@example.com", target, Office="Mars Base"),
            person("di@example.com", target, **{"Hire date": "yesterday"}),
            person("ed@example.com", target, **{"Employee ID": 42}),
        ]
    )
    assert [r.ok for r in results] == [False, False, False, False, True]
    assert results[0].error == "Employee ID: a number is required, got 'A-123'"
    assert "Employee ID: a whole number is required" in results[1].error
    assert "Office" in results[2].error and "choices" in results[2].error
    assert "Hire date" in results[3].error and "yyyy-mm-dd" in results[3].error
    assert sorted(r["primary_email"] for r in fake.requesters.values()) == ["ed@example.com"]
    # What azsync cannot tell beforehand, Freshservice says, in the field's own words.
    fake.fields[-3]["choices"] = None  # hypothetically: an account answering in another way
    long_title = ContactWrite("fi@example.com", "Fi Lee", [], {"job_title": "x" * 300})
    refused = target.write([long_title])[0]
    assert (
        not refused.ok
        and refused.error
        == "Job Title (job_title): Has 300 characters, it can have maximum of 255 characters"
    )


def test_other_phone_types_are_refused_before_any_call(
    world: tuple[FakeFreshservice, Freshservice, Clock],
) -> None:
    fake, target, _ = world
    target.fields()
    before = len(fake.calls)
    result = target.write([ContactWrite("ann@example.com", "Ann", [Phone("h", "+1 2")], {})])[0]
    assert not result.ok and 'map phones "w" and "mo" only' in result.error
    assert len(fake.calls) == before


def test_a_required_field_an_agent_emptied_fails_the_update_but_not_the_login_off(
    world: tuple[FakeFreshservice, Freshservice, Clock],
) -> None:
    fake, target, _ = world
    target.write([person("ann@example.com", target, Notes="n")])
    next(f for f in fake.fields if f["name"] == "cf_notes")["required_for_agents"] = True
    fake.requester("ann@example.com")["custom_fields"]["cf_notes"] = None
    target.fields()
    ann = found(target, "ann@example.com")
    rename = ContactWrite(ann.email, "Ann Other", ann.phones, {}, existing=ann)
    refused = target.write([rename])[0]
    assert not refused.ok and refused.error == "Notes: this field is required"
    off = ContactWrite(ann.email, ann.name, ann.phones, {}, existing=ann, login_enabled=False)
    assert target.write([off])[0].ok
    assert fake.requester("ann@example.com")["active"] is False


# --- the portal login: deactivate and reactivate --------------------------------------------


def test_login_off_and_on_is_deactivate_and_reactivate_and_keeps_every_value(
    world: tuple[FakeFreshservice, Freshservice, Clock],
) -> None:
    fake, target, _ = world
    target.write([person("ann@example.com", target, Department="Sales", Notes="VIP")])
    stored = fake.requester("ann@example.com")
    stored["can_see_all_tickets_from_associated_departments"] = True
    ann = found(target, "ann@example.com")
    calls = len(fake.calls)
    off = ContactWrite(ann.email, ann.name, ann.phones, {}, existing=ann, login_enabled=False)
    assert target.write([off])[0].ok
    assert [(m, p) for m, p, _, _ in fake.calls[calls:]] == [
        ("DELETE", f"/api/v2/requesters/{stored['id']}")
    ]
    assert stored["active"] is False and stored["custom_fields"]["cf_notes"] == "VIP"
    # A deactivated requester is still listed: found, updated, and its login stays off.
    after = found(target, "ann@example.com")
    assert after.active is False
    plain = ContactWrite(after.email, "Ann B Lee", after.phones, {}, existing=after)
    assert target.write([plain])[0].ok and stored["active"] is False
    back = ContactWrite(
        after.email,
        "Ann B Lee",
        after.phones,
        {},
        existing=found(target, "ann@example.com"),
        login_enabled=True,
    )
    calls = len(fake.calls)
    assert target.write([back])[0].ok
    assert [(m, p) for m, p, _, _ in fake.calls[calls:]] == [
        ("PUT", f"/api/v2/requesters/{stored['id']}/reactivate")
    ]
    assert stored["active"] is True and stored["first_name"] == "Ann B"
    assert stored["can_see_all_tickets_from_associated_departments"] is True
    assert fake.forgotten == []


def test_nothing_but_requesters_is_ever_deactivated_and_nothing_is_forgotten(
    world: tuple[FakeFreshservice, Freshservice, Clock],
) -> None:
    fake, target, _ = world
    written = target.write(
        [person(f"u{i}@example.com", target, Department="Sales") for i in range(6)]
    )
    ids_ = [r.id for r in written]
    for requester in target.find_by_email([f"u{i}@example.com" for i in range(6)]).values():
        target.write(
            [
                ContactWrite(
                    requester.email,
                    requester.name,
                    requester.phones,
                    {},
                    existing=requester,
                    login_enabled=False,
                )
            ]
        )
    target.add_to_group("Sales desk", ids_, False)
    target.remove_from_group("Sales desk", ids_[:3])
    deletes = {
        p.rsplit("/", 1)[0].rsplit("/", 1)[-1] if "members" in p else p.split("/")[3]
        for m, p, _, _ in fake.calls
        if m == "DELETE"
    }
    assert deletes <= {"members", "requesters"}
    assert not any(p.endswith("/forget") for _, p, _, _ in fake.calls) and fake.forgotten == []


# --- finding requesters: the filter lags, so no search after a create -----------------------


def test_a_requester_created_this_run_is_read_by_id_not_searched(
    world: tuple[FakeFreshservice, Freshservice, Clock],
) -> None:
    fake, target, _ = world
    target.write([person("ann@example.com", target)])
    assert found(target, "ann@example.com").name == "Ann Lee"  # the filter would not see it yet
    assert not any("email=" in p for _, p, _, _ in fake.calls)
    searches = [c for c in fake.calls if c[0] == "GET" and c[1] == "/api/v2/requesters"]
    assert searches == []


def test_an_address_created_elsewhere_minutes_ago_is_updated_not_duplicated(
    world: tuple[FakeFreshservice, Freshservice, Clock],
) -> None:
    fake, target, clock = world
    made = raw_call(
        fake, "POST", "requesters", {"first_name": "Ann", "primary_email": "ann@example.com"}
    )
    assert made.status_code == 201
    clock.now += 60  # indexed only after three minutes
    assert target.find_by_email(["ann@example.com"]) == {}  # the search does not see it yet
    result = target.write([person("ann@example.com", target, Office="Berlin")])[0]
    assert result.ok and result.id == str(made.json()["requester"]["id"])
    assert (
        len(fake.requesters) == 1
        and fake.requester("ann@example.com")["custom_fields"]["cf_office"] == "Berlin"
    )
    clock.now += 200
    assert target.find_by_email(["ann@example.com"])["ann@example.com"].id == result.id


def test_an_address_held_by_an_agent_or_as_a_secondary_address_fails_naming_it(
    world: tuple[FakeFreshservice, Freshservice, Clock],
) -> None:
    fake, target, _ = world
    fake.agent_emails.add("boss@example.com")
    target.write([person("ann@example.com", target)])
    fake.requester("ann@example.com")["secondary_emails"] = ["ann.old@example.com"]
    fake.by_email["ann.old@example.com"] = fake.requester("ann@example.com")["id"]
    results = target.write(
        [person("boss@example.com", target), person("ann.old@example.com", target)]
    )
    assert not results[0].ok and "by an agent" in results[0].error
    assert not results[1].ok and "secondary address of requester" in results[1].error
    assert "ann@example.com" in results[1].error and len(fake.requesters) == 1


def test_a_few_addresses_are_searched_and_many_listed_once(
    world: tuple[FakeFreshservice, Freshservice, Clock],
) -> None:
    fake, _, clock = world
    for i in range(250):
        raw_call(
            fake,
            "POST",
            "requesters",
            {"first_name": f"U{i}", "primary_email": f"u{i}@example.com"},
        )
        clock.now += 1
    clock.now += 600
    fresh = client(fake, clock)
    calls = len(fake.calls)
    assert len(fresh.find_by_email(["u1@example.com", "u2@example.com", "nobody@example.com"])) == 2
    assert len(fake.calls) - calls == 3  # one search each
    many = [f"u{i}@example.com" for i in range(100, 100 + SEARCH_LIMIT)]
    calls = len(fake.calls)
    assert len(fresh.find_by_email(many)) == SEARCH_LIMIT
    assert len(fake.calls) - calls == 3  # 250 requesters listed, 100 a page
    calls = len(fake.calls)
    assert len(fresh.find_by_email(["u7@example.com", "u249@example.com"])) == 2
    assert len(fake.calls) == calls  # from the listing
    fresh.close()


def test_an_address_change_edits_the_same_requester(
    world: tuple[FakeFreshservice, Freshservice, Clock],
) -> None:
    fake, target, _ = world
    first = target.write([person("ann@example.com", target)])[0]
    ann = found(target, "ann@example.com")
    moved = ContactWrite("ann.lee@example.org", ann.name, ann.phones, {}, existing=ann)
    assert target.write([moved])[0].id == first.id
    assert (
        fake.requester("ann.lee@example.org")["id"] == int(first.id) and len(fake.requesters) == 1
    )
    taken = target.write([person("bob@example.com", target)])[0]
    bob = found(target, "bob@example.com")
    clash = ContactWrite("ann.lee@example.org", bob.name, bob.phones, {}, existing=bob)
    refused = target.write([clash])[0]
    assert not refused.ok and "primary_email" in refused.error and "unique" in refused.error
    assert fake.requester("bob@example.com")["id"] == int(taken.id)


# --- requester groups ----------------------------------------------------------------------


def test_groups_add_remove_and_leave_others_alone(
    world: tuple[FakeFreshservice, Freshservice, Clock],
) -> None:
    fake, target, _ = world
    a, b, c = (r.id for r in target.write([person(f"u{i}@example.com", target) for i in range(3)]))
    target.add_to_group("Sales", [a, b], True)
    target.add_to_group("Unmanaged", [c], False)
    target.add_to_group("Sales", [a], True)  # already a member: nothing to do
    target.remove_from_group("Sales", [b, c])  # c was never in it
    target.remove_from_group("Nobody made this group", [a])
    assert fake.group("Sales") == {int(a)} and fake.group("Unmanaged") == {int(c)}
    assert sorted(target.group_names()) == ["Sales", "Unmanaged"]
    adds = [p for m, p, _, _ in fake.calls if m == "POST" and "/members/" in p]
    assert len(adds) == 4  # one requester a call


def test_a_rule_based_group_is_refused_with_the_fix(
    world: tuple[FakeFreshservice, Freshservice, Clock],
) -> None:
    fake, target, _ = world
    fake.add_group("Sales", kind="rule_based")
    (ann,) = target.write([person("ann@example.com", target)])
    with pytest.raises(TargetError) as caught:
        target.add_to_group("Sales", [ann.id], False)
    assert "rule_based" in caught.value.message and "manual" in caught.value.fix
    assert fake.group("Sales") == set()


def test_marks_are_a_requester_group_joined_once_by_parallel_workers() -> None:
    clock = Clock()
    fake = FakeFreshservice(clock)
    target = client(fake, clock, mark="requester_group")
    written = [r.id for r in target.write([person(f"u{i}@example.com", target) for i in range(10)])]
    written += [
        r.id for r in target.write([person(f"v{i}@example.com", target) for i in range(10)])
    ]
    with ThreadPoolExecutor(4) as pool:
        list(
            pool.map(
                lambda part: target.mark_synced("Contoso", part),
                [written[i : i + 5] for i in range(0, 20, 5)],
            )
        )
    assert len(fake.groups) == 1 and fake.group("Microsoft Entra ID: Contoso") == {
        int(i) for i in written
    }
    plain = client(fake, clock)  # mark = "none", the default: no call at all
    calls = len(fake.calls)
    plain.mark_synced("Contoso", written)
    assert len(fake.calls) == calls


def test_a_large_group_change_goes_one_requester_a_call_on_several_workers(
    world: tuple[FakeFreshservice, Freshservice, Clock],
) -> None:
    fake, target, _ = world
    written = []
    for start in range(0, 60, 10):
        written += [
            r.id
            for r in target.write([person(f"u{start + i}@example.com", target) for i in range(10)])
        ]
    threads: set[str] = set()
    handle = fake.handle

    def watched(request: Any) -> Any:
        threads.add(threading.current_thread().name)
        return handle(request)

    fake.handle = watched  # type: ignore[method-assign]
    target.add_to_group("Everyone", written, False)
    assert fake.group("Everyone") == {int(i) for i in written} and len(threads) > 1


# --- limits ----------------------------------------------------------------------------------


def test_a_burst_keeps_under_the_total_and_the_listing_budgets() -> None:
    clock = Clock()
    fake = FakeFreshservice(clock, plan="starter")  # 100 a minute, 40 listings
    for i in range(450):
        fake.requesters[i] = {"id": i, **_stored(f"u{i}@example.com")}
    target = client(fake, clock, limits={"total": 90, "list": 36})
    for _ in range(8):
        assert len(list(target.iter_contacts())) == 450  # 5 listing calls each
    for _ in range(150):
        target.fields()
    assert fake.throttled == 0
    assert fake.busiest_minute() <= 90 and fake.busiest_minute(listing=True) <= 36
    assert clock.now - 1000 >= 60  # 190 calls at 90 a minute take over two minutes


def _stored(email: str) -> dict[str, Any]:
    return {
        "first_name": "U",
        "last_name": None,
        "job_title": None,
        "primary_email": email,
        "secondary_emails": [],
        "work_phone_number": None,
        "mobile_phone_number": None,
        "department_ids": [],
        "can_see_all_tickets_from_associated_departments": False,
        "can_see_all_changes_from_associated_departments": False,
        "custom_fields": {},
        "active": True,
        "has_logged_in": False,
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
    }


def test_calls_others_make_on_the_account_are_counted_from_the_headers() -> None:
    clock = Clock()
    fake = FakeFreshservice(clock, plan="starter")
    target = client(fake, clock, limits={"total": 90, "list": 36})
    for _ in range(60):  # an agent's script spends most of the minute's budget
        assert raw_call(fake, "GET", "departments").status_code == 200
    for _ in range(100):
        target.fields()
    assert fake.throttled == 0 and fake.busiest_minute() <= 100


def test_a_429_pauses_every_call_for_its_retry_after_then_resumes(
    world: tuple[FakeFreshservice, Freshservice, Clock],
) -> None:
    fake, target, clock = world
    waits: list[str] = []
    target.api.on_wait = waits.append
    target.fields()
    fake._window.extend([clock.now] * 500)  # someone else spent the whole minute
    results = target.write([person(f"u{i}@example.com", target) for i in range(3)])
    assert all(r.ok for r in results) and len(fake.requesters) == 3
    assert target.api.throttled == 1 and target.api.limiter.locks == 1
    assert waits and "429" in waits[0] and "60 s (Retry-After)" in waits[0]
    assert any(s >= 60 for s in clock.slept)


def test_a_plan_above_the_account_s_limit_is_lowered_with_a_warning() -> None:
    clock = Clock()
    fake = FakeFreshservice(clock, plan="growth")  # the account allows 200 a minute
    target = client(fake, clock)  # configured for Enterprise: 450 of 500
    waits: list[str] = []
    target.api.on_wait = waits.append
    for _ in range(400):
        target.fields()
    assert fake.throttled == 0 and fake.busiest_minute() <= 200
    assert target.api.limiter.limits["total"] == 180
    assert len(waits) == 1 and "allows 200 calls a minute" in waits[0]


def test_an_account_on_another_budget_is_not_counted_by_the_minute_but_keeps_a_reserve() -> None:
    """An account still on hourly limits answers with its hourly total: its count says
    nothing of this minute, but when little of it is left, azsync leaves that to others."""
    clock = Clock()
    fake = FakeFreshservice(clock, limits=(5000, 140))
    target = client(fake, clock, limits={"total": 360, "list": 108}, account_total=400)
    waits: list[str] = []
    target.api.on_wait = waits.append
    for _ in range(100):
        target.fields()
    assert clock.now - 1000 < 1 and waits == []  # 100 calls: no pause for the large count
    fake._window.extend([clock.now] * 4500)  # the rest of the budget spent elsewhere
    target.fields()
    assert waits and "left" in waits[0] and target.api.limiter.locked_for > 0
    before = clock.now
    target.fields()
    assert clock.now - before >= 60 and fake.throttled == 0


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("30", 30.0),
        ("1.5", 1.5),
        ("", 60.0),
        ("soon", 60.0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
    ],
)
def test_retry_after_in_seconds_or_as_a_date(header: str, seconds: float) -> None:
    now = 1445412480.0  # 07:28:00 of that day
    assert retry_after(header, now) == pytest.approx(seconds)


# --- faults --------------------------------------------------------------------------------


def test_5xx_is_tried_again_and_a_5xx_that_lasts_fails_the_batch_with_a_reason(
    world: tuple[FakeFreshservice, Freshservice, Clock],
) -> None:
    fake, target, clock = world
    fake.fail_next = [503, 502]
    assert target.fields()
    assert len([s for s in clock.slept if s > 0]) == 2
    batch = [person("ann@example.com", target), person("bob@example.com", target)]
    fake.fail_next = [503] * 10
    results = target.write(batch)
    assert not results[0].ok and "HTTP 503" in results[0].error
    assert results[1].error == results[0].error  # the account cannot be written: no more calls
    # A POST answered 5xx is tried again like any call, its 5 tries (had it been done, the
    # next try's duplicate_value leads the target to that requester).
    assert len(fake.fail_next) == 5


def test_answers_of_another_shape_say_what_came(
    world: tuple[FakeFreshservice, Freshservice, Clock],
) -> None:
    fake, target, _ = world
    ann = person("ann@example.com", target)
    fake.fail_next = [(200, b"<html><title>Maintenance</title></html>")]
    result = target.write([ann])[0]
    assert not result.ok and "an HTML page instead of JSON ('Maintenance')" in result.error
    fake.fail_next = [(200, json.dumps({"requesters": "nope"}).encode())]
    with pytest.raises(TargetError, match="no list of objects under 'requesters'"):
        list(target.iter_contacts())


def test_wrong_key_and_missing_permissions_say_what_to_do() -> None:
    clock = Clock()
    fake = FakeFreshservice(clock)
    target = client(fake, clock, key="wrong-key-value")
    with pytest.raises(TargetError) as caught:
        target.fields()
    assert "401" in caught.value.message and "api_key_file" in caught.value.fix
    assert "wrong-key-value" not in str(caught.value) + caught.value.fix
    fake.fail_next = [403]
    with pytest.raises(TargetError) as forbidden:
        client(fake, clock).fields()
    assert "did not allow" in forbidden.value.message and "role" in forbidden.value.fix


def test_a_next_page_on_another_host_is_not_followed(
    world: tuple[FakeFreshservice, Freshservice, Clock],
) -> None:
    fake, target, _ = world
    for i in range(150):
        raw_call(
            fake, "POST", "requesters", {"first_name": "U", "primary_email": f"u{i}@example.com"}
        )
    fake.handle = _redirecting(fake.handle)  # type: ignore[method-assign]
    with pytest.raises(TargetError, match="next page on another host") as caught:
        list(target.iter_contacts())
    assert "API key only to the configured host" in caught.value.fix


def _redirecting(handle: Any) -> Any:
    def wrong(request: Any) -> Any:
        status, body, headers = handle(request)
        if "Link" in headers:
            headers["Link"] = headers["Link"].replace("acme.freshservice.com", "evil.example")
        return status, body, headers

    return wrong


def test_over_real_http_on_loopback() -> None:
    import time

    from azsyncd.targets.freshservice.api import FreshserviceAPI
    from azsyncd.targets.ratelimit import RateLimiter

    fake = FakeFreshservice(time.monotonic)
    with serve(fake) as port:
        api = FreshserviceAPI(
            f"http://127.0.0.1:{port}", "key", limiter=RateLimiter({"total": 450, "list": 126})
        )
        target = Freshservice(api)
        labels = {f.name: f.id for f in target.fields()}
        first = target.write(
            [
                ContactWrite(
                    "ann@example.com",
                    "Ann Lee",
                    [Phone("mo", "+49 170 1")],
                    {labels["Notes"]: "keep me"},
                )
            ]
        )
        assert first[0].ok
        ann = found(target, "ann@example.com")
        target.write(
            [
                ContactWrite(
                    "ann@example.com",
                    "Ann Lee",
                    [Phone("mo", "+49 170 2")],
                    {labels["Department"]: "IT"},
                    existing=ann,
                )
            ]
        )
        after = fake.requester("ann@example.com")
        assert (
            after["mobile_phone_number"] == "+49 170 2"
            and after["custom_fields"]["cf_notes"] == "keep me"
        )
        target.close()
