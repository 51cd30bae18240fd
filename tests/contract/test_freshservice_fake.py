"""The fake Freshservice refuses what the reference notes say the real API refuses, and
behaves as they describe, traps included: checked here with plain HTTP, not with azsync's
client, so the client's tests prove something."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.freshservice import FakeFreshservice
from tests.freshservice_setup import Clock


@pytest.fixture
def account() -> Iterator[tuple[FakeFreshservice, httpx.Client, Clock]]:
    clock = Clock()
    fake = FakeFreshservice(clock, index_lag=180)
    with httpx.Client(
        transport=httpx.WSGITransport(app=fake),
        base_url="https://acme.freshservice.com/api/v2/",
        auth=("key", "X"),
    ) as http:
        yield fake, http, clock


def create(http: httpx.Client, email: str, **more: Any) -> dict[str, Any]:
    answer = http.post("requesters", json={"first_name": "Ann", "primary_email": email, **more})
    assert answer.status_code == 201, answer.text
    return dict(answer.json()["requester"])


def errors(answer: httpx.Response) -> list[tuple[str, str]]:
    body = answer.json()
    assert body["description"] == "Validation failed"
    return [(e["field"], e["code"]) for e in body["errors"]]


def test_basic_auth_with_the_key_and_every_call_counts(
    account: tuple[FakeFreshservice, httpx.Client, Clock],
) -> None:
    _fake, http, _ = account
    wrong = http.get("requesters", auth=("other", "X"))
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_credentials"
    answer = http.get("requesters")
    assert answer.status_code == 200 and answer.json() == {"requesters": []}
    # Failed calls count: 2 of 500.
    assert answer.headers["X-RateLimit-Total"] == "500"
    assert answer.headers["X-RateLimit-Remaining"] == "498"
    assert answer.headers["X-RateLimit-Used-CurrentRequest"] == "1"


def test_past_the_limit_429_with_retry_after_and_nothing_done(
    account: tuple[FakeFreshservice, httpx.Client, Clock],
) -> None:
    fake, http, clock = account
    fake.total_limit, fake.list_limit = 5, 2
    assert [http.get("requesters").status_code for _ in range(3)] == [200, 200, 429]
    throttled = http.get("requesters")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "60"
    for _ in range(3):
        assert http.get("departments").status_code == 200  # the total still had room
    refused = http.post("requesters", json={"first_name": "A", "primary_email": "a@example.com"})
    assert refused.status_code == 429 and fake.requesters == {}
    clock.now += 60
    assert http.get("requesters").status_code == 200


def test_pages_follow_the_link_header_up_to_100_a_page(
    account: tuple[FakeFreshservice, httpx.Client, Clock],
) -> None:
    _fake, http, _ = account
    for i in range(130):
        create(http, f"u{i}@example.com")
    first = http.get("requesters")
    assert len(first.json()["requesters"]) == 30  # the default page
    big = http.get("requesters", params={"per_page": 500})
    assert len(big.json()["requesters"]) == 100 and 'rel="next"' in big.headers["Link"]
    following = httpx.URL(big.headers["Link"].split(">")[0][1:])
    assert following.params["page"] == "2" and following.host == "acme.freshservice.com"
    last = http.get("requesters", params={"per_page": 100, "page": 2})
    assert len(last.json()["requesters"]) == 30 and "Link" not in last.headers


def test_filters_see_writes_minutes_later_30_a_page_and_40_pages_at_most(
    account: tuple[FakeFreshservice, httpx.Client, Clock],
) -> None:
    _fake, http, clock = account
    ann = create(http, "ann@example.com")
    assert http.get("requesters", params={"email": "ann@example.com"}).json()["requesters"] == []
    query = "\"primary_email:'ann@example.com'\""
    assert http.get("requesters", params={"query": query}).json()["requesters"] == []
    assert http.get(f"requesters/{ann['id']}").status_code == 200  # by id: at once
    clock.now += 181
    assert [
        r["id"]
        for r in http.get("requesters", params={"email": "ANN@example.com"}).json()["requesters"]
    ] == [ann["id"]]
    assert len(http.get("requesters", params={"query": query}).json()["requesters"]) == 1
    for i in range(40):
        create(http, f"u{i}@example.com", job_title="Engineer")
    clock.now += 181
    engineers = http.get(
        "requesters",
        params={
            "query": "\"(job_title:'Engineer' AND primary_email:'u3@example.com') OR "
            "job_title:'Engineer'\"",
            "per_page": 100,
        },
    )
    assert len(engineers.json()["requesters"]) == 30
    assert errors(http.get("requesters", params={"query": query, "page": 41})) == [
        ("page", "invalid_value")
    ]
    assert http.get("requesters", params={"query": "primary_email:'x'"}).status_code == 400


def test_create_needs_a_first_name_and_an_address_or_phone_and_takes_known_keys_only(
    account: tuple[FakeFreshservice, httpx.Client, Clock],
) -> None:
    _fake, http, _ = account
    assert errors(http.post("requesters", json={"first_name": "Ann"})) == [
        ("primary_email", "missing_field")
    ]
    assert errors(http.post("requesters", json={"primary_email": "a@example.com"})) == [
        ("first_name", "missing_field")
    ]
    assert errors(
        http.post("requesters", json={"first_name": "A", "mobile_phone_number": "1", "name": "A B"})
    ) == [("name", "invalid_field")]
    assert (
        http.post("requesters", json={"first_name": "A", "mobile_phone_number": "+1 5"}).status_code
        == 201
    )
    assert errors(
        http.post("requesters", json={"first_name": "A", "primary_email": "not an address"})
    ) == [("primary_email", "invalid_value")]
    unsent = http.post(
        "requesters", content=b'{"first_name": "A"}', headers={"Content-Type": "text/plain"}
    )
    assert unsent.status_code == 415
    broken = http.post(
        "requesters", content=b'{"first_name": ', headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400 and broken.json()["code"] == "invalid_json"


def test_addresses_are_unique_across_primary_secondary_and_agents(
    account: tuple[FakeFreshservice, httpx.Client, Clock],
) -> None:
    fake, http, _ = account
    create(http, "ann@example.com", secondary_emails=["ann.old@example.com"])
    fake.agent_emails.add("agent@example.com")
    for email in ("ANN@example.com", "ann.old@example.com", "agent@example.com"):
        taken = http.post("requesters", json={"first_name": "B", "primary_email": email})
        assert taken.status_code == 409 and errors(taken) == [("primary_email", "duplicate_value")]


def test_custom_fields_are_checked_by_type_and_required_fields_on_every_write(
    account: tuple[FakeFreshservice, httpx.Client, Clock],
) -> None:
    fake, http, _ = account
    bad = http.post(
        "requesters",
        json={
            "first_name": "A",
            "primary_email": "a@example.com",
            "custom_fields": {
                "cf_employee_id": "7",
                "cf_office": "Paris",
                "cf_hire_date": "01/02/2024",
                "cf_notes": "x" * 256,
                "cf_remote": "yes",
                "cf_unknown": 1,
            },
        },
    )
    assert sorted(errors(bad)) == [
        ("cf_employee_id", "datatype_mismatch"),
        ("cf_hire_date", "invalid_value"),
        ("cf_notes", "invalid_value"),
        ("cf_office", "invalid_value"),
        ("cf_remote", "datatype_mismatch"),
        ("cf_unknown", "invalid_field"),
    ]
    next(f for f in fake.fields if f["name"] == "cf_office")["required_for_agents"] = True
    assert errors(
        http.post("requesters", json={"first_name": "A", "primary_email": "a@example.com"})
    ) == [("cf_office", "missing_field")]
    ann = create(http, "a@example.com", custom_fields={"cf_office": "Berlin"})
    emptied = http.put(f"requesters/{ann['id']}", json={"custom_fields": {"cf_notes": "n"}})
    assert errors(emptied) == [("cf_office", "missing_field")]  # the whole object was replaced


def test_updates_are_partial_but_reset_the_flag_and_replace_custom_fields(
    account: tuple[FakeFreshservice, httpx.Client, Clock],
) -> None:
    fake, http, _ = account
    ann = create(
        http,
        "ann@example.com",
        job_title="Boss",
        custom_fields={"cf_notes": "n", "cf_office": "Berlin"},
    )
    http.put(
        f"requesters/{ann['id']}", json={"can_see_all_tickets_from_associated_departments": True}
    )
    assert fake.requesters[ann["id"]]["can_see_all_tickets_from_associated_departments"] is True
    after = http.put(f"requesters/{ann['id']}", json={"last_name": "Lee"}).json()["requester"]
    assert after["job_title"] == "Boss" and after["custom_fields"]["cf_notes"] == "n"  # kept
    assert after["can_see_all_tickets_from_associated_departments"] is False  # the trap
    after = http.put(f"requesters/{ann['id']}", json={"custom_fields": {"cf_notes": "m"}}).json()[
        "requester"
    ]
    assert after["custom_fields"]["cf_office"] is None  # left out: emptied


def test_deactivate_reactivate_and_forget(
    account: tuple[FakeFreshservice, httpx.Client, Clock],
) -> None:
    fake, http, _ = account
    ann = create(http, "ann@example.com")
    gone = http.delete(f"requesters/{ann['id']}")
    assert gone.status_code == 204 and gone.content == b""
    listed = http.get("requesters").json()["requesters"]
    assert [r["active"] for r in listed] == [False]  # deactivated requesters are listed
    assert http.get("requesters", params={"active": "true"}).json()["requesters"] == []
    back = http.put(f"requesters/{ann['id']}/reactivate")
    assert back.status_code == 200 and back.json()["requester"]["active"] is True
    assert http.delete(f"requesters/{ann['id']}/forget").status_code == 204
    assert fake.forgotten == [ann["id"]] and fake.requesters == {}
    missing = http.get(f"requesters/{ann['id']}")
    assert missing.status_code == 404 and missing.content == b""


def test_departments_are_unique_by_name(
    account: tuple[FakeFreshservice, httpx.Client, Clock],
) -> None:
    _, http, _ = account
    assert http.post("departments", json={"name": "Sales"}).status_code == 201
    assert errors(http.post("departments", json={"name": "sales"})) == [("name", "duplicate_value")]
    assert errors(
        http.post(
            "requesters",
            json={"first_name": "A", "primary_email": "a@example.com", "department_ids": [1]},
        )
    ) == [("department_ids", "invalid_value")]


def test_only_manual_groups_take_members_one_a_call(
    account: tuple[FakeFreshservice, httpx.Client, Clock],
) -> None:
    fake, http, _ = account
    ann = create(http, "ann@example.com")
    group = http.post("requester_groups", json={"name": "Sales"}).json()["requester_group"]
    assert group["type"] == "manual"
    assert http.post(f"requester_groups/{group['id']}/members/{ann['id']}").status_code == 201
    again = http.post(f"requester_groups/{group['id']}/members/{ann['id']}")
    assert again.status_code == 409 and errors(again) == [("requester_id", "duplicate_value")]
    members = http.get(f"requester_groups/{group['id']}/members").json()["requesters"]
    assert [m["id"] for m in members] == [ann["id"]]
    ruled = fake.add_group("Auto", kind="rule_based")
    refused = http.post(f"requester_groups/{ruled['id']}/members/{ann['id']}")
    assert refused.status_code == 400 and "manual" in refused.json()["errors"][0]["message"]
    assert http.delete(f"requester_groups/{group['id']}/members/{ann['id']}").status_code == 204
    assert http.delete(f"requester_groups/{group['id']}/members/{ann['id']}").status_code == 404
    assert errors(http.post("requester_groups", json={"name": "sales"})) == [
        ("name", "duplicate_value")
    ]
