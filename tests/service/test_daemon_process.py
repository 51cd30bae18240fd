"""The daemon as a real process on a real Unix socket."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import (
    daemon_command,
    running_daemon,
    short_dir,
    wait_for,
    wait_for_socket,
    within,
    write_config,
)

pytestmark = pytest.mark.slow


def test_start_status_and_sigterm(config_path: Path) -> None:
    notify_dir = short_dir()
    notify_path = notify_dir / "notify"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(notify_path))
    listener.settimeout(15)
    with running_daemon(config_path, env={"NOTIFY_SOCKET": str(notify_path)}) as daemon:
        assert listener.recv(1024).decode().startswith("READY=1")
        assert stat.S_IMODE(daemon.socket.stat().st_mode) == 0o660
        with daemon.client() as http:
            status = http.get("/v1/status").json()
        assert status["version"] and status["pid"] == daemon.proc.pid
        assert status["config_path"] == str(config_path) and status["running"] is None
        code, err = daemon.stop(signal.SIGTERM)
        assert code == 0, err
        assert not daemon.socket.exists()
        assert "SIGTERM received" in err and "azsyncd stopped" in err
    messages = []
    listener.settimeout(0.5)
    try:
        while True:
            messages.append(listener.recv(1024).decode())
    except TimeoutError:
        pass
    assert "STOPPING=1" in messages


def test_malformed_requests_get_json_4xx(config_path: Path) -> None:
    with running_daemon(config_path) as daemon, daemon.client() as http:
        cases = [
            http.post(
                "/v1/sync", content=b"{not json", headers={"content-type": "application/json"}
            ),
            http.post("/v1/sync", json={"dry_run": "perhaps"}),
            http.post("/v1/sync", json={"unknown": 1}),
            http.get("/v1/runs", params={"limit": "-3"}),
            http.get("/v1/runs/abc"),
            http.get("/v1/nowhere"),
            http.delete("/v1/status"),
            http.patch("/v1/settings", json={"schedule": {"time": "25:99"}}),
            http.get("/v1/tenants/nobody"),
        ]
        for response in cases:
            assert 400 <= response.status_code < 500, (response.request.url, response.status_code)
            error = response.json()["error"]
            assert error["code"] and error["message"]
        problems = cases[7].json()["error"]["problems"]
        assert (
            problems[0]["key"] == "schedule.time" and "not a time of day" in problems[0]["message"]
        )


def test_api_edit_is_validated_written_and_used(config_path: Path) -> None:
    before = config_path.read_bytes()
    with running_daemon(config_path) as daemon, daemon.client() as http:
        refused = http.patch("/v1/settings", json={"account": {"timezone": "Mars/Olympus"}})
        assert refused.status_code == 422 and config_path.read_bytes() == before
        saved = http.patch(
            "/v1/settings",
            json={"account": {"timezone": "America/Santiago"}, "schedule": {"enabled": True}},
        )
        assert saved.status_code == 200, saved.text
        assert saved.json()["account"]["timezone"] == "America/Santiago"
        assert 'timezone = "America/Santiago"' in config_path.read_text()
        assert stat.S_IMODE(config_path.stat().st_mode) == 0o600
        assert config_path.with_name("azsyncd.toml.bak").read_bytes() == before
        # Turning sync on runs the first sync at once.
        wait_for(lambda: http.get("/v1/runs").json()["runs"])
        first = http.get("/v1/runs").json()["runs"][-1]
        assert first["trigger"] == "first"
        status = http.get("/v1/status").json()
        assert (
            status["sync_enabled"]
            and status["next_run"] is not None
            and status["timezone"] == "America/Santiago"
        )


def test_tenants_through_the_api(config_path: Path) -> None:
    tenant = {
        "name": "contoso",
        "tenant_id": "contoso.onmicrosoft.com",
        "client_id": "11111111-2222-3333-4444-555555555555",
        "credential": {"kind": "client_secret", "client_secret": "Sec8Q~the-client-secret-42"},
    }
    with running_daemon(config_path) as daemon, daemon.client() as http:
        named_file = {**tenant, "client_secret_file": "/etc/shadow"}
        named_file.pop("credential")
        assert http.post("/v1/tenants", json=named_file).status_code == 403
        added = http.post("/v1/tenants", json=tenant)
        assert added.status_code == 201 and "the-client-secret" not in added.text
        stored = Path(added.json()["client_secret_file"])
        assert stored.parent == config_path.parent / "credentials"
        assert stat.S_IMODE(stored.stat().st_mode) == 0o600
        assert stored.read_text() == "Sec8Q~the-client-secret-42"
        assert http.post("/v1/tenants", json=tenant).status_code == 409
        assert (
            http.post(
                "/v1/tenants", json={**tenant, "name": "p", "tenant_id": "consumers"}
            ).status_code
            == 422
        )
        listed = http.get("/v1/tenants").json()["tenants"]
        assert [t["name"] for t in listed] == ["contoso"] and listed[0]["state"]["status"] == "new"
        assert http.post("/v1/tenants/contoso/disable").json()["state"]["status"] == "disabled"
        assert (
            http.patch("/v1/tenants/contoso", json={"display_name": "Contoso Ltd"}).json()[
                "display_name"
            ]
            == "Contoso Ltd"
        )
        bad = http.patch("/v1/tenants/contoso", json={"users": "groups"})
        assert (
            bad.status_code == 422
            and bad.json()["error"]["problems"][0]["key"] == "tenants[0].groups"
        )
        assert http.delete("/v1/tenants/contoso").status_code == 200
        assert http.get("/v1/tenants").json()["tenants"] == []
        assert "contoso" not in config_path.read_text() and not stored.exists()


def test_stale_socket_is_replaced(config_path: Path) -> None:
    base = short_dir()
    stale = base / "azsyncd.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(stale))
    dead.close()  # the file stays, nobody listens: what a crashed daemon leaves
    assert stale.exists()
    with running_daemon(config_path, socket_path=stale) as daemon, daemon.client() as http:
        assert http.get("/v1/status").status_code == 200


def test_second_daemon_on_a_live_socket_exits_with_a_message(config_path: Path) -> None:
    with running_daemon(config_path) as first:
        second = subprocess.run(
            daemon_command(
                "run",
                "--config",
                str(config_path),
                "--socket",
                str(first.socket),
                "--state-dir",
                str(short_dir() / "state"),  # its own state: only the socket is shared
            ),
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == 1
        assert f"another azsyncd is already listening on {first.socket}" in second.stderr
        assert "Traceback" not in second.stderr
        with first.client() as http:  # the first one is unharmed
            assert http.get("/v1/status").status_code == 200


def test_broken_config_refuses_to_start(tmp_path: Path) -> None:
    broken = write_config(tmp_path, "[schedule]\nenabled = maybe\n")
    result = subprocess.run(
        daemon_command("run", "--config", str(broken), "--socket", str(short_dir() / "s")),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "is not valid TOML" in result.stderr and str(broken) in result.stderr
    assert "Traceback" not in result.stderr


def test_reload_keeps_the_last_good_config_on_error(config_path: Path) -> None:
    with running_daemon(config_path) as daemon, daemon.client() as http:
        config_path.write_text('[account]\nname = "Renamed"\n')
        daemon.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: http.get("/v1/status").json()["account"] == "Renamed")

        config_path.write_text('[account]\nname = "Broken"\ntimezone = "Nowhere/City"\n')
        daemon.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: http.get("/v1/status").json()["config_error"] is not None)
        status = http.get("/v1/status").json()
        assert status["account"] == "Renamed" and "Nowhere/City" in status["config_error"]
        assert daemon.proc.poll() is None

        config_path.write_text('[account]\nname = "Fixed"\n')
        answer = http.post("/v1/reload")
        assert answer.status_code == 200
        status = http.get("/v1/status").json()
        assert status["account"] == "Fixed" and status["config_error"] is None


def test_signals_sent_the_moment_the_socket_accepts_are_acted_on(config_path: Path) -> None:
    """The socket listens while the daemon is still starting: a SIGHUP sent then is a reload
    once it runs (its default action would end the process), a SIGTERM a clean stop."""
    config_path.write_text('[account]\nname = "Before"\n')
    with running_daemon(config_path, wait=False) as daemon:
        wait_for_socket(daemon.socket, proc=daemon.proc)
        config_path.write_text('[account]\nname = "After"\n')
        daemon.proc.send_signal(signal.SIGHUP)
        with daemon.client() as http:
            wait_for(lambda: http.get("/v1/status").json()["account"] == "After")
        assert daemon.proc.poll() is None

    with running_daemon(config_path, wait=False) as daemon:
        wait_for_socket(daemon.socket, proc=daemon.proc)
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(within(30)) == 0
        assert not daemon.socket.exists()


def test_ctl_status_json_and_unreachable(config_path: Path) -> None:
    ctl = [sys.executable, "-m", "azsyncd.control.ctl"]
    with running_daemon(config_path) as daemon:
        env = {**os.environ, "AZSYNCD_SOCKET": str(daemon.socket)}
        human = subprocess.run(
            [*ctl, "status"], capture_output=True, text=True, env=env, timeout=30
        )
        assert human.returncode == 0 and "sync: disabled" in human.stdout
        as_json = subprocess.run(
            [*ctl, "--json", "status"], capture_output=True, text=True, env=env, timeout=30
        )
        assert json.loads(as_json.stdout)["account"] == "Test Desk"
        changed = subprocess.run(
            [*ctl, "settings", "set", 'schedule.time="23:30"'],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
        )
        assert changed.returncode == 0, changed.stderr
        refused = subprocess.run(
            [*ctl, "settings", "set", 'schedule.time="noon"'],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
        )
        assert refused.returncode == 1 and "schedule.time" in refused.stderr
        assert 'time = "23:30"' in config_path.read_text()
    gone = subprocess.run(
        [*ctl, "--socket", str(daemon.socket), "status"], capture_output=True, text=True, timeout=30
    )
    assert gone.returncode == 3
    assert "azsyncd is not running" in gone.stderr and "systemctl start azsyncd" in gone.stderr


def test_socket_permission_denied_names_the_group(config_path: Path, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to another user")
    with running_daemon(config_path) as daemon:
        os.chmod(daemon.socket.parent, 0o755)
        result = subprocess.run(
            [
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                sys.executable,
                "-m",
                "azsyncd.control.ctl",
                "--socket",
                str(daemon.socket),
                "status",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=Path(__file__).parents[2],
        )
        assert result.returncode == 3, result.stderr
        assert "permission denied" in result.stderr and "azsyncd group" in result.stderr
