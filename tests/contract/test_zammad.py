"""The Zammad target against the fake Zammad: customers only, the traps of the API notes
(substring search, whole-set replacement, duplicate emails, agents and user 1), fields of
every attribute type with Zammad's limits, organizations from rules, leavers, limits and
faults."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from azsyncd.config.model import Config
from azsyncd.errors import TargetError
from azsyncd.targets import ContactWrite, Phone
from azsyncd.targets.fields import convert
from azsyncd.targets.ratelimit import RateLimiter
from azsyncd.targets.zammad.api import KIND, ZammadApi
from azsyncd.targets.zammad.organizations import Memberships, regroup
from azsyncd.targets.zammad.target import Zammad, split_name
from tests.fakes.zammad import FakeZammad

MAPPING = {"phones": {"w": "businessPhones[0]", "mo": "mobilePhone"}}
RULES = [
    {"group": "Sales desk", "when": 'department = "Sales"'},
    {"group": "EMEA", "when": 'country = "DE"'},
]


class Clock:
    """Virtual time: sleeping advances it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def client(
    fake: FakeZammad, clock: Clock, per_minute: int = 600, token: str = "token", **config: Any
) -> Zammad:
    api = ZammadApi(
        "https://zammad.example",
        token,
        limiter=RateLimiter({KIND: per_minute}, clock=clock, sleep=clock.sleep),
        transport=httpx.WSGITransport(app=fake),
        sleep=clock.sleep,
    )
    settings = Config.model_validate({"mapping": MAPPING, "contact_groups": RULES, **config})
    return Zammad(api, config=settings, parallel=1)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> FakeZammad:
    return FakeZammad(clock=clock)


@pytest.fixture
def zammad(fake: FakeZammad, clock: Clock) -> Iterator[Zammad]:
    target = client(fake, clock)
    yield target
    target.close()


def new(email: str, name: str = "Anna Berg", **custom: Any) -> ContactWrite:
    return ContactWrite(email, name, [Phone("w", "+49 30 1"), Phone("mo", "+49 170 1")], custom)


def existing_write(
    zammad: Zammad, email: str, *, to: str = "", login: bool | None = None, **custom: Any
) -> ContactWrite:
    """A write of the user ``email`` as found, with ``custom`` changed (and the address
    changed ``to``, the login turned on or off)."""
    found = zammad.find_by_email([email])[email]
    return ContactWrite(
        to or email, found.name, found.phones, custom, existing=found, login_enabled=login
    )


# --- fields ----------------------------------------------------------------------------


def test_every_attribute_type_becomes_a_typed_field(zammad: Zammad) -> None:
    fields = {f.id: f for f in zammad.fields()}
    assert fields["employee_id"].name == "Employee ID"  # as Zammad shows it; the id is the key
    kinds = {name: str(f.type) for name, f in fields.items()}
    assert kinds == {
        "firstname": "text", "lastname": "text", "web": "text", "fax": "text",
        "department": "text", "address": "text", "vip": "boolean", "note": "text",
        "employee_id": "number", "office": "dropdown", "hire_date": "date",
        "job_title": "text", "profile": "text", "bio": "text", "newsletter": "boolean",
        "last_review": "datetime", "languages": "multi_select", "site": "dropdown",
        "skills": "multi_select", "erp_account": "unknown",
    }  # fmt: skip
    # Set by azsync itself or never: not offered; inactive built-ins (street) neither.
    assert not {"email", "phone", "mobile", "login", "role_ids", "active", "street"} & set(fields)
    assert (fields["office"].choices[0].id, fields["office"].choices[0].label) == (
        "berlin",
        "Berlin",
    )
    assert [c.id for c in fields["site"].choices] == [
        "Europe", "Europe::Berlin", "Europe::London", "Americas", "Americas::New York"
    ]  # fmt: skip
    assert fields["erp_account"].raw_type == "autocompletion_ajax_external_data_source"


