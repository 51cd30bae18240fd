"""Owner-only state, whatever the umask: the state database holds every contact's name,
address, phones and employee id. Started outside systemd by an operator whose umask is 022,
azsyncd created state.db 0644, readable by every local user."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.helpers import running_daemon, wait_for
from tests.service.conftest import LocalWorld

pytestmark = pytest.mark.slow


def modes(directory: Path) -> dict[str, str]:
    return {
        p.name: oct(stat.S_IMODE(p.stat().st_mode))
        for p in sorted(directory.iterdir())
        if p.name.startswith("state.db")
    }


def with_wal(directory: Path) -> dict[str, str] | None:
    found = modes(directory)
    return found if "state.db-wal" in found and "state.db-shm" in found else None


def test_the_state_database_and_its_companions_are_owner_only_under_umask_022(
    local_world: LocalWorld, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    loose = lambda: os.umask(0o022)  # noqa: E731 (the operator's shell)
    local_world.directory.delay = 1.0  # each Graph page: the sync's files stay open a while
    with running_daemon(local_world.config, state_dir=state, preexec_fn=loose) as daemon:
        with daemon.client() as http:
            assert http.post("/v1/sync", json={}).status_code == 202
            # While the run's process writes, SQLite's companions exist: their modes then.
            found = wait_for(lambda: with_wal(state), 30, "the WAL")
            wait_for(lambda: http.get("/v1/status").json()["running"] is None, 60, "the end")
            assert http.get("/v1/contacts").json()["total"] > 0
        found |= modes(state)
    assert {"state.db", "state.db-wal", "state.db-shm"} <= found.keys(), found
    assert set(found.values()) == {"0o600"}, found

    # A database an older azsyncd left readable by all is narrowed when opened.
    (state / "state.db").chmod(0o644)
    with running_daemon(local_world.config, state_dir=state, preexec_fn=loose) as daemon:
        with daemon.client() as http:
            assert http.get("/v1/status").status_code == 200
        assert set(modes(state).values()) == {"0o600"}, modes(state)
