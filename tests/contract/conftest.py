"""Fixtures of the contract tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from wsgiref.simple_server import make_server

import pytest

from tests.contract.test_targets import _Quiet
from tests.fakes.fake_happyfox import FakeHappyFox


@pytest.fixture
def happyfox() -> Iterator[tuple[FakeHappyFox, str]]:
    """The fake HappyFox over real HTTP on 127.0.0.1, and its base URL."""
    fake = FakeHappyFox(time.monotonic)
    server = make_server("127.0.0.1", 0, fake, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield fake, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
