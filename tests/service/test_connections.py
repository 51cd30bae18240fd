"""The control socket's connections: deadlines, the cap, peer credentials, failed accepts."""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

from azsyncd.config import file as config_file
from azsyncd.service.daemon import Daemon
from azsyncd.service.socket import connections
from azsyncd.service.socket.connections import Throttle, quiet_accept_errors
from azsyncd.sync.runner import Outcome
from tests.helpers import served_in_thread, short_dir, wait_for, wait_for_async, write_config


def idle_daemon(tmp_path: Path) -> Daemon:
    return Daemon(
        config_file.load(write_config(tmp_path)),
        job_factory=lambda d: lambda ctx: Outcome("succeeded"),
        state_dir=tmp_path / "state",
    )


def wait_for_audit(daemon: Daemon, count: int = 1) -> list[Any]:
    """The audit entries once ``count`` are stored (they are written after the answer)."""

    def stored() -> list[Any] | None:
        total, entries = daemon.state.audit_entries()
        return entries if total >= count else None

    found: list[Any] = wait_for(stored, 10, "the audit entry stored", interval=0.02)
    return found


def closed_by_server(client: socket.socket, timeout: float = 5) -> bool:
    client.settimeout(timeout)
    try:
        return client.recv(1024) == b""
    except ConnectionResetError:
        return True


def test_a_request_that_never_completes_is_closed_a_complete_one_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connections, "REQUEST_TIMEOUT", 0.3)
    with served_in_thread(idle_daemon(tmp_path)) as served:
        path = served.path
        slow = socket.socket(socket.AF_UNIX)
        slow.connect(str(path))
        slow.sendall(b"GET /v1/status HTTP/1.1\r\nHost: x\r\n")  # the head never ends
        idle = socket.socket(socket.AF_UNIX)
        idle.connect(str(path))  # sends nothing at all
        assert closed_by_server(slow) and closed_by_server(idle)

        # A client that keeps its connection and asks again later is not cut off mid-answer.
        client = socket.socket(socket.AF_UNIX)
        client.connect(str(path))
        client.sendall(b"GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n")
        client.settimeout(5)
        assert client.recv(65536).startswith(b"HTTP/1.1 200")
        for sock in (slow, idle, client):
            sock.close()


def test_the_caller_is_known_by_its_socket_credentials(tmp_path: Path) -> None:
    daemon = idle_daemon(tmp_path)
    with served_in_thread(daemon) as served:
        path = served.path
        client = socket.socket(socket.AF_UNIX)
        client.connect(str(path))
        body = b'{"schedule": {"time": "02:00"}}'
        client.sendall(
            b"PATCH /v1/settings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"X-Forwarded-User: alice\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        client.settimeout(5)
        assert client.recv(65536).startswith(b"HTTP/1.1 200")
        client.close()
        entries = wait_for_audit(daemon)
    assert entries[0].uid == os.getuid() and entries[0].user != "alice"
    assert entries[0].detail == 'schedule.time: "00:00" -> "02:00"'


def test_failed_accepts_are_logged_once_not_per_retry(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "azsyncd.service.socket.connections")
    path = short_dir() / "s"

    async def scenario() -> int:
        loop = asyncio.get_running_loop()
        throttle = quiet_accept_errors(loop)
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(str(path))
        server = await loop.create_server(asyncio.Protocol, sock=listener)
        waiting = []
        for _ in range(4):
            client = socket.socket(socket.AF_UNIX)
            client.connect(str(path))  # queued in the backlog until accepted
            waiting.append(client)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        lowest_free = os.dup(0)
        os.close(lowest_free)
        resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free, hard))  # no descriptor left
        try:
            # asyncio retries the accept once a second
            await wait_for_async(lambda: throttle.hits >= 3, 15, "accept() failed thrice")
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        server.close()
        for client in waiting:
            client.close()
        return throttle.hits

    hits = asyncio.run(scenario())
    lines = [r.getMessage() for r in caplog.records if "cannot accept" in r.getMessage()]
    assert hits >= 3 and len(lines) == 1, lines
    assert "Too many open files" in lines[0] and "LimitNOFILE" in lines[0]


def test_throttle_says_how_often_it_held_back(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "azsyncd.service.socket.connections")
    throttle = Throttle(interval=0.2)
    for _ in range(50):
        throttle.hit("event")

    def logged_twice() -> bool:
        throttle.hit("event")
        return len(caplog.records) >= 2

    wait_for(logged_twice, 5, "a second line, after the interval", interval=0.01)
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "event" and messages[1].startswith("event (")
    assert "times in the last minute" in messages[1]


def test_garbage_in_a_loop_gives_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    with served_in_thread(idle_daemon(tmp_path)) as served:
        path = served.path
        for _ in range(100):
            client = socket.socket(socket.AF_UNIX)
            client.connect(str(path))
            client.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            client.settimeout(5)
            assert client.recv(1024).startswith(b"HTTP/1.1 400")
            client.close()
    lines = [r.getMessage() for r in caplog.records if "Invalid HTTP request" in r.getMessage()]
    assert lines == ["control socket: Invalid HTTP request received."]


def test_clients_that_stop_reading_make_room_at_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with served_in_thread(idle_daemon(tmp_path)) as served:
        path = served.path
        monkeypatch.setattr(connections.GuardedH11, "cap", 8)
        stalled = []
        for _ in range(8):
            client = socket.socket(socket.AF_UNIX)
            client.connect(str(path))
            # Many answers asked for at once and none read: the daemon's writes back up.
            client.sendall(b"GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n" * 200)
            stalled.append(client)

        def stalled_writers() -> int:
            open_now = list(served.server.server_state.connections)
            return sum(1 for c in open_now if c.flow.write_paused)

        wait_for(lambda: stalled_writers() == 8, 10, "8 writers stalled")
        with httpx.Client(
            transport=httpx.HTTPTransport(uds=str(path)), base_url="http://azsyncd", timeout=5
        ) as http:
            assert http.get("/v1/status").status_code == 200
        for client in stalled:
            client.close()
