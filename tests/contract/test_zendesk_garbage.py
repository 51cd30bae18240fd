"""The Zendesk target against garbage and against every value: answers of shapes Zendesk does
not document are errors saying what came; a value mapping accepts is one Zendesk accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from azsyncd.state import open_database
from azsyncd.targets.fields import FieldType, convert
from azsyncd.targets.ratelimit import RateLimiter
from azsyncd.targets.zendesk.http import KIND, ZendeskHttp
from azsyncd.targets.zendesk.jobs import aligned
from azsyncd.targets.zendesk.target import Zendesk
from azsyncd.targets.zendesk.users import field_from
from tests.contract.zendesk_setup import Clock, user
from tests.fakes.zendesk import USER_FIELDS, FakeZendesk
from tests.helpers import within


def answering(tmp_path: Path, answer: Any) -> Zendesk:
    """A client whose every call gets ``answer`` (an httpx.Response, or a function of the
    request giving one)."""
    clock = Clock()

    def handle(request: httpx.Request) -> httpx.Response:
        return answer(request) if callable(answer) else answer

    http = ZendeskHttp(
        "https://acme.zendesk.com",
        "admin@acme.example",
        "token",
        limiter=RateLimiter({KIND: 1000}, clock=clock, sleep=clock.sleep),
        transport=httpx.MockTransport(handle),
        sleep=clock.sleep,
    )
    return Zendesk(http, open_database("", tmp_path), clock=clock)


@pytest.mark.parametrize(
    "answer, said",
    [
        (httpx.Response(200, text="<html><title>Help Center</title></html>"), "an HTML page"),
        (httpx.Response(200, text='{"user_fields": [1, 2'), "JSON that is cut short"),
        (httpx.Response(200, json={"user_fields": "many"}), "user_fields is 'many'"),
        (httpx.Response(200, json=[1, 2]), "cannot read"),
        (httpx.Response(200, json={"user_fields": [{"title": "no key"}]}), "without a key"),
        (httpx.Response(404, json={"error": "InvalidEndpoint"}), "HTTP 404"),
    ],
)
def test_garbage_where_fields_are_expected_is_named(
    tmp_path: Path, answer: httpx.Response, said: str
) -> None:
    from azsyncd.errors import TargetError

    with pytest.raises(TargetError, match="Zendesk") as caught:
        answering(tmp_path, answer).fields()
    assert said in caught.value.message


def test_a_cursor_that_does_not_move_is_an_error_not_a_loop(tmp_path: Path) -> None:
    from azsyncd.errors import TargetError

    page = {"users": [], "meta": {"has_more": True, "after_cursor": "same"}}
    zd = answering(tmp_path, httpx.Response(200, json=page))
    with pytest.raises(TargetError, match="do not move on"):
        list(zd.iter_contacts())


def test_a_job_answer_of_another_shape_fails_its_users_with_what_came(tmp_path: Path) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("user_fields") or path.endswith("time_zones") or path.endswith("locales"):
            key = path.rsplit("/", 1)[1]
            return httpx.Response(200, json={key: []})
        if "role" in str(request.url):
            return httpx.Response(200, json={"users": [], "meta": {"has_more": False}})
        return httpx.Response(200, json={"job": "queued"})

    results = answering(tmp_path, handle).write([user(1), user(2)])
    assert [r.ok for r in results] == [False, False]
    assert "cannot read" in results[0].error and "job" in results[0].error


@given(
    results=st.lists(
        st.one_of(
            st.none(),
            st.integers(),
            st.text(max_size=3),
            st.fixed_dictionaries(
                {"id": st.integers(0, 9), "status": st.sampled_from(["Created", "Failed"])}
            ),
            st.fixed_dictionaries({"index": st.integers(-2, 12), "id": st.integers()}),
        ),
        max_size=15,
    ),
    total=st.integers(0, 10),
)
def test_job_results_always_give_one_slot_per_row(results: list[Any], total: int) -> None:
    rows = aligned(results, total)
    assert len(rows) == total and all(r is None or isinstance(r, dict) for r in rows)


FIELDS = [
    f
    for f in (field_from(FakeZendesk(Clock())._field(i, s)) for i, s in enumerate(USER_FIELDS))
    if f
]
WRITABLE = [f for f in FIELDS if f.type is not FieldType.UNKNOWN]
directory_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9),
    st.text(max_size=20),
    st.sampled_from(
        ["B-0042", "London", "english; GERMAN", "2024-02-29T10:00:00Z", "12,5", "yes", "7.0"]
    ),
)


@settings(max_examples=300, deadline=None)
@given(index=st.integers(0, len(WRITABLE) - 1), value=directory_values)
def test_a_value_mapping_accepts_is_one_zendesk_accepts(index: int, value: Any) -> None:
    """What ``convert`` lets through for a user field, the fake (following Zendesk's rules for
    each type) never refuses: failures are found at mapping, with a reason, not by Zendesk."""
    field = WRITABLE[index]
    try:
        converted = convert(field, value)
    except ValueError:
        return
    assert FAKE._field_problem(field.id, converted) == ""


FAKE = FakeZendesk(Clock())


def test_the_fake_runs_as_a_process_of_its_own_as_the_benchmark_runs_it() -> None:
    import subprocess
    import sys

    from bench import zendesk as bench_zendesk

    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.zendesk", "60", "no-bulk", "per-minute=50"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=bench_zendesk.ROOT,
    )
    try:
        assert proc.stdout is not None
        base = f"http://127.0.0.1:{int(proc.stdout.readline())}/api/v2"
        with httpx.Client(auth=("admin@acme.example/token", "token"), timeout=10) as http:
            refused = http.post(f"{base}/users/create_or_update_many", json={"users": [{}]})
            assert refused.status_code == 403 and refused.headers["X-Rate-Limit"] == "50"
            assert http.get(f"{base}/users/count.json").json()["count"]["value"] == 2
            assert http.get(f"{base}/__stats__").json()["calls_per_minute"] == 50
    finally:
        proc.terminate()
        proc.wait(within(10))


def test_a_write_that_times_out_is_tried_once_more_and_a_read_until_its_tries_are_spent(
    tmp_path: Path,
) -> None:
    import time

    from azsyncd.errors import TargetError
    from tests.contract.test_bounded_calls import Slow
    from tests.fakes.servers import serve

    slow = Slow(1.5)
    with serve(slow) as port:
        http = ZendeskHttp(
            f"http://127.0.0.1:{port}",
            "admin@acme.example",
            "token",
            limiter=RateLimiter({KIND: 1000}),
            sleep=lambda s: None,
            timeout=0.3,
        )
        started = time.monotonic()
        with pytest.raises(TargetError, match="did not answer POST users/create_or_update after 2"):
            http.call("POST", "users/create_or_update", json={"user": {}})
        assert slow.calls == ["POST", "POST"]
        with pytest.raises(TargetError, match="did not answer GET user_fields after 5 tries"):
            http.get("user_fields")
        assert slow.calls[2:] == ["GET"] * 5 and time.monotonic() - started < 10
        http.close()


def test_an_answer_over_the_cap_fails_the_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from azsyncd.errors import TargetError
    from azsyncd.targets.zendesk import http as zendesk_http
    from tests.fakes.servers import serve

    monkeypatch.setattr(zendesk_http, "MAX_ANSWER", 4096)
    fake = FakeZendesk(time.monotonic)
    for n in range(100):
        fake.add_end_user(f"User {n}", f"u{n}@example.com")
    with serve(fake) as port:
        http = ZendeskHttp(
            f"http://127.0.0.1:{port}",
            "admin@acme.example",
            "token",
            limiter=RateLimiter({KIND: 1000}),
        )
        assert http.get("users/count")["count"]["value"] == 102  # a small answer passes
        with pytest.raises(TargetError, match="answered with more than 4096 bytes"):
            list(http.pages("users", "users"))
        http.close()
