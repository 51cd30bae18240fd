"""Edits stay consistent: with the file on disk, with the state database, across daemons.

And what a careless admin does: hand edits the daemon has not loaded, a broken file, loose
permissions, a socket in a world-writable directory, a secret pasted where a path belongs.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.helpers import daemon_command, running_daemon, short_dir, within, write_config
from tests.service.adversarial.conftest import contoso_config, private

pytestmark = pytest.mark.slow

TENANT = {
    "name": "fabrikam",
    "tenant_id": "fabrikam.onmicrosoft.com",
    "client_id": "11111111-2222-3333-4444-555555555555",
    "credential": {"kind": "client_secret", "client_secret": "Fab8Q~new-tenant-secret-77"},
}
COMMENTED = """\
# Acme help desk: edited by hand and through the API.
[account]
name = "Acme"  # shown in welcome emails
timezone = "UTC"

[schedule]
# nightly, after the backups
time = "02:00"
"""


def run_daemon(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(daemon_command(*args), capture_output=True, text=True, timeout=60)


def test_a_hand_edit_is_never_overwritten_and_comments_survive(tmp_path: Path) -> None:
    config = write_config(tmp_path, COMMENTED)
    with running_daemon(config) as daemon, daemon.client() as http:
        hand_edited = config.read_text().replace('name = "Acme"', 'name = "Acme Corp"')
        config.write_text(hand_edited)
        refused = http.patch("/v1/settings", json={"schedule": {"enabled": True}})
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert "changed on disk" in error["message"] and "reload first" in error["fix"]
        assert config.read_text() == hand_edited

        config.write_text(hand_edited + "[mapping\n")
        broken = http.patch("/v1/settings", json={"schedule": {"time": "03:00"}})
        assert broken.status_code == 409 and "broken on disk" in broken.json()["error"]["message"]
        assert http.post("/v1/reload").status_code == 422
        assert http.patch("/v1/settings", json={"schedule": {"time": "03:00"}}).status_code == 409

        config.write_text(hand_edited)
        assert http.post("/v1/reload").json()["changes"] == ['account.name: "Acme" -> "Acme Corp"']
        saved = http.patch("/v1/settings", json={"schedule": {"time": "03:30"}})
        assert saved.status_code == 200, saved.text
        assert http.post("/v1/tenants", json=TENANT).status_code == 201
    text = config.read_text()
    assert text.startswith("# Acme help desk: edited by hand and through the API.\n")
    assert 'name = "Acme Corp"  # shown in welcome emails' in text
    assert '# nightly, after the backups\ntime = "03:30"' in text
    assert 'name = "fabrikam"' in text


@contextlib.contextmanager
def exclusive_lock(database: Path) -> Iterator[None]:
    """Another process's write transaction on the state database, as a stuck writer holds."""
    holder = sqlite3.connect(database, isolation_level=None, timeout=1)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_locked_database_answers_503_and_writes_nothing(config_path: Path) -> None:
    before = config_path.read_bytes()
    with running_daemon(config_path) as daemon, daemon.client() as http:
        credentials = config_path.parent / "credentials"
        # Both changes at once: each waits out the database's busy timeout (10 s).
        with exclusive_lock(daemon.state_dir / "state.db"), ThreadPoolExecutor(2) as pool:
            adding = pool.submit(http.post, "/v1/tenants", json=TENANT, timeout=within(60))
            starting = pool.submit(http.post, "/v1/sync", json={}, timeout=within(60))
            assert http.get("/v1/status").status_code == 200  # reading goes on meanwhile
            answer, started = adding.result(), starting.result()
        assert answer.status_code == 503, answer.text
        error = answer.json()["error"]
        assert (
            "database is locked" in error["message"] and "nothing was changed" in error["message"]
        )
        assert started.status_code == 503
        assert config_path.read_bytes() == before
        assert not list(credentials.glob("*")) if credentials.exists() else True
        assert http.post("/v1/tenants", json=TENANT).status_code == 201
        assert 'name = "fabrikam"' in config_path.read_text()


@pytest.fixture
def small_disk() -> Iterator[Path]:
    mount = short_dir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"a small tmpfs cannot be mounted here: {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_answers_503_and_leaves_the_file_whole(small_disk: Path) -> None:
    config = write_config(small_disk, COMMENTED)
    before = config.read_bytes()
    with running_daemon(config, state_dir=short_dir() / "state") as daemon, daemon.client() as http:
        filler = small_disk / "filler"
        with contextlib.suppress(OSError), filler.open("wb") as handle:
            while True:
                handle.write(b"\0" * 4096)
                handle.flush()
        answer = http.patch("/v1/settings", json={"account": {"name": "After the disk filled"}})
        assert answer.status_code == 503, answer.text
        assert "No space left on device" in answer.json()["error"]["message"]
        assert config.read_bytes() == before
        assert sorted(p.name for p in small_disk.iterdir()) == ["azsyncd.toml", "filler"]
        assert http.get("/v1/status").json()["account"] == "Acme"
        filler.unlink()
        assert http.patch("/v1/settings", json={"account": {"name": "Freed"}}).status_code == 200


