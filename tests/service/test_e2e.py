"""End to end: the daemon as a real process, its socket used as a script would, and real
HTTP servers on 127.0.0.1 for Microsoft identity + Graph (HTTPS, throwaway CA) and HappyFox."""

from __future__ import annotations

import csv
import io
import signal

import pytest

from tests.helpers import within
from tests.service.e2e_world import World, start_a_slow_sync, started, sync_and_wait, wait_for
from tests.service.test_sync_process import children, gone

pytestmark = pytest.mark.slow
CUSTOMER_FACING = "a0000001-0000-4000-b000-000000000000"


def test_first_sync_then_only_changes(world: World) -> None:
    with started(world) as daemon, daemon.client() as http:
        assert http.post("/v1/tenants/contoso/authorize").json()["state"]["status"] == "active"
        first = sync_and_wait(http)
        created = len(world.happyfox.contacts)
        assert first["counts"]["new"] == created > 50 and first["status"] == "partial"
        report = http.get("/v1/runs/latest/report.csv").text.removeprefix("\ufeff")
        results = [
            row["Result"]
            for row in csv.DictReader(io.StringIO(report))
            if row["Sync Status"] == "Failed"
        ]
        assert any('"A-6" is not a number (datatype mismatch)' in r for r in results)
        assert any("is not a choice of this field (allowed: Berlin, London)" in r for r in results)

        requests_before = len(world.directory.requests)
        world.directory.update_user("00000000-0000-4000-a000-000000000000", department="Legal")
        second = sync_and_wait(http)
        assert (second["counts"]["new"], second["counts"]["updated"]) == (0, 1)
        graph_calls = [r for r in world.directory.requests[requests_before:] if "/v1.0/users" in r]
        assert graph_calls and all("delta" in r for r in graph_calls)  # only the changes were read
        assert world.happyfox.by_email["anna.andersson0@contoso.example"]["custom"][1] == "Legal"
        assert max(world.happyfox.created.values()) == 1


def test_overwrite_off_and_group_scope(world: World) -> None:
    with started(world) as daemon, daemon.client() as http:
        assert (
            http.patch(
                "/v1/settings", json={"mapping": {"overwrite_custom_fields": False}}
            ).status_code
            == 200
        )
        assert (
            http.patch(
                "/v1/tenants/contoso", json={"users": "groups", "groups": [CUSTOMER_FACING]}
            ).status_code
            == 200
        )
        first = sync_and_wait(http)
        members = set(world.directory.transitive_members(CUSTOMER_FACING))
        assert first["counts"]["tenants"]["contoso"]["users"] == len(members)
        synced = next(
            m
            for m in sorted(members)
            if world.directory.users[m]["mail"] in world.happyfox.by_email
        )
        world.directory.update_user(synced, department="Legal", displayName="Renamed Person")
        newcomer = (
            "00000000-0000-4000-a000-000000000009"  # Engineering, Berlin: out of scope so far
        )
        world.directory.add_to_group(
            "90000000-0000-4000-b000-000000000000", newcomer
        )  # into Sales, nested
        second = sync_and_wait(http)
        contact = next(
            c for c in world.happyfox.contacts.values() if c["name"].startswith("Renamed")
        )
        assert contact["custom"][1] != "Legal"  # overwrite off: the custom field stayed
        assert world.directory.users[newcomer]["mail"] in world.happyfox.by_email
        assert second["counts"]["new"] == 1


def test_graph_429_storm_and_happyfox_429_lock(world: World) -> None:
    world.directory.throttle = [(429, 1), (429, 1), (503, 0)]
    world.happyfox.lock_seconds = 2
    world.happyfox.lock_next_call = True  # the first HappyFox call finds the account locked
    with started(world) as daemon, daemon.client() as http:
        run = sync_and_wait(http)
        assert run["counts"]["new"] == len(world.happyfox.contacts) > 50
        log = " ".join(line["message"] for line in run["log"])
        assert "Graph answered HTTP 429; waiting 1.0 s" in log
        assert "HappyFox answered 429 (rate limit): pausing all calls" in log
        assert max(world.happyfox.created.values()) == 1


def test_kill_9_mid_sync_then_restart_completes_without_duplicates(world: World) -> None:
    with started(world) as daemon, daemon.client() as http:
        run_id = start_a_slow_sync(world, http)
        [worker] = children(daemon.proc.pid)  # the run's own process
        daemon.proc.send_signal(signal.SIGKILL)
        daemon.proc.wait(within(10))
        wait_for(lambda: gone(worker), 10)  # it dies with the daemon: no writes after
    world.happyfox.delay = 0
    with (
        started(world) as daemon,
        daemon.client() as http,
    ):  # the killed daemon left its run "running"
        killed = http.get(f"/v1/runs/{run_id}").json()
        assert killed["status"] == "interrupted" and "killed or crashed" in killed["message"]
        final = sync_and_wait(http)
        emails = [c["email"] for c in world.happyfox.contacts.values()]
        assert len(emails) == len(set(emails)) and max(world.happyfox.created.values()) == 1
        records = http.get(f"/v1/runs/{final['id']}/records", params={"limit": 10000}).json()
        ok = [r for r in records["records"] if r["status"] != "failed"]
        assert len(ok) == len(emails)
        again = sync_and_wait(http)
        assert again["counts"]["new"] == again["counts"]["updated"] == 0


def test_sigterm_during_a_sync_stops_at_a_safe_point(world: World) -> None:
    with started(world) as daemon, daemon.client() as http:
        run_id = start_a_slow_sync(world, http)
        code, err = daemon.stop(signal.SIGTERM)
        assert code == 0, err
        assert not daemon.socket.exists()
    world.happyfox.delay = 0
    with started(world) as daemon, daemon.client() as http:
        run = http.get(f"/v1/runs/{run_id}").json()
        assert run["status"] == "interrupted" and "safe point" in run["message"]
        final = sync_and_wait(http)
        assert (
            final["status"] in ("succeeded", "partial")
            and max(world.happyfox.created.values()) == 1
        )


def test_each_failure_reason_reaches_the_csv_report(world: World) -> None:
    directory = world.directory
    directory.update_user("00000000-0000-4000-a000-000000000010", userPrincipalName="", mail=None)
    directory.update_user(
        "00000000-0000-4000-a000-000000000011", userPrincipalName="not an address"
    )
    directory.update_user("00000000-0000-4000-a000-000000000012", jobTitle=None)
    directory.update_user("00000000-0000-4000-a000-000000000013", mobilePhone=None)
    world.happyfox.fields[3]["required"] = True  # "Notes"
    with started(world) as daemon, daemon.client() as http:
        answer = http.patch(
            "/v1/settings",
            json={"mapping": {"skip_empty_phones": False, "custom_fields": {"Notes": "jobTitle"}}},
        )
        assert answer.status_code == 200, answer.text
        sync_and_wait(http)
        report = http.get("/v1/runs/latest/report.csv")
        assert report.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(report.text.removeprefix("\ufeff"))))
    results = " | ".join(row["Result"] for row in rows if row["Sync Status"] == "Failed")
    for reason in (
        "email <- userPrincipalName: empty in the directory",
        '"not an address" is not an email address',
        "Notes <- jobTitle: the field is required but empty",
        "phone (mo) <- mobilePhone: empty in the directory",
        "(datatype mismatch)",
        "is not a choice of this field (allowed: Berlin, London)",
    ):
        assert reason in results, reason
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row.values())
