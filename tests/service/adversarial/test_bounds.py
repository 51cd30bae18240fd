"""Nothing is unbounded: request bodies, strings, secret files, connections, log lines."""

from __future__ import annotations

import os
import resource
import select
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from azsyncd.control.client import Client as ControlClient
from tests.helpers import (
    Deadline,
    daemon_command,
    load_factor,
    running_daemon,
    short_dir,
    wait_for,
)
from tests.service.adversarial.conftest import contoso_config, private

pytestmark = pytest.mark.slow
GIB = 1024**3
CHUNK = b"x" * 65536


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def stream(path: Path, head: bytes, body: Iterator[bytes], give_up: int) -> tuple[bytes, int]:
    """Send ``head`` then ``body`` until the server answers; (its answer, bytes of body sent).

    Nothing large is ever held here: the body is produced chunk by chunk as it is sent.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(path))
    sock.sendall(head)
    sock.setblocking(False)
    answer, sent, pending = b"", 0, b""
    deadline = Deadline(60)
    try:
        while not deadline.passed() and sent < give_up:
            readable, writable, _ = select.select([sock], [sock], [], 5)
            if readable:
                data = sock.recv(65536)
                answer += data
                if not data or b"\r\n\r\n" in answer:
                    break
            if writable:
                pending = pending or next(body)
                try:
                    done = sock.send(pending)
                except (BrokenPipeError, ConnectionResetError):
                    break
                sent, pending = sent + done, pending[done:]
        sock.setblocking(True)
        sock.settimeout(10)
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    finally:
        sock.close()
    return answer, sent


def endless(chunked: bool) -> Iterator[bytes]:
    while True:
        yield b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK) if chunked else CHUNK


def test_oversized_bodies_get_413_at_once_and_memory_stays_flat(config_path: Path) -> None:
    before = config_path.read_bytes()
    with running_daemon(config_path) as daemon, daemon.client() as http:
        http.get("/v1/status")
        rss_before = rss_kib(daemon.proc.pid)
        declared = (
            b"PATCH /v1/settings HTTP/1.1\r\nHost: azsyncd\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % GIB
        )
        answer, sent = stream(daemon.socket, declared, endless(False), give_up=64 * 1024**2)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert sent < 8 * 1024**2, f"the 413 came only after {sent} bytes of a 1 GiB body"

        chunked = (
            b"PATCH /v1/settings HTTP/1.1\r\nHost: azsyncd\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        answer, sent = stream(daemon.socket, chunked, endless(True), give_up=64 * 1024**2)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert 1024**2 < sent < 8 * 1024**2

        ten_mb = http.patch("/v1/settings", json={"account": {"name": "n" * 10_000_000}})
        assert ten_mb.status_code == 413 and ten_mb.json()["error"]["code"] == "too_large"
        long_name = http.patch("/v1/settings", json={"account": {"name": "n" * 100_000}})
        assert long_name.status_code == 422 and len(long_name.content) < 2000
        assert "at most 1024 characters" in long_name.text

        status = http.get("/v1/status")
        assert status.status_code == 200 and len(status.content) < 4000
        assert rss_kib(daemon.proc.pid) - rss_before < 40 * 1024
    assert config_path.read_bytes() == before


@pytest.mark.parametrize("kind", ["/dev/zero", "fifo"])
def test_a_device_or_fifo_as_a_secret_is_refused_at_once(tmp_path: Path, kind: str) -> None:
    secret = tmp_path / "secret"
    if kind == "fifo":
        os.mkfifo(secret, 0o600)
    else:
        secret.symlink_to(kind)
    config = contoso_config(tmp_path)
    what = "a FIFO (named pipe)" if kind == "fifo" else "a character device"
    for command in ("check-config", "run"):
        args = ["--config", str(config)]
        if command == "run":
            args += ["--socket", str(short_dir() / "s"), "--state-dir", str(tmp_path / "state")]
        result = subprocess.run(
            daemon_command(command, *args), capture_output=True, text=True, timeout=30
        )
        assert result.returncode == 2, result.stderr
        assert (
            f"is {what}, not a regular file" in result.stderr and "Traceback" not in result.stderr
        )


def test_a_secret_swapped_for_a_fifo_or_dev_zero_after_start(tmp_path: Path) -> None:
    secret = private(tmp_path / "secret", "a-good-secret")
    config = contoso_config(tmp_path)
    with running_daemon(config) as daemon, daemon.client() as http:
        rss_before = rss_kib(daemon.proc.pid)
        for swap, what in ((os.mkfifo, "a FIFO (named pipe)"), (None, "a character device")):
            secret.unlink()
            if swap:
                swap(secret, 0o600)
            else:
                secret.symlink_to("/dev/zero")
            started = time.monotonic()
            state = http.post("/v1/tenants/contoso/authorize").json()["state"]
            assert time.monotonic() - started < 5
            assert state["status"] == "disabled" and f"is {what}" in state["reason"]
        assert rss_kib(daemon.proc.pid) - rss_before < 20 * 1024


def connect(path: Path, timeout: float = 10) -> socket.socket:
    """A connection, once the listener's backlog has room (AF_UNIX says EAGAIN while full)."""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.setblocking(False)

    def connected() -> bool:
        try:
            client.connect(str(path))
            return True
        except BlockingIOError:
            return False

    try:
        wait_for(connected, timeout, f"a connection to {path}", interval=0.005)
    except AssertionError:
        client.close()
        raise
    return client


@pytest.fixture
def many_descriptors() -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_flood_of_slow_clients_leaves_status_answering(
    config_path: Path, tmp_path: Path, many_descriptors: None
) -> None:
    log = tmp_path / "daemon.log"

    def systemd_default_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))

    with running_daemon(config_path, log=log, preexec_fn=systemd_default_limit) as daemon:
        slow = []
        try:
            for _ in range(1100):
                client = connect(daemon.socket)
                try:
                    client.send(b"GET /v1/status HTTP/1.1\r\nHost: slow\r\n")  # never finished
                except OSError:
                    pass  # already closed to make room for a newer one
                slow.append(client)
            # azsyncctl's client: while the flood fills the backlog it waits for room.
            started = time.monotonic()
            with ControlClient(daemon.socket, timeout=10) as control:
                status = control.status()
            assert status.pid == daemon.proc.pid
            assert time.monotonic() - started < 5 * load_factor()
        finally:
            for client in slow:
                client.close()
        text = log.read_text()
    assert "Too many open files" not in text and "Traceback" not in text
    assert text.count("closed control connections") <= 2, text[-2000:]
    assert len(text) < 20_000
