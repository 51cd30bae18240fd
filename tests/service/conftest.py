"""Fixtures of the service tests: a live daemon on a temporary socket and a client of it, and
the directory, HappyFox and a configuration for a daemon process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from azsyncd.control.client import Client
from tests.service.e2e_world import World, make_world
from tests.tui.tui_daemon import TENANT, LiveDaemon, live_daemon


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDaemon]:
    with live_daemon(tmp_path_factory.mktemp("daemon"), TENANT, users=40) as daemon:
        yield daemon


@pytest.fixture
def client(live: LiveDaemon) -> Iterator[Client]:
    with Client(live.socket, timeout=30) as c:
        yield c


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """The directory, HappyFox and a configuration for both, for a daemon process."""
    yield from make_world(tmp_path)
