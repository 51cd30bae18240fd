"""``azsyncd demo --target freshservice``: the demo daemon writing to a simulated Freshservice
account in a process of its own, which ends with the demo (even on kill -9)."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.helpers import Deadline, daemon_command, short_dir, wait_for, wait_for_socket, within
from tests.service.test_sync_process import children, gone

pytestmark = pytest.mark.slow


def account_of(demo: subprocess.Popen[str], key: str) -> int:
    """The demo's simulated account process; the API key is not on its command line, which
    every user of the machine can read."""
    [pid] = children(demo.pid, b"azsyncd.targets.freshservice.simulated")
    assert key.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
    return pid


def start_demo(sock: Path, workdir: Path) -> tuple[subprocess.Popen[str], str, str]:
    """The demo (its config and state in ``workdir``), the account's URL and its API key."""
    proc = subprocess.Popen(
        daemon_command(
            "demo", "--target", "freshservice", "--socket", str(sock), "--dir", str(workdir)
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_socket(sock, proc=proc, timeout=30)
    assert proc.stdout is not None
    head = "".join(proc.stdout.readline() for _ in range(4))
    url = re.search(r"http://127\.0\.0\.1:(\d+)", head)
    assert url and f"config and state: {workdir}" in head, head
    return proc, url.group(0), (workdir / "freshservice-api-key").read_text()


def test_the_demo_writes_requesters_to_a_simulated_account_that_ends_with_it(
    tmp_path: Path,
) -> None:
    sock = short_dir() / "demo.sock"
    proc, url, key = start_demo(sock, tmp_path / "demo")
    try:
        with httpx.Client(
            transport=httpx.HTTPTransport(uds=str(sock)), base_url="http://azsyncd", timeout=30
        ) as http:
            wait_for(
                lambda: (
                    (http.get("/v1/status").json()["last_run"] or {}).get("status")
                    not in (None, "running")
                ),
                60,
                "the demo's first sync ended",
            )
            status = http.get("/v1/status").json()
            counts = status["last_run"]["counts"]
            assert counts["new"] > 150 and counts["failed"] > 10 and counts["left"] > 0
            fields = {f["name"]: f for f in http.get("/v1/fields").json()["fields"]}
            assert (
                fields["Office"]["required"] and fields["Office"]["raw_type"] == "custom_dropdown"
            )
            assert fields["Department"]["type"] == "text"
        with httpx.Client(base_url=f"{url}/api/v2/", auth=(key, "X")) as desk:
            requesters = desk.get("requesters", params={"per_page": 100}).json()["requesters"]
            assert requesters and all(r["first_name"] for r in requesters)
            groups = {g["name"] for g in desk.get("requester_groups").json()["requester_groups"]}
            assert {"Sales desk", "Left Microsoft Entra ID: Contoso (simulated)"} <= groups
            off = desk.get("requesters", params={"active": "false", "per_page": 100})
            off_emails = {r["primary_email"] for r in off.json()["requesters"]}
            # The leavers, and the demo's joiner: created deactivated until its hire date.
            assert counts["joiners"] == 1 and "jamie.joiner@contoso.example" in off_emails
            assert len(off_emails) == counts["left"] + counts["joiners"]
        account = account_of(proc, key)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=Deadline(30).left())
    assert proc.returncode == 0, err
    wait_for(lambda: gone(account), 15, "the simulated account ended with the demo")


def test_a_demo_killed_takes_its_account_along(tmp_path: Path) -> None:
    sock = short_dir() / "demo.sock"
    proc, _, key = start_demo(sock, tmp_path / "demo")
    account = account_of(proc, key)
    proc.kill()
    proc.wait(within(10))
    wait_for(lambda: gone(account), 15, "the simulated account ended with the demo", 0.1)


def test_a_target_without_a_simulated_account_is_refused_with_the_choices() -> None:
    done = subprocess.run(
        daemon_command("demo", "--target", "happyfox"), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert 'no simulated account of "happyfox"' in done.stderr
    assert "use --target with one of: local, freshservice" in done.stderr