@pytest.mark.parametrize(
    "field, value, reason",
    [
        ("job_title", "x" * 61, "longer than Zammad allows here (60 characters)"),
        ("employee_id", "1000000", "above the most Zammad allows here (999999)"),
        ("employee_id", "0", "below the least value Zammad allows here (1)"),
        ("employee_id", "12.5", "not a whole number"),
        ("hire_date", "2999-01-01", "in the future, which this Zammad attribute does not allow"),
        ("profile", "not a url", "not a web address"),
        ("newsletter", "maybe", "not a yes/no value"),
        ("last_review", "yesterday", "not a date and time"),
        ("office", "Paris", "is not a choice of this field (allowed: Berlin, London, Remote)"),
        ("erp_account", "4711", "which azsync cannot write"),
    ],
)
def test_a_value_zammad_would_refuse_fails_in_the_mapping_with_the_fix(
    zammad: Zammad, field: str, value: str, reason: str
) -> None:
    fields = {f.id: f for f in zammad.fields()}
    with pytest.raises(ValueError, match="fix:") as caught:
        convert(fields[field], value)
    assert reason in str(caught.value)


def test_values_of_every_type_go_to_zammad_and_read_back_the_same(
    zammad: Zammad, fake: FakeZammad
) -> None:
    fields = {f.id: f for f in zammad.fields()}
    given_values = {
        "employee_id": "4711", "office": "london", "hire_date": "2020-02-29",
        "newsletter": "yes", "last_review": "2024-03-01T10:30:00+02:00",
        "languages": "English; german", "site": "Europe::Berlin", "skills": ["IT::Network"],
        "vip": True, "note": "Prefers phone & email <b>", "department": "Sales",
    }  # fmt: skip
    custom = {fields[k].id: convert(fields[k], v) for k, v in given_values.items()}
    assert zammad.write([new("a@b.example", **custom)])[0].ok
    stored = fake.by_address("a@b.example")
    assert stored is not None
    assert (stored["employee_id"], stored["office"], stored["newsletter"]) == (4711, "london", True)
    assert stored["last_review"] == "2024-03-01T08:30:00.000Z"
    assert stored["languages"] == ["en", "de"] and stored["note"].startswith("Prefers phone &amp;")
    again = client(fake, Clock()).find_by_email(["a@b.example"])["a@b.example"]
    assert again.custom == {**again.custom, **custom}  # equal as azsync compares them


# --- finding and writing users ---------------------------------------------------------


def test_the_substring_trap_the_right_user_is_found_and_updated(
    zammad: Zammad, fake: FakeZammad
) -> None:
    fake.customer("xa@b.example", firstname="Xaver", lastname="Alt")
    assert zammad.find_by_email(["a@b.example"]) == {}  # the search found xa@: not the one
    assert fake.count("GET", "users/search") == 1
    assert zammad.write([new("a@b.example")])[0].ok
    update = existing_write(zammad, "a@b.example", department="Legal")
    assert zammad.write([update])[0].ok
    assert fake.by_address("a@b.example")["department"] == "Legal"  # type: ignore[index]
    assert fake.by_address("xa@b.example")["department"] is None  # type: ignore[index]


def test_a_create_makes_a_customer_and_an_update_sends_only_what_changed(
    zammad: Zammad, fake: FakeZammad
) -> None:
    [created] = zammad.write([new("Anna.Berg@B.example", department="Sales")])
    user = fake.users[int(created.id)]
    assert fake.role_names(user) == ["Customer"] and user["email"] == "anna.berg@b.example"
    assert (user["firstname"], user["lastname"], user["phone"], user["mobile"]) == (
        "Anna", "Berg", "+49 30 1", "+49 170 1"
    )  # fmt: skip
    update = existing_write(zammad, "anna.berg@b.example", department="Legal")
    assert zammad.write([update])[0].ok
    method, path, body = fake.writes[-1]
    assert (method, path, body) == ("PUT", f"users/{created.id}", {"department": "Legal"})
    assert zammad.write([existing_write(zammad, "anna.berg@b.example")])[0].ok  # no change
    assert fake.writes[-1][1] == f"users/{created.id}" and len(fake.writes) == 2


