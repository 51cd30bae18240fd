"""Welcome emails survive kill -9: the daemon as a process is killed twenty times while it
sends (SMTP on 127.0.0.1, slow on purpose), restarted each time; no contact ever gets two,
every created contact ends confirmed or marked, and each crash marks at most one."""

from __future__ import annotations

import asyncio
import random
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from azsyncd.demo.directory import DEMO_SECRET
from azsyncd.state.repository import WELCOME_MAYBE
from tests.engine_setup import tenant_toml
from tests.fakes.directory import contoso
from tests.fakes.servers import serve_directory, tls_for_localhost
from tests.helpers import running_daemon, short_dir, wait_for, within
from tests.unit.test_welcome_and_crash import free_port

pytestmark = [pytest.mark.slow, pytest.mark.long]
CRASHES = 20
USERS = 300


class SlowInbox:
    """Takes a while over each message, so that a kill often lands mid-send."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.02)
        with self.lock:
            self.received.extend(r.lower() for r in envelope.rcpt_tos)
        return "250 OK"

    def count(self) -> int:
        with self.lock:
            return len(self.received)


@pytest.fixture
def mailing(tmp_path: Path) -> Iterator[tuple[Path, Path, SlowInbox]]:
    tls, ca = tls_for_localhost(tmp_path)
    directory = contoso(users=USERS)
    inbox = SlowInbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    with serve_directory(directory, tls):
        (tmp_path / "secret").write_text(DEMO_SECRET)
        config = tmp_path / "azsyncd.toml"
        config.write_text(
            f"""
[account]
name = "Crash Desk"
[mapping]
skip_empty_phones = true
[welcome_email]
enabled = true
smtp_host = "127.0.0.1"
smtp_port = {smtp.port}
tls = "none"
from_address = "helpdesk@contoso.example"
portal_url = "https://support.contoso.example"
"""
            + tenant_toml(login=directory.login, graph=directory.graph, extra=f'ca_bundle = "{ca}"')
        )
        config.chmod(0o600)
        yield config, short_dir() / "state", inbox
    smtp.stop()


def ctl(socket: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "azsyncd.control.ctl", "--socket", str(socket), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=30)


def welcome_states(state_dir: Path) -> Counter[str]:
    with sqlite3.connect(state_dir / "state.db") as db:
        rows = db.execute("SELECT welcome_state FROM contact_binding").fetchall()
    return Counter(state for (state,) in rows)


def test_twenty_kill_9_while_sending_welcomes(mailing: tuple[Path, Path, SlowInbox]) -> None:
    config, state_dir, inbox = mailing
    rng = random.Random(11)
    unknown_before = 0
    for _ in range(CRASHES):
        with running_daemon(config, state_dir=state_dir) as daemon, daemon.client() as http:
            assert welcome_states(state_dir)["sending"] == 0  # orphans were marked at start
            unknown = welcome_states(state_dir)["unknown"]
            assert unknown - unknown_before <= 1  # at most one marked per crash
            unknown_before = unknown
            sent_before = inbox.count()
            assert http.post("/v1/sync", json={}).status_code == 202
            wanted = sent_before + rng.randint(1, 8)
            wait_for(
                lambda wanted=wanted: inbox.count() >= wanted,
                30,
                "welcome emails being sent",
                interval=0.005,
            )
            daemon.proc.send_signal(signal.SIGKILL)
            daemon.proc.wait(within(10))

    with running_daemon(config, state_dir=state_dir) as daemon, daemon.client() as http:
        run = http.post("/v1/sync", json={"wait": True, "timeout": 120}, timeout=130).json()["run"]
        assert run["status"] in ("succeeded", "partial")
        states = welcome_states(state_dir)
        created = http.get("/v1/contacts", params={"limit": 1}).json()["total"]
        per_contact = Counter(inbox.received)
        with sqlite3.connect(state_dir / "state.db") as db:
            marked = db.execute(
                "SELECT email, welcome_run FROM contact_binding WHERE welcome_state = 'unknown'"
            ).fetchall()
            sent = {
                email
                for (email,) in db.execute(
                    "SELECT email FROM contact_binding WHERE welcome_state = 'sent'"
                )
            }
        assert max(per_contact.values()) == 1  # no contact ever got two
        assert set(states) <= {"sent", "unknown"} and sum(states.values()) == created > 200
        assert 0 < states["unknown"] <= CRASHES
        assert sent <= set(per_contact) <= sent | {email for email, _ in marked}
        for email, run_id in marked:
            record = http.get(f"/v1/runs/{run_id}/records", params={"search": email}).json()
            assert WELCOME_MAYBE in record["records"][0]["result"]
        never_arrived = [email for email, _ in marked if email not in per_contact]
        if never_arrived:
            resend = ctl(daemon.socket, "welcome", "resend", never_arrived[0])
            assert resend.returncode == 0, resend.stderr
            assert Counter(inbox.received)[never_arrived[0]] == 1
        again = ctl(daemon.socket, "welcome", "resend", sorted(sent)[0])
        assert again.returncode == 1 and "got its welcome email on" in again.stderr
    print(
        f"\n{CRASHES} kill -9 while sending: {created} contacts created, "
        f"{len(per_contact)} welcome emails received, {states['unknown']} marked "
        f"'may not have been sent' ({len(never_arrived)} of them never arrived), "
        f"0 duplicates"
    )
