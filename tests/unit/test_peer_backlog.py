"""A control client meeting a daemon whose backlog is full waits for room (as a TCP client
would) instead of failing with EAGAIN at once."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import httpcore
import pytest

from azsyncd.control.peer import _CheckedBackend
from tests.helpers import short_dir, wait_for, within


def _full_listener(path: Path) -> tuple[socket.socket, list[socket.socket]]:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(0)
    waiting = []
    while True:  # fill the backlog until the kernel says EAGAIN
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.setblocking(False)
        try:
            client.connect(str(path))
        except BlockingIOError:
            client.close()
            return server, waiting
        waiting.append(client)


def test_a_full_backlog_is_waited_out_within_the_timeout() -> None:
    path = short_dir() / "full.sock"
    server, waiting = _full_listener(path)
    backend = _CheckedBackend({os.geteuid()}, "azsyncd")
    tries = []
    inner = backend._inner.connect_unix_socket

    def counted(*args: object, **kwargs: object) -> httpcore.NetworkStream:
        tries.append(1)
        return inner(*args, **kwargs)  # type: ignore[arg-type]

    backend._inner.connect_unix_socket = counted  # type: ignore[method-assign]
    found: list[object] = []
    thread = threading.Thread(
        target=lambda: found.append(backend.connect_unix_socket(str(path), timeout=60))
    )
    thread.start()
    try:
        wait_for(lambda: len(tries) >= 2, 10, "a second try after EAGAIN")
        accepted = [server.accept()[0] for _ in range(len(waiting) + 1)]  # room, then ours
        thread.join(within(30))
        assert found and not thread.is_alive()
        found[0].close()  # type: ignore[attr-defined]
        for conn in accepted:
            conn.close()
    finally:
        for client in waiting:
            client.close()
        server.close()


def test_a_full_backlog_still_fails_once_the_timeout_has_passed() -> None:
    path = short_dir() / "full.sock"
    server, waiting = _full_listener(path)
    try:
        with pytest.raises(httpcore.ConnectError, match="temporarily unavailable"):
            _CheckedBackend({os.geteuid()}, "azsyncd").connect_unix_socket(str(path), timeout=0.05)
    finally:
        for client in waiting:
            client.close()
        server.close()
