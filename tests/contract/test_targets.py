"""One contract for every target (the built-in store, HappyFox, and a throwaway target
registered from tests/), then HappyFox's limits and faults against the fake."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from azsyncd.config import file as config_file
from azsyncd.state import open_database
from azsyncd.targets import ContactWrite, Phone, Target, registry
from azsyncd.targets.factory import build_target
from azsyncd.targets.groups import ContactGroups
from azsyncd.targets.happyfox.client import HappyFox, limiter_for
from azsyncd.targets.local.settings import LocalField
from azsyncd.targets.local.store import LocalStore
from azsyncd.targets.local.table import Contact
from tests.fakes import memory_target
from tests.fakes.happyfox import FakeHappyFox
from tests.fakes.servers import serve
from tests.helpers import write_config


class Clock:
    """Virtual time: sleeping advances it, so ten-minute locks take no real time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def happyfox_client(fake: FakeHappyFox, clock: Clock, **kwargs: Any) -> HappyFox:
    return HappyFox(
        "https://acme.happyfox.com",
        "key",
        "code",
        limiter=limiter_for(0.9, clock, clock.sleep),
        transport=httpx.WSGITransport(app=fake),
        sleep=clock.sleep,
        **kwargs,
    )


@pytest.fixture
def memory_book(tmp_path: Path) -> Iterator[Path]:
    """The throwaway target registered, and a config file that selects it."""
    (tmp_path / "token").write_text("memory-token-value")
    (tmp_path / "token").chmod(0o600)
    config = write_config(
        tmp_path,
        f"""
        [target]
        kind = "memory"
        [target.memory]
        book = "{tmp_path.name}"
        token_file = "token"
    """,
    )
    with registry.registered(memory_target.TARGET):
        yield config
    memory_target.BOOKS.pop(tmp_path.name, None)


