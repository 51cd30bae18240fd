"""The fake Zammad refuses and does what the Zammad API notes say Zammad does, whoever the
caller: the traps a client must handle are there to be fallen into."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from azsyncd.targets.zammad.simulator import attribute, default_attributes, name_guess
from tests.fakes.zammad import FakeZammad


@pytest.fixture
def fake() -> FakeZammad:
    return FakeZammad("t")


@pytest.fixture
def http(fake: FakeZammad) -> httpx.Client:
    return httpx.Client(
        transport=httpx.WSGITransport(app=fake),
        base_url="http://zammad/api/v1/",
        headers={"Authorization": "Token token=t"},
    )


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def refused(answer: httpx.Response, status: int = 422) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error", "error_human"}
    return str(body["error"])


def test_a_token_is_required_and_a_permission_per_kind_of_object(
    fake: FakeZammad, http: httpx.Client
) -> None:
    answer = httpx.Client(transport=httpx.WSGITransport(app=fake)).get("http://zammad/api/v1/users")
    assert answer.status_code == 401 and answer.headers["X-Failure"]
    fake.permissions.discard("admin.object")
    assert refused(http.get("object_manager_attributes"), 403) == "Not authorized"


def test_the_listing_is_by_id_capped_per_page_with_the_system_user(
    fake: FakeZammad, http: httpx.Client
) -> None:
    for i in range(5):
        fake.customer(f"u{i}@b.example")
    first = ok(http.get("users", params={"page": 1, "per_page": 3}))
    assert [u["id"] for u in first] == [1, 2, 3] and first[0]["login"] == "-"
    fake.per_page_max = 2
    assert [u["id"] for u in ok(http.get("users", params={"page": 2, "per_page": 3}))] == [3, 4]
    assert ok(http.get("users", params={"page": 9, "per_page": 3})) == []
    expanded = ok(http.get("users/2", params={"expand": "true"}))
    assert expanded["roles"] == ["Admin", "Agent"] and "password" not in expanded


def test_search_is_a_substring_match_without_elasticsearch_and_lags(
    fake: FakeZammad, http: httpx.Client
) -> None:
    fake.customer("xa@b.example")
    fake.customer("a@b.example")
    found = ok(http.get("users/search", params={"query": "a@b.example"}))
    assert sorted(u["email"] for u in found) == ["a@b.example", "xa@b.example"]
    fake.elasticsearch = True
    exact = ok(http.get("users/search", params={"query": 'email:"a@b.example"'}))
    assert [u["email"] for u in exact] == ["a@b.example"]
    fake.index_lag = 3600
    ok(http.post("users", json={"email": "new@b.example"}), 201)
    assert ok(http.get("users/search", params={"query": 'email:"new@b.example"'})) == []


def test_a_duplicate_or_invalid_email_is_a_422(http: httpx.Client) -> None:
    ok(http.post("users", json={"email": "Dup@B.example", "firstname": "D"}), 201)
    message = refused(http.post("users", json={"email": "dup@b.example"}))
    assert message == "Email address 'dup@b.example' is already used for another user."
    assert refused(http.post("users", json={"email": "no address"})) == "Invalid email 'no address'"


def test_put_changes_only_what_is_sent_but_replaces_whole_sets(
    fake: FakeZammad, http: httpx.Client
) -> None:
    user = ok(http.post("users", json={"email": "s@b.example", "department": "Sales"}), 201)
    assert fake.role_names(fake.users[user["id"]]) == ["Customer"]  # the signup role
    ok(http.put(f"users/{user['id']}", json={"role_ids": [2]}))
    assert fake.role_names(fake.users[user["id"]]) == ["Agent"]  # Customer is gone
    changed = ok(http.put(f"users/{user['id']}", json={"firstname": "Sue", "bogus": 1}))
    assert changed["department"] == "Sales" and "bogus" not in changed
    one, two = fake.add_organization("One"), fake.add_organization("Two")
    message = refused(http.put(f"users/{user['id']}", json={"organization_ids": [one["id"]]}))
    assert message.startswith("Secondary organizations are only allowed")
    body = {"organization_id": one["id"], "organization_ids": [two["id"]]}
    ok(http.put(f"users/{user['id']}", json=body))
    ok(http.put(f"users/{user['id']}", json={"organization_ids": []}))
    assert fake.users[user["id"]]["organization_ids"] == []
    assert ok(http.get(f"organizations/{one['id']}"))["member_ids"] == [user["id"]]


def test_names_are_guessed_when_one_part_is_blank_and_the_login_follows_the_email(
    http: httpx.Client,
) -> None:
    assert name_guess("Smith, John", "") == ("John", "Smith")
    guessed = ok(http.post("users", json={"email": "x@b.example", "firstname": "anna maria"}), 201)
    assert (guessed["firstname"], guessed["lastname"]) == ("Anna", "Maria")  # split, capitalised
    single = ok(http.post("users", json={"email": "y@b.example", "firstname": "ANNA"}), 201)
    assert single["firstname"] == "Anna"  # one-case names are capitalised
    names = {"firstname": "ANNA", "lastname": "b"}
    both = ok(http.post("users", json={"email": "z@b.example", **names}), 201)
    assert (both["firstname"], both["lastname"]) == ("ANNA", "b")  # both given: kept
    moved = ok(http.put(f"users/{both['id']}", json={"email": "z2@b.example"}))
    assert moved["login"] == "z2@b.example"


def test_custom_attributes_are_checked_once_any_attribute_changes(
    fake: FakeZammad, http: httpx.Client
) -> None:
    fake.attributes = [
        *default_attributes(),
        attribute("badge", "Badge", "input", {"type": "text", "maxlength": 5}),
        attribute("visit", "Visit", "date", {"past": False}),
        attribute("cost_center", "Cost center", "input", {}, required_on=("create",)),
    ]
    assert refused(http.post("users", json={"email": "r@b.example"})) == (
        "Missing required value for field 'cost_center'!"
    )
    body = {"email": "r@b.example", "cost_center": "C1", "badge": "123456"}
    assert refused(http.post("users", json=body)) == "Badge is longer than the allowed length 5"
    user = ok(http.post("users", json={**body, "badge": "1", "visit": "2999-01-01"}), 201)
    fake.users[user["id"]]["visit"] = "2000-01-01"  # time passed: the date is now past
    message = refused(http.put(f"users/{user['id']}", json={"firstname": "R"}))
    assert message == "Visit does not allow past dates."
    cast = ok(http.put(f"users/{user['id']}", json={"employee_id": "many", "visit": None}))
    assert cast["employee_id"] is None  # what an integer column cannot hold is dropped
    unchecked = ok(http.put(f"users/{user['id']}", json={"office": "mars"}))
    assert unchecked["office"] == "mars"  # select keys are not checked by Zammad's model


def test_organizations_are_unique_by_name_and_assigned_by_domain(
    fake: FakeZammad, http: httpx.Client
) -> None:
    made = ok(http.post("organizations", json={"name": "Acme", "domain": "acme.example",
                                                "domain_assignment": True}), 201)  # fmt: skip
    assert refused(http.post("organizations", json={"name": "Acme"})) == "Object already exists!"
    user = ok(http.post("users", json={"email": "e@acme.example"}), 201)
    assert user["organization_id"] == made["id"]


def test_a_note_is_sanitised_html_of_at_most_5000_characters(http: httpx.Client) -> None:
    user = ok(http.post("users", json={"email": "n@b.example", "note": "a < b & c"}), 201)
    assert user["note"] == "a &lt; b &amp; c"
    again = ok(http.put(f"users/{user['id']}", json={"note": user["note"]}))
    assert again["note"] == "a &lt; b &amp; c"  # escaped once, not twice
    assert "Note is too long" in refused(http.put(f"users/{user['id']}", json={"note": "x" * 5001}))
