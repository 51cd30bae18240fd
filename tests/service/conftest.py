"""Fixtures of the service tests: a live daemon on a temporary socket and a client of it, and
the directory, HappyFox and a configuration for a daemon process."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from azsyncd.control.client import Client
from azsyncd.demo.directory import DEMO_SECRET
from tests.engine_setup import DEMO_FIELDS, mapping_toml, tenant_toml
from tests.fakes.directory import FakeTenant, contoso
from tests.fakes.servers import serve_directory, tls_for_localhost
from tests.helpers import write_config
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


@dataclass
class LocalWorld:
    """The simulated directory on loopback HTTPS, and a config syncing it into the built-in
    store (``azsyncd run`` reads it; nothing is started yet)."""

    directory: FakeTenant
    config: Path


@pytest.fixture
def local_world(tmp_path: Path) -> Iterator[LocalWorld]:
    tls, ca = tls_for_localhost(tmp_path)
    with serve_directory(contoso(users=5), tls) as directory:
        (tmp_path / "secret").write_text(DEMO_SECRET)
        (tmp_path / "secret").chmod(0o600)
        config = write_config(
            tmp_path,
            '[account]\nname = "Attacked Desk"\n'
            + DEMO_FIELDS
            + mapping_toml(skip_empty_phones=True)
            + tenant_toml(
                login=directory.login, graph=directory.graph, extra=f'ca_bundle = "{ca}"'
            ),
        )
        yield LocalWorld(directory, config)  # type: ignore[arg-type]