@pytest.fixture(params=["local", "happyfox", "memory"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    if request.param == "memory":
        # Through the configuration and the factory, as a sync builds it.
        loaded = config_file.load(request.getfixturevalue("memory_book"), check_files=True)
        built = build_target(loaded.config, loaded.directory, open_database("", tmp_path))
        assert isinstance(built, memory_target.MemoryTarget)
        yield built
    elif request.param == "local":
        yield LocalStore(
            [
                LocalField(name="Department"),
                LocalField(name="Employee ID", type="number"),
                LocalField(name="Office", type="dropdown", choices=["Berlin", "London"]),
                LocalField(name="Notes"),
            ],
            open_database("", tmp_path),
        )
    else:
        clock = Clock()
        client = happyfox_client(FakeHappyFox(clock), clock)
        yield client
        client.close()


def ids(target: Target) -> dict[str, Any]:
    return {f.name: f for f in target.fields()}


def contact(email: str, target: Target, **custom: Any) -> ContactWrite:
    fields = ids(target)
    return ContactWrite(
        email=email,
        name=email.split("@")[0].title(),
        phones=[Phone("w", "+1 555 0100")],
        custom={fields[name].id: value for name, value in custom.items()},
    )


def test_fields_have_types_and_choices(target: Target) -> None:
    fields = ids(target)
    assert fields["Department"].type == "text" and fields["Employee ID"].type == "number"
    assert fields["Office"].type == "dropdown" and [c.label for c in fields["Office"].choices] == [
        "Berlin",
        "London",
    ]


def test_create_then_find_by_email_case_insensitively(target: Target) -> None:
    results = target.write(
        [contact("Ann@Example.com", target, Department="Sales"), contact("bob@example.com", target)]
    )
    assert all(r.ok and r.id for r in results)
    found = target.find_by_email(["ann@EXAMPLE.com", "nobody@example.com"])
    assert list(found) == ["ann@example.com"]
    assert (
        found["ann@example.com"].name == "Ann"
        and found["ann@example.com"].phones[0].number == "+1 555 0100"
    )
    assert sorted(c.email for c in target.iter_contacts()) == ["ann@example.com", "bob@example.com"]


def test_a_partial_update_keeps_every_other_custom_field(target: Target) -> None:
    fields = ids(target)
    berlin = fields["Office"].choices[0].id
    target.write(
        [
            contact(
                "ann@example.com",
                target,
                Department="Sales",
                Notes="VIP, call first",
                Office=berlin,
            )
        ]
    )
    existing = target.find_by_email(["ann@example.com"])["ann@example.com"]
    update = ContactWrite(
        email="ann@example.com",
        name="Ann Lee",
        phones=existing.phones,
        custom={fields["Department"].id: "Support"},
        existing=existing,
    )
    assert target.write([update])[0].ok
    after = target.find_by_email(["ann@example.com"])["ann@example.com"]
    assert after.name == "Ann Lee"
    assert after.custom[fields["Department"].id] == "Support"
    assert after.custom[fields["Notes"].id] == "VIP, call first"
    assert str(after.custom[fields["Office"].id]) == str(berlin)


def test_a_bad_value_fails_only_its_contact_with_a_readable_reason(target: Target) -> None:
    results = target.write(
        [
            contact("ann@example.com", target, **{"Employee ID": "A-123"}),
            contact("bob@example.com", target, **{"Employee ID": 42}),
        ]
    )
    assert [r.ok for r in results] == [False, True]
    assert "Employee ID" in results[0].error and "number" in results[0].error
    assert list(target.find_by_email(["ann@example.com", "bob@example.com"])) == ["bob@example.com"]


def test_mark_synced(target: Target) -> None:
    result = target.write([contact("ann@example.com", target)])[0]
    target.mark_synced("Contoso", [result.id])
    if isinstance(target, HappyFox):
        fake: FakeHappyFox = target._http._transport.app  # type: ignore[attr-defined]
        assert [(g["name"], g["contacts"]) for g in fake.groups.values()] == [
            ("Microsoft Entra ID: Contoso", {int(result.id): False})
        ]
        target.mark_synced("Contoso", [result.id])  # the group is found, not created twice
        assert len(fake.groups) == 1
    elif isinstance(target, memory_target.MemoryTarget):
        assert target.book.marks == {"Contoso": [result.id]}
    else:
        from azsyncd.targets.local.table import Contact

        assert Contact.get_by_id(int(result.id)).source_tenant == "Contoso"


# --- HappyFox only ---------------------------------------------------------------------


@pytest.fixture
def fake_and_client() -> Iterator[tuple[FakeHappyFox, HappyFox, Clock]]:
    clock = Clock()
    fake = FakeHappyFox(clock)
    client = happyfox_client(fake, clock)
    yield fake, client, clock
    client.close()


def test_5000_contacts_take_50_bulk_calls_under_the_post_limit(
    fake_and_client: tuple[FakeHappyFox, HappyFox, Clock],
) -> None:
    fake, client, _clock = fake_and_client
    emails = [f"user{i}@example.com" for i in range(5000)]
    client.fields()
    for start in range(0, 5000, 100):
        results = client.write([ContactWrite(e, e, [], {}) for e in emails[start : start + 100]])
        assert all(r.ok for r in results)
    assert fake.post_calls("users/") == 50
    assert len(fake.contacts) == 5000
    assert fake.locked_until == 0.0


def test_the_limiter_holds_a_burst_under_the_limits(
    fake_and_client: tuple[FakeHappyFox, HappyFox, Clock],
) -> None:
    fake, client, clock = fake_and_client
    for _ in range(1200):
        client.fields()
    times = [t for method, _, t in fake.calls if method == "GET"]
    worst = max(sum(1 for u in times[i:] if u < t + 60) for i, t in enumerate(times))
    assert worst <= 450 and fake.locked_until == 0.0
    assert clock.now - 1000.0 >= 120  # 1200 calls at 450 a minute need over two minutes


def test_a_forced_429_pauses_everything_then_resumes_without_loss(
    fake_and_client: tuple[FakeHappyFox, HappyFox, Clock],
) -> None:
    fake, client, clock = fake_and_client
    waits: list[str] = []
    client.on_wait = waits.append
    client.fields()
    fake.locked_until = clock.now + 600  # someone else tripped the account's limit
    results = client.write([ContactWrite(f"u{i}@example.com", f"U{i}", [], {}) for i in range(100)])
    assert all(r.ok for r in results) and len(fake.contacts) == 100
    assert clock.now >= fake.locked_until and any(s >= 600 for s in clock.slept)
    assert waits and "429" in waits[0] and "10 min" in waits[0]
    assert sorted(c["email"] for c in fake.contacts.values()) == sorted(
        f"u{i}@example.com" for i in range(100)
    )


def test_5xx_is_retried_with_backoff(fake_and_client: tuple[FakeHappyFox, HappyFox, Clock]) -> None:
    fake, client, clock = fake_and_client
    fake.fail_next = [503, 502]
    assert client.fields()
    assert len([s for s in clock.slept if s > 0]) == 2


def test_a_5xx_that_never_ends_fails_the_batch_with_a_reason(
    fake_and_client: tuple[FakeHappyFox, HappyFox, Clock],
) -> None:
    fake, client, _clock = fake_and_client
    client.fields()
    fake.fail_next = [503] * 10
    results = client.write([ContactWrite("ann@example.com", "Ann", [], {})])
    assert not results[0].ok and "after 5 tries" in results[0].error


def test_an_error_body_on_a_2xx_is_a_failure(
    fake_and_client: tuple[FakeHappyFox, HappyFox, Clock],
) -> None:
    fake, client, _ = fake_and_client
    client.fields()
    fake.fail_next = [200]  # the fake answers {"error": "injected"} with a 200
    results = client.write([ContactWrite("ann@example.com", "Ann", [], {})])
    assert not results[0].ok and "injected" in results[0].error and not fake.contacts


def test_validation_errors_become_readable_reasons(
    fake_and_client: tuple[FakeHappyFox, HappyFox, Clock],
) -> None:
    _, client, _ = fake_and_client
    results = client.write([ContactWrite("ann@example.com", "", [], {"2": "A-123", "3": 99})])
    assert results[0].error == (
        "name: This field is required.; Employee ID (c-cf-2): A valid number is required.; "
        "Office (c-cf-3): Select a valid choice. 99 is not one of the available choices."
    )


def test_unknown_field_types_are_kept_and_reported(
    fake_and_client: tuple[FakeHappyFox, HappyFox, Clock], caplog: pytest.LogCaptureFixture
) -> None:
    _, client, _ = fake_and_client
    badge = {f.name: f for f in client.fields()}["Badge"]
    assert (badge.type, badge.raw_type) == ("unknown", "hologram")
    assert "hologram" in caplog.text


def test_wrong_credentials_say_which_files_to_check() -> None:
    clock = Clock()
    client = HappyFox(
        "https://acme.happyfox.com",
        "wrong",
        "code",
        limiter=limiter_for(0.9, clock, clock.sleep),
        transport=httpx.WSGITransport(app=FakeHappyFox(clock)),
        sleep=clock.sleep,
    )
    from azsyncd.errors import TargetError

    with pytest.raises(TargetError) as caught:
        client.fields()
    assert "401" in caught.value.message and "api_key_file" in caught.value.fix
    assert "wrong" not in str(caught.value)


def test_over_real_http_on_loopback() -> None:
    import time

    fake = FakeHappyFox(time.monotonic)
    with serve(fake) as port:
        client = HappyFox(f"http://127.0.0.1:{port}", "key", "code", limiter=limiter_for(0.9))
        fields = {f.name: f for f in client.fields()}
        first = client.write(
            [
                ContactWrite(
                    "ann@example.com",
                    "Ann",
                    [Phone("mo", "+49 30 1")],
                    {fields["Notes"].id: "keep me"},
                )
            ]
        )
        assert first[0].ok
        existing = client.find_by_email(["ann@example.com"])["ann@example.com"]
        client.write(
            [
                ContactWrite(
                    "ann@example.com",
                    "Ann B",
                    [Phone("mo", "+49 30 2")],
                    {fields["Department"].id: "IT"},
                    existing=existing,
                )
            ]
        )
        after = client.find_by_email(["ann@example.com"])["ann@example.com"]
        assert (
            after.custom[fields["Notes"].id] == "keep me"
            and after.custom[fields["Department"].id] == "IT"
        )
        assert after.phones[0].id == existing.phones[0].id  # the phone was edited, not added
        client.close()


def test_parallel_marking_creates_the_group_once(
    fake_and_client: tuple[FakeHappyFox, HappyFox, Clock],
) -> None:
    fake, client, _ = fake_and_client
    ids = [
        r.id
        for r in client.write(
            [ContactWrite(f"u{i}@example.com", f"U{i}", [], {}) for i in range(40)]
        )
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(
            pool.map(
                lambda chunk: client.mark_synced("Contoso", chunk),
                [ids[i : i + 5] for i in range(0, 40, 5)],
            )
        )
    assert len(fake.groups) == 1 and sorted(next(iter(fake.groups.values()))["contacts"]) == sorted(
        int(i) for i in ids
    )


def groups_and_login(target: Target, contact_id: str) -> tuple[dict[str, bool], bool]:
    """The contact's groups (name -> access_tickets) and whether its login is on, as stored."""
    if isinstance(target, HappyFox):
        fake: FakeHappyFox = target._http._transport.app  # type: ignore[attr-defined]
        groups = {
            g["name"]: g["contacts"][int(contact_id)]
            for g in fake.groups.values()
            if int(contact_id) in g["contacts"]
        }
        return groups, fake.contacts[int(contact_id)]["login"]
    row = Contact.get_by_id(int(contact_id))
    return dict(row.groups), row.login_enabled


@pytest.mark.parametrize("target", ["local", "happyfox"], indirect=True)
def test_login_off_and_on_keeps_every_other_value(target: Target) -> None:
    first = target.write([contact("ann@example.com", target, Department="Sales", Notes="VIP")])[0]
    ann = target.find_by_email(["ann@example.com"])["ann@example.com"]
    off = ContactWrite(ann.email, ann.name, ann.phones, {}, existing=ann, login_enabled=False)
    assert target.write([off])[0].ok
    assert groups_and_login(target, first.id)[1] is False
    after = target.find_by_email(["ann@example.com"])["ann@example.com"]
    assert after.custom == ann.custom and after.name == ann.name  # HappyFox's reset avoided
    plain = ContactWrite(after.email, "Ann B", after.phones, {}, existing=after)
    assert target.write([plain])[0].ok
    assert groups_and_login(target, first.id)[1] is False  # an ordinary update leaves it off
    back = ContactWrite(after.email, "Ann B", after.phones, {}, existing=after, login_enabled=True)
    target.write([back])
    assert groups_and_login(target, first.id)[1] is True


@pytest.mark.parametrize("target", ["local", "happyfox"], indirect=True)
def test_contact_groups_add_remove_and_leave_others_alone(target: Target) -> None:
    assert isinstance(target, ContactGroups)
    written = target.write([contact(f"u{i}@example.com", target) for i in range(3)])
    a, b, c = (r.id for r in written)
    target.add_to_group("Sales", [a, b], True)
    target.add_to_group("Unmanaged", [c], False)
    target.remove_from_group("Sales", [b])
    target.remove_from_group("Nobody made this group", [a])  # nothing to do, nothing created
    assert groups_and_login(target, a)[0] == {"Sales": True}
    assert groups_and_login(target, b)[0] == {}
    assert groups_and_login(target, c)[0] == {"Unmanaged": False}
    if isinstance(target, HappyFox):
        fake: FakeHappyFox = target._http._transport.app  # type: ignore[attr-defined]
        assert sorted(g["name"] for g in fake.groups.values()) == ["Sales", "Unmanaged"]


def test_group_calls_go_100_at_a_time_and_the_group_is_created_once() -> None:
    clock = Clock()
    fake = FakeHappyFox(clock)
    client = happyfox_client(fake, clock)
    written = [
        r.id for r in client.write([contact(f"u{i}@example.com", client) for i in range(100)])
    ]
    written += [
        r.id for r in client.write([contact(f"v{i}@example.com", client) for i in range(50)])
    ]
    with ThreadPoolExecutor(4) as pool:  # parallel workers find one group, not four
        list(
            pool.map(
                lambda part: client.add_to_group("Sales", part, False),
                [written[:75], written[75:]] * 2,
            )
        )
    assert len(fake.groups) == 1 and len(fake.group("Sales")) == 150
    posts = [p for m, p, _ in fake.calls if m == "POST" and p.endswith("update_contacts/")]
    assert len(posts) == 4  # 75 + 75, twice: never above 100 a call
    client.remove_from_group("Sales", written)
    deletes = [p for m, p, _ in fake.calls if p.endswith("delete_contacts/")]
    assert len(deletes) == 2 and fake.group("Sales") == {}
    client.close()


def lookups(fake: FakeHappyFox, client: HappyFox, contacts: int, chunks: list[int]) -> int:
    """GETs made to find ``chunks`` of addresses in an account of ``contacts`` contacts."""
    for start in range(0, contacts, 100):
        batch = [f"user{i}@example.com" for i in range(start, min(contacts, start + 100))]
        client.write([ContactWrite(e, e, [], {}) for e in batch])
    before = sum(1 for method, _, _ in fake.calls if method == "GET")
    asked = 0
    for size in chunks:
        emails = [f"user{i}@example.com" for i in range(asked, asked + size)]
        found = client.find_by_email(emails)
        assert set(found) == {e for e in emails if int(e[4:].split("@")[0]) < contacts}
        asked += size
    return sum(1 for method, _, _ in fake.calls if method == "GET") - before


@pytest.mark.parametrize(
    "contacts, chunks, gets",
    [
        (5000, [5], 5),  # a few changes: one search each
        (5000, [25], 1 + 25),  # a burst in a big account: the list's size, then searches,
        # not its 100 pages
        (5000, [25] * 6, 1 + 25 + 100),  # searches reach half the listing: listed once
        (500, [25], 10),  # a small account: its 10 pages beat 25 searches
        (5000, [1000, 1000, 1000], 100),  # a full sync: listed once
    ],
    ids=["few", "burst", "bursts", "small account", "full sync"],
)
def test_finding_contacts_costs_few_calls(
    fake_and_client: tuple[FakeHappyFox, HappyFox, Clock],
    contacts: int,
    chunks: list[int],
    gets: int,
) -> None:
    fake, client, _clock = fake_and_client
    client.fields()
    assert lookups(fake, client, contacts, chunks) == gets


def test_a_contact_created_after_the_listing_is_found_again(
    fake_and_client: tuple[FakeHappyFox, HappyFox, Clock],
) -> None:
    fake, client, _ = fake_and_client
    lookups(fake, client, 30, [25])  # enough addresses asked that the client lists them all
    assert client._index is not None
    [made] = client.write([ContactWrite("new@example.com", "New Hire", [], {})])
    gets = sum(1 for method, _, _ in fake.calls if method == "GET")
    found = client.find_by_email(["new@example.com", "user3@example.com", "nobody@example.com"])
    assert found["new@example.com"].id == made.id and found["new@example.com"].name == "New Hire"
    assert set(found) == {"new@example.com", "user3@example.com"}
    # One search for the new contact only; asked again, it comes from the listing.
    assert sum(1 for method, _, _ in fake.calls if method == "GET") == gets + 1
    client.find_by_email(["new@example.com"])
    assert sum(1 for method, _, _ in fake.calls if method == "GET") == gets + 1
