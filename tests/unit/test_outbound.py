"""Outside calls always end: by their deadline, or at once when the daemon stops; and their
errors say what happened to which host. Real sockets on 127.0.0.1 throughout."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from azsyncd import outbound, stop
from azsyncd.errors import Interrupted, NetworkError
from tests.fakes.raw_http import dripping, fixed, read_request, serve_raw, tunnel
from tests.fakes.servers import serve, tls_for_localhost
from tests.helpers import within

TIMEOUT = httpx.Timeout(30.0, connect=5.0)


@pytest.fixture
def drip() -> Iterator[int]:
    stopped = threading.Event()
    with serve_raw(dripping(0.3, stopped)) as (port, _):
        yield port
    stopped.set()


def test_a_dripping_answer_ends_at_the_call_deadline(drip: int) -> None:
    client = outbound.client(deadline=1.5, timeout=TIMEOUT)
    started = time.monotonic()
    with pytest.raises(NetworkError, match=r"no complete answer within 1\.5 s") as caught:
        client.get(f"http://127.0.0.1:{drip}/users")
    assert caught.value.timeout and caught.value.kind == "ReadTimeout"
    assert not caught.value.lasting  # a retry may do better
    assert 1.4 < time.monotonic() - started < 3.0  # each byte came well within the read timeout


def test_a_stop_ends_a_call_mid_answer_within_a_fraction_of_a_second(drip: int) -> None:
    client = outbound.client(deadline=600, timeout=TIMEOUT)
    event = threading.Event()
    threading.Timer(0.5, event.set).start()
    started = time.monotonic()
    with stop.watching(event), pytest.raises(Interrupted):
        client.get(f"http://127.0.0.1:{drip}/users")
    assert time.monotonic() - started < 1.5


def test_a_stop_reaches_threads_that_carry_the_flag() -> None:
    event = threading.Event()
    outcome: list[str] = []

    def work() -> None:
        try:
            stop.sleep(30)
            outcome.append("slept")
        except Interrupted:
            outcome.append("interrupted")

    with stop.watching(event):
        worker = threading.Thread(target=stop.carry(work))
    worker.start()
    event.set()
    worker.join(within(5))
    assert outcome == ["interrupted"]
    stop.sleep(0.01)  # outside a run: a plain wait
    assert not stop.requested()


def test_a_refused_connection_names_the_host_and_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nobody listens once it is closed
    with pytest.raises(NetworkError, match=rf"cannot connect to 127\.0\.0\.1:{port} ") as caught:
        outbound.client(deadline=5, timeout=TIMEOUT).get(f"http://127.0.0.1:{port}/")
    assert caught.value.code == "unreachable" and "firewall" in caught.value.fix


def test_an_unknown_host_says_the_name_did_not_resolve() -> None:
    with pytest.raises(
        NetworkError, match=r"cannot resolve the host graph\.nowhere\.invalid"
    ) as caught:
        outbound.client(deadline=5, timeout=TIMEOUT).get("https://graph.nowhere.invalid/")
    assert caught.value.code == "dns" and caught.value.host == "graph.nowhere.invalid"


def _ok(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b"{}"]


def test_an_untrusted_certificate_says_so_and_a_trusted_one_works(tmp_path: Path) -> None:
    tls, ca = tls_for_localhost(tmp_path)
    with serve(_ok, tls) as port:
        url = f"https://localhost:{port}/"
        with pytest.raises(
            NetworkError, match=r"TLS certificate of localhost was not trusted"
        ) as caught:
            outbound.client(deadline=5, timeout=TIMEOUT).get(url)
        assert caught.value.code == "tls_untrusted" and caught.value.lasting
        trusting = ssl.create_default_context(cafile=str(ca))
        answer = outbound.client(ssl_context=trusting, deadline=5, timeout=TIMEOUT).get(url)
        assert answer.json() == {}


def test_connections_are_kept_and_reused() -> None:
    answered: list[int] = []

    def answer(conn: socket.socket) -> None:
        while read_request(conn):
            answered.append(1)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")

    with serve_raw(answer) as (port, accepted):
        client = outbound.client(deadline=5, timeout=TIMEOUT)
        for _ in range(3):
            assert client.get(f"http://127.0.0.1:{port}/").json() == {}
        client.close()
    assert len(answered) == 3 and len(accepted) == 1


def test_an_environment_proxy_is_used_unless_no_proxy_names_the_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[bytes] = []

    def proxy(conn: socket.socket) -> None:
        seen.append(read_request(conn).split(b"\r\n")[0])
        conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\n"proxied"')

    with serve_raw(proxy) as (port, _), serve_raw(fixed(200, b'"direct"')) as (direct, _):
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("no_proxy", "localhost")
        client = outbound.client(deadline=5, timeout=TIMEOUT)
        assert client.get("http://helpdesk.example/api/").json() == "proxied"
        assert client.get(f"http://localhost:{direct}/").json() == "direct"
    assert seen == [b"GET http://helpdesk.example/api/ HTTP/1.1"]


def test_https_goes_through_an_environment_proxy_as_a_tunnel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tls, ca = tls_for_localhost(tmp_path)
    seen: list[str] = []
    with serve(_ok, tls) as port, serve_raw(tunnel(seen)) as (proxy, _):
        monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{proxy}")
        trusting = ssl.create_default_context(cafile=str(ca))
        client = outbound.client(ssl_context=trusting, deadline=5, timeout=TIMEOUT)
        assert client.get(f"https://localhost:{port}/").json() == {}
    assert seen == [f"CONNECT localhost:{port}"]


@pytest.mark.parametrize(
    "body, content_type, says",
    [
        (
            b"<html><title>502 Bad Gateway</title></html>",
            "text/html",
            "an HTML page instead of JSON ('502 Bad Gateway')",
        ),
        (b'{"value": [{"id": "u1"', "application/json", "JSON that is cut short or broken"),
        (b"", "application/json", "an empty answer instead of JSON"),
        (b"OK", "text/plain", "text instead of JSON ('OK')"),
    ],
)
def test_what_came_instead_of_json_is_named(body: bytes, content_type: str, says: str) -> None:
    with serve_raw(fixed(200, body, content_type)) as (port, _):
        response = outbound.client(deadline=5, timeout=TIMEOUT).get(f"http://127.0.0.1:{port}/")
    with pytest.raises(outbound.BadAnswer) as caught:
        outbound.json_of(response)
    assert says in str(caught.value)
