"""HappyFox's client against the fake HappyFox: its limits, faults and costs. (What every
target does is the contract in tests/contract/targets/.)"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from azsyncd.targets import ContactWrite, Phone
from azsyncd.targets.happyfox.client import HappyFox, limiter_for
from tests.contract.targets import new
from tests.fakes.happyfox import FakeHappyFox
from tests.fakes.servers import serve


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


def test_group_calls_go_100_at_a_time_and_the_group_is_created_once() -> None:
    clock = Clock()
    fake = FakeHappyFox(clock)
    client = happyfox_client(fake, clock)
    written = [r.id for r in client.write([new(client, f"u{i}@example.com") for i in range(100)])]
    written += [r.id for r in client.write([new(client, f"v{i}@example.com") for i in range(50)])]
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


def test_an_address_change_goes_to_the_contact_by_id_and_the_rest_in_bulk(
    fake_and_client: tuple[FakeHappyFox, HappyFox, Clock],
) -> None:
    fake, client, _ = fake_and_client
    written = client.write([new(client, f"u{i}@example.com") for i in range(3)])
    contacts = client.find_by_id([r.id for r in written])
    before = len(fake.calls)
    moved = [
        ContactWrite(
            c.email.replace("@", ".new@") if n == 1 else c.email,
            f"Renamed {n}",
            c.phones,
            {},
            existing=c,
        )
        for n, c in enumerate(contacts[r.id] for r in written)
    ]
    results = client.write(moved)
    assert [r.id for r in results] == [r.id for r in written] and all(r.ok for r in results)
    posts = [path for method, path, _ in fake.calls[before:] if method == "POST"]
    assert posts == [f"/api/1.1/json/user/{written[1].id}/", "/api/1.1/json/users/"]
    assert fake.contacts[int(written[1].id)]["email"] == "u1.new@example.com"
    assert len(fake.contacts) == 3 and max(fake.created.values()) == 1


def test_finding_by_id_searches_a_few_and_lists_many(
    fake_and_client: tuple[FakeHappyFox, HappyFox, Clock],
) -> None:
    fake, client, _ = fake_and_client
    ids: list[str] = []
    for start in range(0, 500, 100):
        batch = [
            ContactWrite(f"user{i}@example.com", "U", [], {}) for i in range(start, start + 100)
        ]
        ids += [r.id for r in client.write(batch)]

    def gets() -> int:
        return sum(1 for method, _, _ in fake.calls if method == "GET")

    before = gets()
    assert set(client.find_by_id([*ids[:3], "424242"])) == set(ids[:3])
    assert gets() - before == 4  # one GET /user/<id>/ each, a missing one answered 404
    before = gets()
    assert len(client.find_by_id(ids)) == 500
    assert gets() - before == 10  # the account listed once, 50 a page
    contact = client.find_by_id([ids[0]])[ids[0]]
    client.write([ContactWrite("moved@example.com", "U", [], {}, existing=contact)])
    before = gets()
    assert client.find_by_id([ids[0]])[ids[0]].email == "moved@example.com"
    assert client.find_by_email(["user0@example.com"]) == {}
    assert gets() == before  # the listing follows the client's own writes
