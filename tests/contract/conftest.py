"""Fixtures of the contract tests."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.fakes.happyfox import FakeHappyFox
from tests.fakes.servers import serve


@pytest.fixture
def happyfox() -> Iterator[tuple[FakeHappyFox, str]]:
    """The fake HappyFox over real HTTP on 127.0.0.1, and its base URL."""
    fake = FakeHappyFox(time.monotonic)
    with serve(fake) as port:
        yield fake, f"http://127.0.0.1:{port}"
