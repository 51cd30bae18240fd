"""HappyFox as it really behaves on the awkward edges: phone ids, answers of the wrong shape,
answers that never finish. Over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time

import pytest

from azsyncd import stop
from azsyncd.errors import Interrupted, TargetError
from azsyncd.targets import ContactWrite, Phone
from azsyncd.targets.happyfox.client import HappyFox, limiter_for
from tests.fakes.happyfox import FakeHappyFox
from tests.fakes.raw_http import dripping, fixed, serve_raw


def client(url: str, **kwargs: object) -> HappyFox:
    return HappyFox(url, "key", "code", limiter=limiter_for(0.9), **kwargs)  # type: ignore[arg-type]


def test_three_updates_in_a_row_keep_the_number_of_phones(
    happyfox: tuple[FakeHappyFox, str],
) -> None:
    fake, url = happyfox
    hf = client(url)
    phones = [Phone("mo", "+49 170 1"), Phone("w", "+49 30 1")]
    assert hf.write([ContactWrite("ann@example.com", "Ann", phones, {})])[0].ok
    for n in range(2, 5):
        existing = hf.find_by_email(["ann@example.com"])["ann@example.com"]
        assert all(isinstance(p.id, int) for p in existing.phones)  # as HappyFox gave them
        moved = [Phone("mo", f"+49 170 {n}"), Phone("w", "+49 30 1")]
        assert hf.write([ContactWrite("ann@example.com", "Ann", moved, {}, existing)])[0].ok
        stored = fake.by_email["ann@example.com"]["phones"]
        assert sorted((p["type"], p["number"]) for p in stored) == [
            ("mo", f"+49 170 {n}"),
            ("w", "+49 30 1"),
        ]
    hf.close()


def test_the_fake_adds_a_phone_for_an_id_sent_as_a_string(
    happyfox: tuple[FakeHappyFox, str],
) -> None:
    """What the trap looks like: the id as text is not HappyFox's id, so a phone is added."""
    fake, url = happyfox
    hf = client(url)
    hf.write([ContactWrite("bob@example.com", "Bob", [Phone("mo", "+1 1")], {})])
    phone_id = fake.by_email["bob@example.com"]["phones"][0]["id"]
    as_text = [Phone("mo", "+1 2", str(phone_id))]
    existing = hf.find_by_email(["bob@example.com"])["bob@example.com"]
    hf.write([ContactWrite("bob@example.com", "Bob", as_text, {}, existing)])
    assert len(fake.by_email["bob@example.com"]["phones"]) == 2
    hf.close()


@pytest.mark.parametrize(
    "status, body, says",
    [
        (200, b"<html><title>Maintenance</title></html>", "an HTML page instead of JSON"),
        (200, b'[{"id": 1, "name": "Dep', "JSON that is cut short or broken"),
        (200, b'{"fields": []}', "the field list is not a list of objects"),
        (200, b'[{"name": "no id"}]', "a custom field without an id"),
        (200, b'[{"id": 1, "choices": "Berlin"}]', "a field's choices is not a list"),
    ],
)
def test_garbage_field_definitions_are_a_readable_error(
    status: int, body: bytes, says: str
) -> None:
    with serve_raw(fixed(status, body)) as (port, _), pytest.raises(TargetError) as caught:
        client(f"http://127.0.0.1:{port}").fields()
    assert says in caught.value.message and "GET user_custom_fields/" in caught.value.message


@pytest.mark.parametrize(
    "listing, says",
    [
        ({"data": {"id": 1}}, "data is not a list of objects"),
        ({"data": [{"email": "x@example.com"}]}, "a contact without an id"),
        ({"data": [{"id": 3, "phones": "+1 555"}]}, "contact 3's phones is not a list"),
        (
            {"data": [], "page_info": {"page_count": "many"}},
            "page_info.page_count is not a number: 'many'",
        ),
        (["not", "a", "listing"], "a listing that is not an object"),
    ],
)
def test_a_garbage_contact_listing_is_a_readable_error(listing: object, says: str) -> None:
    answer = fixed(200, json.dumps(listing).encode())
    with serve_raw(answer) as (port, _), pytest.raises(TargetError) as caught:
        client(f"http://127.0.0.1:{port}").find_by_email(["x@example.com"])
    assert says in caught.value.message and "GET users/" in caught.value.message


def test_an_answer_that_drips_ends_at_the_deadline_and_fails_the_batch() -> None:
    stopped = threading.Event()
    with serve_raw(dripping(0.2, stopped)) as (port, _):
        hf = client(f"http://127.0.0.1:{port}", deadline=0.6, sleep=lambda s: None)
        hf._field_ids = []  # no need to read the fields first
        started = time.monotonic()
        results = hf.write([ContactWrite("ann@example.com", "Ann", [], {})])
        stopped.set()
    assert time.monotonic() - started < 6  # 5 tries of 0.6 s, not for ever
    assert not results[0].ok and "no complete answer within 0.6 s" in results[0].error


def test_a_stop_ends_a_write_that_drips_at_once() -> None:
    stopped, event = threading.Event(), threading.Event()
    with serve_raw(dripping(0.2, stopped)) as (port, _):
        hf = client(f"http://127.0.0.1:{port}")
        hf._field_ids = []
        threading.Timer(0.5, event.set).start()
        started = time.monotonic()
        with stop.watching(event), pytest.raises(Interrupted):
            hf.write([ContactWrite("ann@example.com", "Ann", [], {})])
        stopped.set()
    assert time.monotonic() - started < 1.5
