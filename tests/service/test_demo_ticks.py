"""The demo turns the incremental schedule on; an admin adds a person and watches the
contact appear at the next tick. The clock is faked; the socket and azsyncctl are real."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from azsyncd.config import file as config_file
from azsyncd.demo.run import demo_daemon
from azsyncd.service.daemon import Daemon
from tests.helpers import FakeClock, served_in_thread, socket_client, wait_for, write_config

pytestmark = pytest.mark.slow


def ctl(socket: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "azsyncd.control.ctl", "--socket", str(socket), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=30)


def test_add_a_user_to_the_demo_directory_and_see_the_contact_after_the_next_tick(
    tmp_path: Path,
) -> None:
    clock = FakeClock(datetime.now(UTC))
    daemon, directory = demo_daemon(tmp_path / "demo", clock)
    assert daemon.config.schedule.every is not None and daemon.config.schedule.interval == "1m"
    with served_in_thread(daemon) as served:
        socket = served.path
        wait_for(lambda: bool(daemon.state.runs()) and daemon.runner.current is None, 60)
        added = ctl(socket, "demo", "add-user", "Ada Lovelace")
        assert added.returncode == 0, added.stderr
        assert "added Ada Lovelace <ada.lovelace@contoso.example>" in added.stdout
        assert "the next tick (" in added.stdout
        again = ctl(socket, "demo", "add-user", "Ada Lovelace")
        assert again.returncode == 1 and "already in the simulated directory" in again.stderr
        assert len([u for u in directory.users.values() if u["displayName"] == "Ada Lovelace"]) == 1

        http = socket_client(socket)
        found = lambda: http.get("/v1/contacts", params={"search": "ada.lovelace"}).json()  # noqa: E731
        assert found()["total"] == 0
        clock.now = min(daemon.scheduler.next_ticks().values())
        daemon.scheduler.wake()
        wait_for(lambda: found()["total"] == 1)
        contact = found()["contacts"][0]
        assert contact["name"] == "Ada Lovelace" and contact["synced_from_entra"]
        audit = http.get("/v1/audit").json()["entries"]
        added = [e for e in audit if e["action"] == "POST /v1/demo/users" and e["status"] == 201]
        assert added[0]["changes"] == [
            "added ada.lovelace@contoso.example to the simulated directory"
        ]
        http.close()


def test_add_user_against_a_daemon_that_is_no_demo_says_so(tmp_path: Path) -> None:
    daemon = Daemon(config_file.load(write_config(tmp_path)), state_dir=tmp_path / "state")
    with served_in_thread(daemon) as served:
        socket = served.path
        refused = ctl(socket, "demo", "add-user", "Ada Lovelace")
    assert refused.returncode == 1
    assert "this daemon has no simulated directory" in refused.stderr
    assert "azsyncd demo" in refused.stderr