def test_an_agent_in_entra_id_is_never_written_and_keeps_its_roles(
    zammad: Zammad, fake: FakeZammad
) -> None:
    agent = fake.agent("sam@b.example", firstname="Sam", lastname="Support")
    found = zammad.find_by_email(["sam@b.example"])["sam@b.example"]
    update = ContactWrite("sam@b.example", "Samuel Support", [], {}, existing=found)
    leaver = ContactWrite("sam@b.example", found.name, [], {}, existing=found, login_enabled=False)
    results = zammad.write([update, leaver])
    assert not any(r.ok for r in results)
    assert "is not a customer (roles: Agent)" in results[0].error
    assert fake.writes == [] and fake.role_names(fake.users[agent["id"]]) == ["Agent"]
    assert fake.users[agent["id"]]["active"] is True


def test_the_system_user_and_admins_are_never_contacts(zammad: Zammad, fake: FakeZammad) -> None:
    fake.customer("c@b.example", firstname="Carl", lastname="Customer")
    assert [c.email for c in zammad.iter_contacts()] == ["c@b.example"]
    results = zammad.write([existing_write(zammad, "admin@example.com", department="x")])
    assert not results[0].ok and "Admin, Agent" in results[0].error
    assert not zammad.manageable(fake.view(fake.users[1], expand=True))


def test_a_leaver_is_set_inactive_and_back_never_deleted(zammad: Zammad, fake: FakeZammad) -> None:
    [created] = zammad.write([new("l@b.example")])
    off = existing_write(zammad, "l@b.example", login=False)
    assert zammad.write([off])[0].ok
    assert (
        fake.writes[-1][2] == {"active": False} and fake.users[int(created.id)]["active"] is False
    )
    on = existing_write(zammad, "l@b.example", login=True)
    assert zammad.write([on])[0].ok and fake.users[int(created.id)]["active"] is True
    assert fake.deleted == [] and not any(m == "DELETE" for m, _, _ in fake.writes)


def test_an_address_change_edits_the_same_user_and_its_login_follows(
    zammad: Zammad, fake: FakeZammad
) -> None:
    [created] = zammad.write([new("old@b.example")])
    moved = existing_write(zammad, "old@b.example", to="new@b.example")
    [result] = zammad.write([moved])
    assert result.ok and result.id == created.id
    user = fake.users[int(created.id)]
    assert (user["email"], user["login"]) == ("new@b.example", "new@b.example")
    assert zammad.find_by_email(["new@b.example"])["new@b.example"].id == created.id
    assert zammad.find_by_email(["old@b.example"]) == {}


def test_an_address_taken_by_a_user_made_since_the_listing_is_adopted(
    zammad: Zammad, fake: FakeZammad
) -> None:
    assert zammad.find_by_email(["late@b.example"]) == {}  # the listing is made
    fake.customer("xlate@b.example")  # the search's substring match must not adopt this one
    late = fake.customer("late@b.example", firstname="Late", lastname="Comer")
    [result] = zammad.write([new("late@b.example", "Late Comer", department="Ops")])
    assert result.ok and result.id == str(late["id"])
    assert fake.users[late["id"]]["department"] == "Ops" and len(fake.users) == 4


def test_an_address_taken_while_the_search_lags_fails_now_and_is_adopted_once_indexed(
    fake: FakeZammad, clock: Clock
) -> None:
    fake.index_lag = 60.0
    first = client(fake, clock)
    assert first.find_by_email(["lag@b.example"]) == {}
    fake.customer("lag@b.example")
    [result] = first.write([new("lag@b.example")])
    assert not result.ok and "already used for another user" in result.error
    assert "the next sync finds it" not in result.error and "search does not show" in result.error
    clock.now += 60  # Zammad has indexed it
    [again] = client(fake, clock).write([new("lag@b.example")])  # the next run adopts it
    assert again.ok and len([u for u in fake.users.values() if u["email"] == "lag@b.example"]) == 1


def test_a_bad_write_fails_only_its_user_with_zammads_reason(
    zammad: Zammad, fake: FakeZammad
) -> None:
    results = zammad.write([new("not-an-address"), new("ok@b.example")])
    assert [r.ok for r in results] == [False, True]
    assert "Invalid email 'not-an-address'" in results[0].error


