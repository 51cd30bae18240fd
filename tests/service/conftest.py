"""Fixtures of the service tests: a live daemon on a temporary socket, and a client of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from azsyncd.control.client import Client
from azsyncd.demo.run import tenant_toml
from tests.tui.tui_daemon import LiveDaemon, live_daemon

TENANT = tenant_toml(secret_file="contoso-secret", extra='display_name = "Contoso"')


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDaemon]:
    with live_daemon(tmp_path_factory.mktemp("daemon"), TENANT, users=40) as daemon:
        yield daemon


@pytest.fixture
def client(live: LiveDaemon) -> Iterator[Client]:
    with Client(live.socket, timeout=30) as c:
        yield c
