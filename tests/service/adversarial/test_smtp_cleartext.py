"""A socket admin makes the daemon send the SMTP password in the clear.

The welcome email is off; alert emails use its SMTP settings. ``PATCH /v1/settings
{"welcome_email": {"tls": "none"}}`` was accepted (the "plain SMTP only on loopback" rule ran
only with the welcome email enabled), and ``POST /v1/alerts/test`` then logged in without
STARTTLS. The server here listens on a non-loopback address of this host, offers no STARTTLS
and records every login: it must receive no password, whatever the socket admin tries; and a
file that asks for plain SMTP to it is refused by check-config, by a reload, and at start."""

from __future__ import annotations

import ipaddress
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.helpers import daemon_command, running_daemon, write_config
from tests.service.adversarial.conftest import private

pytestmark = pytest.mark.slow
PASSWORD = "smtp-pa55word-for-the-help-desk"


def outside_address() -> str | None:
    """An address of this host that is not loopback (the route to a TEST-NET host)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if ipaddress.ip_address(address).is_loopback else address


class Recorder:
    """An SMTP server without STARTTLS that takes any login and keeps what it was told."""

    def __init__(self) -> None:
        self.logins: list[tuple[bytes, bytes]] = []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        self.logins.append((data.login, data.password))
        return AuthResult(success=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


@pytest.fixture
def smtp_outside() -> Iterator[tuple[Recorder, str, int]]:
    address = outside_address()
    if address is None:
        pytest.skip("this host has no address but loopback")
    recorder = Recorder()
    with socket.socket() as probe:
        probe.bind((address, 0))
        port = int(probe.getsockname()[1])
    controller = Controller(
        recorder, hostname=address, port=port, authenticator=recorder, auth_require_tls=False
    )
    controller.start()
    yield recorder, address, port
    controller.stop()


def smtp_config(directory: Path, host: str, port: int, tls: str) -> Path:
    private(directory / "smtp-password", PASSWORD)
    return write_config(
        directory,
        f"""
        [account]
        name = "Victim Desk"

        [welcome_email]
        enabled = false
        smtp_host = "{host}"
        smtp_port = {port}
        tls = "{tls}"
        username = "helpdesk"
        password_file = "smtp-password"
        from_address = "helpdesk@victim.example"

        [alerts]
        email_to = ["ops@victim.example"]
        """,
    )


def test_the_smtp_password_never_goes_out_in_the_clear(
    smtp_outside: tuple[Recorder, str, int], tmp_path: Path
) -> None:
    recorder, host, port = smtp_outside
    config = smtp_config(tmp_path, host, port, "starttls")
    with running_daemon(config) as daemon, daemon.client() as http:
        patched = http.patch("/v1/settings", json={"welcome_email": {"tls": "none"}})
        ctl = [sys.executable, "-m", "azsyncd.control.ctl", "--socket", str(daemon.socket)]
        by_ctl = subprocess.run(
            [*ctl, "settings", "set", 'welcome_email.tls="none"'],
            capture_output=True,
            text=True,
            timeout=60,
        )
        tested = http.post("/v1/alerts/test", timeout=120)

        # The same, written in the file by hand and reloaded: refused, the last good one kept.
        plain = config.read_text().replace('tls = "starttls"', 'tls = "none"')
        config.write_text(plain)
        reloaded = http.post("/v1/reload", json={})
        tested_again = http.post("/v1/alerts/test", timeout=120)
    captured = b"".join(password for _, password in recorder.logins)
    print(f"SMTP password bytes received in the clear: {len(captured)}")
    assert PASSWORD.encode() not in captured and recorder.logins == []
    assert patched.status_code == 403, patched.text
    assert patched.json()["error"]["code"] == "file_only"
    assert "welcome_email.tls" in patched.json()["error"]["keys"]
    assert by_ctl.returncode == 1 and "configuration file only" in by_ctl.stderr
    assert tested.status_code == 200 and tested.json()["channels"]["email"] != "sent"
    assert reloaded.status_code == 422, reloaded.text
    assert "welcome_email.tls" in reloaded.text
    assert tested_again.json()["channels"]["email"] != "sent"

    checked = subprocess.run(
        daemon_command("check-config", "--config", str(config)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 2, checked.stdout
    assert "welcome_email.tls" in checked.stderr and "plain SMTP" in checked.stderr
    started = subprocess.run(
        daemon_command("run", "--config", str(config), "--state-dir", str(tmp_path / "s")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 2 and "welcome_email.tls" in started.stderr


def test_plain_smtp_to_loopback_stays_allowed(tmp_path: Path) -> None:
    """The rule is about the network: a relay on this host (127.0.0.1) may be plain."""
    config = smtp_config(tmp_path, "127.0.0.1", 2525, "none")
    checked = subprocess.run(
        daemon_command("check-config", "--config", str(config)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
