"""``azsyncd demo --target zendesk``: the demo daemon writes to a simulated Zendesk account
that runs as a process of its own, and stops it when it stops."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.helpers import daemon_command, short_dir, wait_for, wait_for_socket, within

pytestmark = pytest.mark.slow


def test_the_demo_syncs_into_a_simulated_zendesk_account() -> None:
    sock = short_dir() / "demo.sock"
    proc = subprocess.Popen(
        daemon_command("demo", "--target", "zendesk", "--socket", str(sock)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_socket(sock, timeout=30, proc=proc)
        assert proc.stdout is not None
        head = "".join(proc.stdout.readline() for _ in range(4))
        base = re.search(r"a simulated Zendesk account at (http://127\.0\.0\.1:\d+)", head)
        work = re.search(r"config and state: (\S+)", head)
        assert base and work, head
        token = (Path(work.group(1)) / "zendesk-token").read_text()
        with httpx.Client(
            transport=httpx.HTTPTransport(uds=str(sock)), base_url="http://azsyncd"
        ) as http:
            wait_for(
                lambda: (
                    (http.get("/v1/status").json()["last_run"] or {}).get("status")
                    not in (None, "running")
                ),
                60,
                "the demo's first sync ended",
                0.2,
            )
            status = http.get("/v1/status").json()
            assert status["target"] == "zendesk" and status["target_notes"] == []
            counts = status["last_run"]["counts"]
            assert counts["new"] > 200 and counts["left"] > 0 and counts["grouped"] > 0
            fields = {f["name"]: f["type"] for f in http.get("/v1/fields").json()["fields"]}
            assert fields["VIP"] == "boolean" and fields["Employee number"] == "integer"
        zendesk = httpx.Client(base_url=base.group(1), auth=("admin@acme.example/token", token))
        stats = zendesk.get("/api/v2/__stats__").json()
        assert stats["users"] == counts["new"] + 2  # and the account's own two customers
        assert stats["jobs"] > 0 and stats["duplicates"] == 0
        orgs = {o["name"] for o in zendesk.get("/api/v2/organizations").json()["organizations"]}
        assert {
            "Sales desk",
            "Customer facing",
            "Left Microsoft Entra ID: Contoso (simulated)",
        } <= orgs
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=within(30))
    assert proc.returncode == 0, err
    with pytest.raises(httpx.TransportError):  # the simulated account stopped with the demo
        httpx.get(f"{base.group(1)}/api/v2/users.json", timeout=2)


def test_a_killed_demo_leaves_no_simulated_zendesk_behind(tmp_path: Path) -> None:
    """The account ends when the demo's end closes its stdin, kill -9 included; its token
    was never on its command line."""
    from tests.helpers import wait_until
    from tests.service.test_sync_process import children, gone

    sock = short_dir() / "demo.sock"
    work = tmp_path / "demo"
    proc = subprocess.Popen(
        daemon_command("demo", "--target", "zendesk", "--socket", str(sock), "--dir", str(work)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_socket(sock, timeout=30, proc=proc)
        [account] = children(proc.pid, b"azsyncd.targets.zendesk.simulated")
        token = (work / "zendesk-token").read_bytes()
        assert token not in Path(f"/proc/{account}/cmdline").read_bytes()
    finally:
        proc.kill()
        proc.communicate(timeout=within(10))
    wait_until(lambda: gone(account), 15)