def test_names_are_split_so_zammad_does_not_guess_them_again(
    zammad: Zammad, fake: FakeZammad
) -> None:
    assert split_name("Anna Maria  Berg") == ("Anna Maria", "Berg")
    assert split_name("Cher") == ("Cher", "")
    zammad.write([new("s@b.example", "Smith, John"), new("c@b.example", "Cher")])
    assert full_name_of(fake, "s@b.example") == "Smith, John"  # not "John Smith"
    assert full_name_of(fake, "c@b.example") == "Cher"
    found = zammad.find_by_email(["s@b.example"])["s@b.example"]
    assert found.name == "Smith, John"


def full_name_of(fake: FakeZammad, email: str) -> str:
    user = fake.by_address(email)
    assert user is not None
    return f"{user['firstname']} {user['lastname']}".strip()


def test_the_listing_reads_every_page_of_an_older_zammad_capped_at_500(
    fake: FakeZammad, clock: Clock
) -> None:
    fake.per_page_max = 500
    for i in range(1203):
        fake.customer(f"u{i}@b.example")
    target = client(fake, clock)
    assert len(target.find_by_email([f"u{i}@b.example" for i in range(1203)])) == 1203
    assert fake.count("GET", "users") == 4  # 500 + 500 + 203 + the empty page


# --- organizations ---------------------------------------------------------------------


def test_rules_make_organizations_once_primary_in_file_order(
    zammad: Zammad, fake: FakeZammad
) -> None:
    ids = [r.id for r in zammad.write([new("o1@b.example"), new("o2@b.example")])]
    zammad.add_to_group("EMEA", ids, False)  # the second rule's first: primary for now
    zammad.add_to_group("Sales desk", ids[:1], True)  # the first rule's: primary from now
    sales, emea = fake.org_id("Sales desk"), fake.org_id("EMEA")
    assert memberships(fake, ids) == [(sales, [emea]), (emea, [])]
    assert fake.organizations[sales]["shared"] is True
    assert fake.organizations[emea]["shared"] is False
    zammad.add_to_group("Sales desk", ids[1:], True)
    assert memberships(fake, ids) == [(sales, [emea]), (sales, [emea])]
    assert len(fake.organizations) == 2 and fake.count("POST", "organizations") == 2
    assert sorted(zammad.group_names()) == ["EMEA", "Sales desk"]
    zammad.remove_from_group("Sales desk", ids)
    assert memberships(fake, ids) == [(emea, []), (emea, [])]


def memberships(fake: FakeZammad, ids: list[str]) -> list[tuple[int | None, list[int]]]:
    return [
        (fake.users[int(i)]["organization_id"], fake.users[int(i)]["organization_ids"]) for i in ids
    ]


def test_memberships_no_rule_made_stay(zammad: Zammad, fake: FakeZammad) -> None:
    partner = fake.add_organization(
        "Partner Inc.", domain="partner.example", domain_assignment=True
    )
    [created] = zammad.write([new("p@partner.example")])  # Zammad assigns Partner Inc.
    assert memberships(fake, [created.id]) == [(partner["id"], [])]
    zammad.add_to_group("Sales desk", [created.id], False)
    assert memberships(fake, [created.id]) == [(partner["id"], [fake.org_id("Sales desk")])]
    zammad.remove_from_group("Sales desk", [created.id])
    assert memberships(fake, [created.id]) == [(partner["id"], [])]
    zammad.remove_from_group("Nobody's group", [created.id])  # a missing group: no call
    assert fake.org_id("Nobody's group") is None


def test_a_hand_made_secondary_becomes_primary_when_the_rules_primary_goes(
    zammad: Zammad, fake: FakeZammad
) -> None:
    [created] = zammad.write([new("h@b.example")])
    zammad.add_to_group("Sales desk", [created.id], False)
    manual = fake.add_organization("Manual")
    fake.update_user(int(created.id), {"organization_ids": [manual["id"]]})
    zammad.remove_from_group("Sales desk", [created.id])
    assert memberships(fake, [created.id]) == [(manual["id"], [])]


