from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys

import httpx
import pytest

from tests.helpers import daemon_command, short_dir, wait_for, wait_for_socket, within
from tests.service.test_sync_process import children

pytestmark = pytest.mark.slow


def test_demo_syncs_the_simulated_directory_and_says_what_to_try(tmp_path) -> None:  # type: ignore[no-untyped-def]
    sock = short_dir() / "demo.sock"
    proc = subprocess.Popen(
        daemon_command("demo", "--socket", str(sock)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_socket(sock, proc=proc)
        with httpx.Client(
            transport=httpx.HTTPTransport(uds=str(sock)), base_url="http://azsyncd"
        ) as http:
            wait_for(
                lambda: (
                    (http.get("/v1/status").json()["last_run"] or {}).get("status")
                    not in (None, "running")
                ),
                30,
                "the demo's first sync ended",
                interval=0.1,
            )
            status = http.get("/v1/status").json()
            assert status["tenants"][0]["status"] == "active" and status["sync_enabled"]
            counts = status["last_run"]["counts"]
            assert counts["new"] > 150 and counts["failed"] > 10
            fields = http.get("/v1/fields").json()["fields"]
            assert {f["type"] for f in fields} == {"text", "number", "dropdown", "date"}
            assert any(f["required"] for f in fields)
            assert http.get("/v1/contacts", params={"search": "anna"}).json()["total"] >= 1
            report = http.get("/v1/runs/latest/report.csv").text.removeprefix("\ufeff")
            rows = list(csv.DictReader(io.StringIO(report)))
            failed = [r["Result"] for r in rows if r["Sync Status"] == "Failed"]
            assert any("datatype mismatch" in r for r in failed) and any(
                "is not a choice" in r for r in failed
            )
            assert any("phone (mo) <- mobilePhone: empty" in r for r in failed)
            leavers = [r for r in rows if r["Type"] == "Leaver"]
            assert leavers and all("account disabled in Entra ID" in r["Result"] for r in leavers)
            assert counts["left"] == len(leavers) and counts["grouped"] > 0
            contacts = http.get("/v1/contacts", params={"limit": 1000}).json()["contacts"]
            off = [c for c in contacts if not c["login_enabled"]]
            off = [c for c in off if c["email"] != "jamie.joiner@contoso.example"]  # a joiner
            assert len(off) == len(leavers)
            assert all(
                "Left Microsoft Entra ID: Contoso (simulated)" in c["contact_groups"] for c in off
            )
            # The demo's joiner: the contact ready two days ahead, its login off, no welcome.
            jamie = [c for c in contacts if c["email"] == "jamie.joiner@contoso.example"]
            assert len(jamie) == 1 and not jamie[0]["login_enabled"]
            joiners = http.get("/v1/lifecycle/joiners").json()
            assert [(j["email"], j["days_left"], j["created"]) for j in joiners["joiners"]] == [
                ("jamie.joiner@contoso.example", 2, True)
            ]
            joiner_rows = [r for r in rows if r["Type"] == "Joiner"]
            assert [r["Email"] for r in joiner_rows] == ["jamie.joiner@contoso.example"]
            # The quality report of the users that fail, grouped by fix.
            quality = http.get("/v1/report/quality").json()
            assert quality["failing"] == counts["failed"]
            assert any(
                g["kind"] == "choice" and g["attribute"] == "officeLocation"
                for g in quality["groups"]
            )
            assert "Set mobilePhone for " in quality["text"]
            sales = [c for c in contacts if "Sales desk" in c["contact_groups"]]
            assert sales and all(
                c["custom_fields"]["Department"].startswith("Sales") for c in sales
            )
            # The demo's runs are processes of their own, reading the directory the
            # daemon's API changes.
            assert http.post("/v1/demo/users", json={"name": "Ada Lovelace"}).status_code == 201
            run_id = http.post("/v1/sync", json={}).json()["run_id"]
            wait_for(
                lambda: (
                    children(proc.pid)
                    or http.get(f"/v1/runs/{run_id}").json()["status"] != "running"
                )
            )
            assert children(proc.pid), "the run did not go to a process of its own"
            wait_for(lambda: http.get(f"/v1/runs/{run_id}").json()["status"] != "running")
            ada = http.get("/v1/contacts", params={"search": "ada.lovelace"}).json()
            assert ada["total"] == 1, ada
        env = {**os.environ, "AZSYNCD_SOCKET": str(sock)}
        ctl = subprocess.run(
            [sys.executable, "-m", "azsyncd.control.ctl", "sync", "--dry-run", "--wait"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert ctl.returncode in (0, 4) and "0 new, 0 updated" in ctl.stdout
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=within(30))
    assert proc.returncode == 0, err
    assert f"listening on {sock}" in out and f"azsyncctl --socket {sock} status" in out
    assert "simulated Contoso tenant with 251 users" in out  # the joiner too
    assert "lifecycle               # leavers" in out
    assert "lifecycle joiners       # Jamie Joiner starts in 2 days" in out
    assert "report quality          # failing users grouped by fix" in out
    assert f'azsyncctl --socket {sock} demo add-user "Ada Lovelace"' in out
    assert not sock.exists()
