"""``azsyncd demo --target zammad``: the demo daemon syncs the simulated Contoso into a
simulated Zammad of its own process, which ends with the demo however the demo ends."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.helpers import daemon_command, short_dir, wait_for, wait_for_socket, within
from tests.service.test_sync_process import children, gone

pytestmark = pytest.mark.slow


def demo(tmp_path: Path) -> tuple[subprocess.Popen[str], Path, Path]:
    sock = short_dir() / "demo.sock"
    workdir = tmp_path / "demo"
    proc = subprocess.Popen(
        daemon_command("demo", "--target", "zammad", "--socket", str(sock), "--dir", str(workdir)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_socket(sock, timeout=30, proc=proc)
    return proc, sock, workdir


def simulator_of(proc: subprocess.Popen[str]) -> int:
    [found] = children(proc.pid, b"zammad.simulator")
    return found


def test_the_demo_fills_a_simulated_zammad_and_stops_it(tmp_path: Path) -> None:
    proc, sock, workdir = demo(tmp_path)
    simulator = simulator_of(proc)
    try:
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(sock)), base_url="http://d") as api:
            last = wait_for(
                lambda: (
                    (r := api.get("/v1/status").json()["last_run"])
                    and r["status"] not in ("running",)
                    and r
                ),
                60,
                "the demo's first sync",
            )
            assert last["counts"]["new"] > 150 and last["counts"]["failed"] > 10
            fields = {f["name"]: f["type"] for f in api.get("/v1/fields").json()["fields"]}
            assert fields["Newsletter"] == "boolean" and fields["Last review"] == "datetime"
        config = (workdir / "azsyncd.toml").read_text()
        base = re.search(r'base_url = "([^"]+)"', config)
        assert base is not None and 'kind = "zammad"' in config
        token = (workdir / "zammad-token").read_text().strip()
        assert token not in config and (workdir / "zammad-token").stat().st_mode & 0o077 == 0
        headers = {"Authorization": f"Token token={token}"}
        users = httpx.get(f"{base[1]}/api/v1/users", params={"per_page": 1000}, headers=headers)
        customers = [u for u in users.json() if u["role_ids"] == [3]]
        assert len(customers) == last["counts"]["new"]
        orgs = httpx.get(f"{base[1]}/api/v1/organizations", headers=headers).json()
        assert {"Sales desk", "Customer facing"} <= {o["name"] for o in orgs}
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(within(30))
    wait_for(lambda: gone(simulator), 10, "the simulated Zammad ending with the demo")


def test_a_killed_demo_leaves_no_simulated_zammad_behind(tmp_path: Path) -> None:
    proc, _, _ = demo(tmp_path)
    simulator = simulator_of(proc)
    proc.kill()
    proc.wait(within(10))
    wait_for(lambda: gone(simulator), 10, "the simulated Zammad ending with the killed demo")
