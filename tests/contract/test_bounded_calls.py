"""Every outside call is bounded: one budget of time for all its tries, a POST that timed
out tried once more at most, and no answer larger than its cap, over real HTTP on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from azsyncd.directory import transport
from azsyncd.directory.client import GraphClient
from azsyncd.errors import GraphError, TargetError
from azsyncd.targets.happyfox import client as happyfox
from azsyncd.targets.happyfox.client import HappyFox, limiter_for
from tests.fakes.happyfox import FakeHappyFox
from tests.fakes.raw_http import read_request, serve_raw
from tests.fakes.servers import serve
from tests.helpers import Deadline, within


def client(url: str, **kwargs: Any) -> HappyFox:
    return HappyFox(url, "key", "code", limiter=limiter_for(0.9), sleep=lambda s: None, **kwargs)


class Slow:
    """Answers every request only after ``seconds``: each try times out."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.calls: list[str] = []

    def __call__(self, environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        self.calls.append(environ["REQUEST_METHOD"])
        time.sleep(self.seconds)
        start("200 OK", [("Content-Type", "application/json")])
        return [b"[]"]


def test_a_post_that_times_out_is_tried_once_more_and_a_get_until_its_tries_are_spent() -> None:
    slow = Slow(1.5)
    with serve(slow) as port:
        hf = client(f"http://127.0.0.1:{port}", timeout=0.3)
        hf._field_ids = []  # no field list needed to write
        started = time.monotonic()
        [result] = hf.write([happyfox.ContactWrite("a@x.test", "A", [], {})])
        assert not result.ok and "did not answer POST users/ after 2 tries" in result.error
        assert slow.calls == ["POST", "POST"]
        with pytest.raises(TargetError, match="did not answer GET user_custom_fields/ after 5"):
            hf.fields()
        assert slow.calls[2:] == ["GET"] * 5
        assert time.monotonic() - started < 10
        hf.close()


def test_a_dripping_answer_ends_with_the_call_s_budget_tries_included() -> None:
    fake = FakeHappyFox(time.monotonic)
    fake.drip, fake.drip_every = b"@x.test", 0.2
    with serve(fake) as port:
        hf = client(f"http://127.0.0.1:{port}", deadline=2.0)
        hf._field_ids = []
        started, limit = time.monotonic(), Deadline(4)
        [result] = hf.write([happyfox.ContactWrite("a@x.test", "A", [], {})])
        took = time.monotonic() - started
        assert not result.ok and "of a 2 s budget" in result.error
        assert took > 1.9 and not limit.passed(), took  # 4 s on an idle machine
        assert len(fake.dripped) == 1  # no time was left for another try
        hf.close()


def test_an_answer_over_the_cap_fails_the_call_without_being_held(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(happyfox, "MAX_ANSWER", 4096)
    fake = FakeHappyFox(time.monotonic)
    with serve(fake) as port:
        hf = client(f"http://127.0.0.1:{port}")
        hf._field_ids = []
        batch = [happyfox.ContactWrite(f"u{i}@x.test", f"User {i}", [], {}) for i in range(60)]
        assert all(r.ok for r in hf.write(batch))  # each answer is small
        with pytest.raises(TargetError) as caught:
            hf.iter_contacts().__next__()  # a page of 50 contacts is not
        assert "answered with more than 4096 bytes" in caught.value.message
        assert "check the URL" in caught.value.fix
        hf.close()


def test_graph_refuses_an_answer_that_says_it_is_over_the_cap_at_once() -> None:
    stopped = threading.Event()

    def huge(conn: socket.socket) -> None:
        """Announces a 6 GB answer, sends a byte of it, then waits."""
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6000000000\r\n\r\n{")
        stopped.wait(within(5))

    with serve_raw(huge) as (port, _):
        http = transport.make_http()
        graph = GraphClient(http, f"http://127.0.0.1:{port}", lambda: "token")
        started = time.monotonic()
        with pytest.raises(GraphError) as caught:
            graph.get("/users")
        assert caught.value.code == "too_large" and "more than 50 MB" in caught.value.message
        assert time.monotonic() - started < 2  # not read, not waited for
        http.close()
        stopped.set()


# --- every help desk's client: one call loop (targets/http_calls.py) ----------------------


def desk_client(kind: str, url: str, **kwargs: Any) -> Any:
    """``kind``'s client at ``url``, never pausing between tries; ``kwargs`` (timeout,
    deadline) as its constructor takes them."""
    from azsyncd.targets.freshservice.api import FreshserviceAPI
    from azsyncd.targets.ratelimit import RateLimiter
    from azsyncd.targets.zammad.api import ZammadApi
    from azsyncd.targets.zendesk.http import ZendeskHttp

    quick = {"sleep": lambda s: None}
    if kind == "happyfox":
        return client(url, **kwargs)
    if kind == "zendesk":
        limits = RateLimiter({"call": 1000})
        return ZendeskHttp(url, "a@x.test", "token", limiter=limits, **quick, **kwargs)
    if kind == "freshservice":
        limits = RateLimiter({"total": 1000, "list": 1000})
        return FreshserviceAPI(url, "key", limiter=limits, **quick, **kwargs)
    budget = {"budget": kwargs.pop("deadline")} if "deadline" in kwargs else {}
    limits = RateLimiter({"call": 1000})
    return ZammadApi(url, "token", limiter=limits, **quick, **kwargs, **budget)


def desk_call(desk: Any, method: str, path: str, **kwargs: Any) -> Any:
    return (desk._call if isinstance(desk, HappyFox) else desk.call)(method, path, **kwargs)


DESKS = ["happyfox", "zendesk", "freshservice", "zammad"]


WRITES = [(kind, method) for kind in DESKS for method in ("POST", "PUT") if kind != "happyfox"]


@pytest.mark.parametrize(("kind", "method"), [("happyfox", "POST"), *WRITES])
def test_every_desk_tries_a_write_that_timed_out_once_more_at_most(kind: str, method: str) -> None:
    """A write that timed out may have been done: a second try at most, whichever the desk
    (Freshservice tried a PUT, Zammad any write, until its tries were spent). HappyFox
    writes with POST only."""
    slow = Slow(1.5)
    with serve(slow) as port:
        desk = desk_client(kind, f"http://127.0.0.1:{port}", timeout=0.3)
        started = time.monotonic()
        with pytest.raises(TargetError, match=f"did not answer {method} .* after 2 tries"):
            desk_call(desk, method, "users/1", json={})
        assert slow.calls == [method] * 2 and time.monotonic() - started < 5
        desk.close()


class LateFailure(Slow):
    """Answers every request 503 after ``seconds``."""

    def __call__(self, environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        self.calls.append(environ["REQUEST_METHOD"])
        time.sleep(self.seconds)
        start("503 Service Unavailable", [("Content-Type", "application/json")])
        return [b"{}"]


@pytest.mark.parametrize("kind", DESKS)
def test_every_desk_ends_a_call_within_its_budget_tries_included(kind: str) -> None:
    """Tries and pauses share one budget: after a late 503 that left too little of it for a
    pause and another try, the call ends (Freshservice tried again with a whole deadline)."""
    late = LateFailure(1.6)
    with serve(late) as port:
        desk = desk_client(kind, f"http://127.0.0.1:{port}", timeout=30, deadline=2.0)
        started = time.monotonic()
        with pytest.raises(TargetError, match=r"after 1 try .* of a 2 s budget"):
            desk_call(desk, "GET", "users")
        assert time.monotonic() - started < 2.5 and late.calls == ["GET"]
        desk.close()


@pytest.mark.parametrize("kind", DESKS)
def test_every_desk_refuses_an_answer_over_its_cap(kind: str) -> None:
    """No desk holds an answer larger than its cap (Freshservice and Zammad had none)."""
    stopped = threading.Event()

    def huge(conn: socket.socket) -> None:
        """Announces a 6 GB answer, sends a byte of it, then waits."""
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6000000000\r\n\r\n{")
        stopped.wait(within(5))

    with serve_raw(huge) as (port, _):
        desk = desk_client(kind, f"http://127.0.0.1:{port}")
        started = time.monotonic()
        with pytest.raises(TargetError) as caught:
            desk_call(desk, "GET", "users")
        assert "answered with more than 20 MB" in caught.value.message
        assert "check the URL" in caught.value.fix
        assert time.monotonic() - started < 2  # not read, not waited for
        desk.close()
        stopped.set()