def test_a_second_daemon_on_the_same_state_refuses_naming_the_first(config_path: Path) -> None:
    with running_daemon(config_path) as first:
        second = run_daemon(
            "run",
            "--config",
            str(config_path),
            "--socket",
            str(short_dir() / "other.sock"),
            "--state-dir",
            str(first.state_dir),
        )
        assert second.returncode == 1
        assert f"another azsyncd (pid {first.proc.pid}) is using the state directory" in (
            second.stderr
        )
        assert "Traceback" not in second.stderr
        with first.client() as http:
            assert http.get("/v1/status").status_code == 200


@pytest.mark.parametrize("unsafe", ["world-writable", "someone else's"])
def test_the_socket_is_never_put_where_others_could_swap_it(config_path: Path, unsafe: str) -> None:
    directory = short_dir()
    if unsafe == "world-writable":
        directory.chmod(0o777)
        expected = "is writable by other users (mode 0777)"
    else:
        os.chown(directory, 65534, 65534)
        expected = "belongs to uid 65534"
    result = run_daemon(
        "run",
        "--config",
        str(config_path),
        "--socket",
        str(directory / "azsyncd.sock"),
        "--state-dir",  # never the machine's own /var/lib/azsyncd
        str(short_dir() / "state"),
    )
    assert result.returncode == 1 and expected in result.stderr, result.stderr
    assert "refusing to put the control socket in" in result.stderr
    assert not (directory / "azsyncd.sock").exists()


def test_control_characters_are_refused_and_break_nothing_later(tmp_path: Path) -> None:
    private(tmp_path / "secret", "s3cret-value")
    config = contoso_config(tmp_path)
    with running_daemon(config) as daemon, daemon.client() as http:
        nul_path = http.patch("/v1/tenants/contoso", json={"client_secret_file": "/etc/\u0000x"})
        assert nul_path.status_code == 403
        for body in (
            {"display_name": "Contoso\u0000Ltd"},
            {"groups": ["a0000001-0000-4000-b000-000000000000\n"]},
        ):
            answer = http.patch("/v1/tenants/contoso", json=body)
            assert answer.status_code == 422 and "control character" in answer.text
        name = http.patch("/v1/settings", json={"account": {"name": "Desk\r\nBcc: all@x"}})
        assert name.status_code == 422 and "control character (U+000D)" in name.text
        assert http.get("/v1/tenants/con%00toso").status_code == 422
        assert http.get("/v1/contacts", params={"search": "a\u0000"}).status_code == 422
        escape = http.get("/v1/runs/latest/records", params={"search": "\u001b[2J"})
        assert escape.status_code == 422
        forged = "x\nINFO azsyncd.service.api.audit: audit: root (uid 0) DELETE /v1/tenants/a"
        assert http.post("/v1/sync", json={"user": forged}).status_code == 422
        for path in ("/v1/status", "/v1/tenants", "/v1/settings"):
            assert http.get(path).status_code == 200


def test_run_reload_and_api_edits_check_permissions_as_check_config(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret-value")
    secret.chmod(0o644)
    config = contoso_config(tmp_path)
    socket_args = ["--socket", str(short_dir() / "s"), "--state-dir", str(tmp_path / "state")]
    refused = run_daemon("run", "--config", str(config), *socket_args)
    assert refused.returncode == 2 and "is readable by everyone (mode 0644)" in refused.stderr
    assert f"chmod 600 {secret}" in refused.stderr

    secret.chmod(0o600)
    config.chmod(0o666)
    refused = run_daemon("run", "--config", str(config), *socket_args)
    assert refused.returncode == 2 and "is writable by everyone (mode 0666)" in refused.stderr

    config.chmod(0o600)
    with running_daemon(config) as daemon, daemon.client() as http:
        secret.chmod(0o604)
        edit = http.post("/v1/tenants/contoso/disable")
        assert edit.status_code == 422 and "readable by everyone" in edit.text
        assert "enabled = false" not in config.read_text()
        assert http.post("/v1/reload").status_code == 422
        assert "readable by everyone" in http.get("/v1/status").json()["config_error"]
        secret.chmod(0o600)
        assert http.post("/v1/reload").status_code == 200
        assert http.post("/v1/tenants/contoso/disable").status_code == 200


def test_a_secret_pasted_into_a_file_key_is_never_echoed(tmp_path: Path) -> None:
    pasted = "Xy8Q~7sGhJk2LmNoPqRsTuVwXyZ0123456789.ab"
    config = contoso_config(tmp_path, secret_file=pasted)
    check = run_daemon("check-config", "--config", str(config))
    assert check.returncode == 2 and "does not exist" in check.stderr
    assert pasted not in check.stderr and "looks like a secret" in check.stderr
    log = tmp_path / "daemon.log"
    with running_daemon(config, log=log) as daemon, daemon.client() as http:
        state = http.post("/v1/tenants/contoso/authorize").json()["state"]
        assert state["status"] == "disabled" and "looks like a secret" in state["reason"]
        again = http.patch("/v1/tenants/contoso", json={"client_secret_file": pasted + "9"})
        assert again.status_code == 403
        config.write_text(config.read_text().replace(pasted, pasted[::-1]))  # pasted again
        assert http.post("/v1/reload").status_code == 200
        everything = [again.text, state["reason"], state["fix"], http.get("/v1/audit").text]
        everything += [http.get(path).text for path in ("/v1/tenants", "/v1/settings")]
        assert "looks like a secret" in http.get("/v1/tenants/contoso").json()["client_secret_file"]
    for value in (pasted, pasted[::-1]):
        assert all(value not in text for text in everything)
        assert value not in log.read_text()