def test_an_agents_organizations_are_not_changed(zammad: Zammad, fake: FakeZammad) -> None:
    agent = fake.agent("a@b.example")
    zammad.add_to_group("Sales desk", [str(agent["id"])], False)
    assert fake.users[agent["id"]]["organization_id"] is None
    assert not any(path.startswith("users/") for _, path, _ in fake.writes)


@given(
    primary=st.one_of(st.none(), st.integers(1, 6)),
    secondary=st.lists(st.integers(1, 6), max_size=5, unique=True),
    ranked=st.lists(st.integers(1, 4), unique=True),
    add=st.one_of(st.none(), st.integers(1, 6)),
    remove=st.one_of(st.none(), st.integers(1, 6)),
)
def test_regroup_keeps_every_membership_but_the_one_removed(
    primary: int | None,
    secondary: list[int],
    ranked: list[int],
    add: int | None,
    remove: int | None,
) -> None:
    if primary is None:
        secondary = []  # Zammad holds no secondaries without a primary
    before = Memberships(primary, tuple(secondary))
    after = regroup(before, ranked, add=add, remove=remove)
    wanted = (set(before.all) | ({add} if add else set())) - ({remove} if remove else set())
    assert set(after.all) == wanted and len(after.all) == len(wanted)
    assert after.primary not in after.secondary
    assert after.primary is not None or not after.secondary
    members_ranked = [o for o in ranked if o in wanted]
    if primary in wanted and primary not in ranked:
        assert after.primary == primary  # set by hand or by Zammad: it stays primary
    elif members_ranked:
        assert after.primary == members_ranked[0]  # the first rule's, in file order


# --- limits and faults -----------------------------------------------------------------


def test_writes_keep_under_max_per_minute(fake: FakeZammad, clock: Clock) -> None:
    target = client(fake, clock, per_minute=60)
    for start in range(0, 150, 10):
        batch = [new(f"r{i}@b.example") for i in range(start, start + 10)]
        assert all(r.ok for r in target.write(batch))
    assert fake.busiest_minute() <= 60 and clock.now - 1000 >= 120


def test_a_429_pauses_for_retry_after_then_the_write_goes_through(
    fake: FakeZammad, clock: Clock
) -> None:
    waits: list[str] = []
    target = client(fake, clock)
    target.api.on_wait = waits.append
    target.find_by_email(["x@b.example"])
    fake.throttle = [30, 30]
    [result] = target.write([new("t@b.example")])
    assert result.ok and clock.now - 1000 >= 60
    assert waits and "429" in waits[0] and "30 s" in waits[0]
    assert target.api.limiter.locks == 2


def test_5xx_are_retried_with_backoff_then_give_up_with_a_reason(
    fake: FakeZammad, clock: Clock
) -> None:
    target = client(fake, clock)
    target.find_by_email(["x@b.example"])
    fake.fail_next = [502, 503]
    assert target.write([new("t@b.example")])[0].ok
    fake.fail_next = [500] * 10
    [result] = target.write([new("u@b.example")])
    assert not result.ok and "did not answer POST /api/v1/users after 6 tries" in result.error
    assert result.error.endswith("budget): HTTP 500")
    assert sum(clock.slept) > 10  # paused between tries, not hammering


def test_a_refused_token_names_the_file_and_never_the_token(fake: FakeZammad, clock: Clock) -> None:
    with pytest.raises(TargetError) as caught:
        client(fake, clock, token="stale-secret-4711").fields()
    assert "401" in caught.value.message and "token_file" in caught.value.fix
    assert "stale-secret-4711" not in f"{caught.value.message} {caught.value.fix}"


def test_without_admin_object_the_built_in_fields_remain(fake: FakeZammad, clock: Clock) -> None:
    fake.permissions.discard("admin.object")
    names = [f.name for f in client(fake, clock).fields()]
    assert "department" in names and "employee_id" not in names


