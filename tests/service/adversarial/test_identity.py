"""Who did what: callers known by their socket credentials, [control] admins, the audit log."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Static

from tests.helpers import running_daemon, write_config
from tests.tui.tui_daemon import live_daemon
from tui.app import AzsyncApp

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[3]
CTL = [sys.executable, "-m", "azsyncd.control.ctl"]


def ctl(socket: Path, *args: str, user: str = "root") -> subprocess.CompletedProcess[str]:
    as_user = (
        [] if user == "root" else ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    )
    return subprocess.run(
        [*as_user, *CTL, "--socket", str(socket), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to act as another user")


CONFIG = """
[account]
name = "Shared Desk"

[control]
mode = "0666"
admins = ["{admin}"]
"""


def test_admins_change_others_only_read_and_the_audit_says_who(tmp_path: Path) -> None:
    needs_root()
    config = write_config(tmp_path, CONFIG.format(admin="@adm"))
    log = tmp_path / "daemon.log"
    with running_daemon(config, log=log) as daemon:
        daemon.socket.parent.chmod(0o755)  # others may reach the socket; only the mode guards it
        assert ctl(daemon.socket, "status", user="nobody").returncode == 0
        refused = ctl(daemon.socket, "settings", "set", 'schedule.time="05:00"', user="nobody")
        assert refused.returncode == 1
        assert "nobody may read but not change azsyncd" in refused.stderr
        assert "[control] admins" in refused.stderr
        assert ctl(daemon.socket, "sync", user="nobody").returncode == 1
        assert 'time = "05:00"' not in config.read_text()

        assert ctl(daemon.socket, "settings", "set", 'schedule.time="06:00"').returncode == 0

        config.write_text(config.read_text().replace('"@adm"', '"@nogroup"'))
        assert ctl(daemon.socket, "reload").returncode == 0
        allowed = ctl(daemon.socket, "settings", "set", 'schedule.time="07:00"', user="nobody")
        assert allowed.returncode == 0, allowed.stderr

        audit = ctl(daemon.socket, "audit")
        assert audit.returncode == 0
        lines = audit.stdout.splitlines()
        as_json = ctl(daemon.socket, "--json", "audit").stdout
    heads = [line.split()[1:] for line in lines if not line.startswith("    ")]
    assert heads == [
        ["nobody", "PATCH", "/v1/settings", "200"],
        ["root", "POST", "/v1/reload", "200"],
        ["root", "PATCH", "/v1/settings", "200"],
        ["nobody", "POST", "/v1/sync", "403"],
        ["nobody", "PATCH", "/v1/settings", "403"],
    ]
    assert '    schedule.time: "06:00" -> "07:00"' in lines
    assert '    control.admins: ["@adm"] -> ["@nogroup"]' in lines
    assert '"uid": 65534' in as_json
    journal = log.read_text()
    assert "audit: nobody (uid 65534) PATCH /v1/settings -> 403" in journal
    assert 'audit: nobody (uid 65534) PATCH /v1/settings -> 200: schedule.time: "06:00"' in journal


def test_the_audit_lists_each_change_of_a_tui_session(tmp_path: Path) -> None:
    from tests.tui.driving import answer, drive, until
    from tests.tui.tui_daemon import TENANT

    with live_daemon(tmp_path, TENANT) as live:
        app = AzsyncApp(socket=str(live.socket))

        async def scenario(pilot: Any) -> None:
            await pilot.press("3")
            await until(pilot, lambda: app.query_one("#name", Input) is not None)
            app.query_one("#name", Input).value = "{givenName} {surname}"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: live.daemon.config.mapping.name == "{givenName} {surname}")
            await pilot.press("2")
            await until(pilot, lambda: app.query_one("#tenant-table", DataTable).row_count == 1)
            table = app.query_one("#tenant-table", DataTable)
            table.focus()
            await pilot.press("e")  # a write asks first; only a y typed once it shows answers
            await answer(pilot, "y")
            await until(pilot, lambda: not live.daemon.config.tenants[0].enabled)
            await pilot.press("s")
            await answer(pilot, "y")
            label = app.query_one("#progress-label", Static)
            await until(pilot, lambda: live.daemon.state.latest_run() is not None)
            await until(pilot, lambda: str(label.render()) == "Idle.", timeout=30)

        drive(app, scenario, size=(120, 40))
        audit = ctl(live.socket, "audit")
    assert audit.returncode == 0, audit.stderr
    text = audit.stdout
    assert "root         PATCH /v1/settings  200" in text
    assert '    mapping.name: "{displayName}" -> "{givenName} {surname}"' in text
    assert "root         POST /v1/tenants/contoso/disable  200" in text
    assert "    tenants.contoso.enabled: true -> false" in text
    assert "root         POST /v1/sync  202" in text and "    sync run 1 started" in text
