"""What the attacks need: an "attacker" listening on loopback, files worth stealing."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers import write_config


@dataclass
class Attacker:
    """A TCP listener on loopback that records every connection and every byte it is sent."""

    port: int
    connections: int = 0
    received: bytearray = field(default_factory=bytearray)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"


@pytest.fixture
def attacker() -> Iterator[Attacker]:
    found = Attacker(0)

    class Record(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            found.connections += 1
            self.request.settimeout(2)
            try:
                while chunk := self.request.recv(65536):
                    found.received.extend(chunk)
            except OSError:
                pass

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Record)
    server.daemon_threads = True
    found.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield found
    server.shutdown()
    server.server_close()


def private(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


def closed_port() -> int:
    """A loopback port nobody listens on: connections to it are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def contoso_config(directory: Path, secret_file: str = "secret") -> Path:
    """A config with one tenant whose client secret is read from ``secret_file``."""
    return write_config(
        directory,
        f"""
        [[tenants]]
        name = "contoso"
        tenant_id = "contoso.onmicrosoft.com"
        client_id = "11111111-2222-3333-4444-555555555555"
        client_secret_file = "{secret_file}"
        """,
    )