def test_without_admin_organization_a_rule_fails_with_the_permission_to_give(
    fake: FakeZammad, clock: Clock
) -> None:
    fake.permissions.discard("admin.organization")
    with pytest.raises(TargetError) as caught:
        client(fake, clock).add_to_group("Sales desk", ["3"], False)
    assert "403" in caught.value.message and "admin.organization" in caught.value.fix


def test_a_call_ends_within_its_budget_of_time(fake: FakeZammad, clock: Clock) -> None:
    target = client(fake, clock)
    target.api.budget = 10.0
    target.find_by_email(["x@b.example"])
    fake.fail_next = [503] * 10
    [result] = target.write([new("t@b.example")])
    assert not result.ok and "of a 10 s budget" in result.error
    assert sum(clock.slept) <= 10


def test_a_zammad_nobody_answers_at_is_tried_then_named(clock: Clock) -> None:
    limiter = RateLimiter({KIND: 600}, clock=clock, sleep=clock.sleep)
    api = ZammadApi("http://127.0.0.1:9", "t", limiter=limiter, sleep=clock.sleep)
    with pytest.raises(TargetError) as caught:
        api.call("GET", "users")
    assert "did not answer GET /api/v1/users after 6 tries" in caught.value.message
    assert "127.0.0.1" in caught.value.message and "Zammad is up" in caught.value.fix


def test_an_html_page_instead_of_json_says_what_came(clock: Clock) -> None:
    page = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>Login</html>"))
    limiter = RateLimiter({KIND: 600}, clock=clock)
    api = ZammadApi("https://zammad.example", "t", limiter=limiter, transport=page)
    with pytest.raises(TargetError, match="HTML page") as caught:
        Zammad(api).fields()
    assert "base_url" in caught.value.fix


# --- what finding users costs ------------------------------------------------------------


def test_a_few_addresses_are_searched_many_listed_once(fake: FakeZammad, clock: Clock) -> None:
    for i in range(30):
        fake.customer(f"u{i}@b.example")
    target = client(fake, clock)
    assert len(target.find_by_email([f"u{i}@b.example" for i in range(5)])) == 5
    assert (fake.count("GET", "users/search"), fake.count("GET", "users")) == (5, 0)
    found = target.find_by_email([f"u{i}@b.example" for i in range(5, 30)])
    assert len(found) == 25 and fake.count("GET", "users") == 2  # one page and the empty one
    target.find_by_email(["nobody@b.example"])  # listed: known absent without a call
    assert fake.count("GET", "users/search") == 5 and fake.count("GET", "users") == 2


def test_a_search_page_full_of_near_matches_lists_every_user(
    fake: FakeZammad, clock: Clock
) -> None:
    fake.elasticsearch = True  # a match of words: every Doe at b.example has doe, b, example
    for i in range(150):
        fake.customer(f"j{i}@b.example", firstname="John", lastname="Doe")
    fake.customer("doe@b.example")
    found = client(fake, clock).find_by_email(["doe@b.example"])
    assert list(found) == ["doe@b.example"] and fake.count("GET", "users") == 2


def test_bound_users_are_read_by_id_a_few_at_a_time_or_listed(
    fake: FakeZammad, clock: Clock
) -> None:
    ids = [str(fake.customer(f"u{i}@b.example")["id"]) for i in range(60)]
    target = client(fake, clock)
    assert set(target.find_by_id([*ids[:3], "99999"])) == set(ids[:3])  # gone: left out
    assert fake.count("GET", "users/") == 4 and fake.count("GET", "users") == 0
    assert set(target.find_by_id(ids)) == set(ids) and fake.count("GET", "users") == 2
    assert target.find_by_id(["2"])["2"].email == "admin@example.com"  # found, never written


def test_retry_after_in_seconds_or_as_a_date() -> None:
    from email.utils import format_datetime

    from azsyncd.targets.zammad.api import retry_after

    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    assert retry_after(httpx.Response(429, headers={"Retry-After": "7"})) == 7.0
    assert 80 < (retry_after(httpx.Response(429, headers={"Retry-After": later})) or 0) <= 90
    assert retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None
    assert retry_after(httpx.Response(429)) is None
