from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import azsyncd.targets.registry  # noqa: F401  (the config tables of the built-in targets)
from tests.helpers import write_config

BYTECODE = Path(__file__).parents[1] / ".pytest_cache" / "bytecode"


def _keep_bytecode() -> None:
    """Under PYTHONDONTWRITEBYTECODE (set to keep __pycache__ folders out of the tree) each of
    the suite's few hundred Python processes compiled azsyncd again (daemons, run workers,
    azsyncctl: 0.13 s CPU a daemon), and every test worker rewrote and compiled every test
    file (6 s CPU of its 9 s collection). The bytecode goes to one ignored folder instead, for
    this process and every process it starts; a changed source is compiled again, as always."""
    if not sys.flags.dont_write_bytecode or os.environ.get("PYTHONPYCACHEPREFIX"):
        return
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(BYTECODE)
    sys.pycache_prefix = str(BYTECODE)
    sys.dont_write_bytecode = False


_keep_bytecode()

# The property tests draw the same examples on every run (seeded from each test's name), so a
# run passes or fails by the code, never by its luck; and a busy machine fails none of them by
# a deadline or a slowness check. `--hypothesis-profile=explore` draws new examples each run
# (and replays the counter-examples found before, from .hypothesis/), to hunt for new ones.
settings.register_profile(
    "suite",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return write_config(tmp_path)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Never read or write the real machine's azsyncd files from a test.
    for name in (
        "AZSYNCD_CONFIG",
        "AZSYNCD_SOCKET",
        "NOTIFY_SOCKET",
        "CREDENTIALS_DIRECTORY",
        "RUNTIME_DIRECTORY",
        "CONFIGURATION_DIRECTORY",
    ):
        monkeypatch.delenv(name, raising=False)
    # As root the default state directory is /var/lib/azsyncd, shared by every test run.
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "state-default"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture(autouse=True)
def _service_umask() -> Iterator[None]:
    # The unit runs azsyncd with UMask=0077, and secrets are kept owner-only: files a test
    # writes are private unless it says otherwise, as they are on a service host.
    previous = os.umask(0o077)
    yield
    os.umask(previous)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """The throwaway PostgreSQL server of this test session."""
    from tests.fakes.postgres import find_bin, postgres_server

    if not find_bin("initdb") and not os.environ.get("CI"):
        pytest.skip("no PostgreSQL server binaries here; .ci/run installs Debian's postgresql")
    with postgres_server() as url:
        yield url


@pytest.fixture
def postgres_db(postgres_server_url: str) -> str:
    """A database of its own on the session's PostgreSQL server, for one test."""
    from tests.fakes.postgres import fresh_database

    return fresh_database(postgres_server_url)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files marked ``long`` first (in order otherwise): the workers take files in
    collection order, so the longest overlap the other files' work instead of ending the
    suite after them."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)
