"""End to end on real data: the daemon as a process, Graph and identity over loopback HTTPS,
the fake HappyFox over HTTP. Failing contacts stay listed without a full read or a second
write; a fix in the help desk works at the next sync; a full reconciliation sees agents'
edits; an interrupted run counts what it finished."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.happyfox import TEXT_LIMIT
from tests.service.e2e_world import World, start_a_slow_sync, started, sync_and_wait

pytestmark = pytest.mark.slow
ANN = "00000000-0000-4000-a000-000000000000"
OFFICE = 2  # the fake HappyFox's "Office" dropdown, by index


def records(http: httpx.Client, run_id: int, **params: Any) -> list[dict[str, Any]]:
    answer = http.get(f"/v1/runs/{run_id}/records", params={"limit": 10000, **params})
    return list(answer.json()["records"])


def ctl(daemon_socket: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "azsyncd.control.ctl", "--socket", str(daemon_socket), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_a_refused_contact_then_a_no_change_resync(world: World) -> None:
    world.directory.update_user(ANN, department="x" * (TEXT_LIMIT + 1))
    with started(world) as daemon, daemon.client() as http:
        first = sync_and_wait(http)
        failing = {r["email"] for r in records(http, first["id"], status="failed")}
        assert "anna.andersson0@contoso.example" in failing

        reads, posts = len(world.directory.requests), world.happyfox.post_calls("users/")
        calls = len(world.happyfox.calls)
        second = sync_and_wait(http)
        graph = [r for r in world.directory.requests[reads:] if "/v1.0/users" in r]
        assert len(graph) == 1 and "/users/delta?" in graph[0]  # the delta link: no changes
        assert world.happyfox.post_calls("users/") == posts  # 0 POSTs
        assert not [c for c in world.happyfox.calls[calls:] if c[0] == "POST"]
        listed = records(http, second["id"], status="failed")
        assert {r["email"] for r in listed} == failing  # every failure still in the log
        assert second["counts"]["failed"] == len(failing)
        ann = next(r for r in listed if r["email"] == "anna.andersson0@contoso.example")
        assert "no more than 255 characters" in ann["result"]
        assert ann["result"].endswith(f"(failing since run {first['id']})")
    print(
        f"\nrefused then resynced: {len(failing)} failing contacts listed again, "
        f"{len(graph)} Graph request (the delta, 0 changes), 0 POSTs, "
        f"{len(world.happyfox.calls) - calls} HappyFox calls"
    )


def test_a_new_dropdown_choice_on_the_help_desk_lets_the_failed_through(world: World) -> None:
    with started(world) as daemon, daemon.client() as http:
        first = sync_and_wait(http)
        remote = {
            r["email"]
            for r in records(http, first["id"], status="failed")
            if '"Remote" is not a' in r["result"] and r["result"].count(" <- ") == 1
        }
        assert len(remote) > 20 and not remote & set(world.happyfox.by_email)
        world.happyfox.fields[OFFICE]["choices"].append({"id": 33, "text": "Remote"})
        reads = len(world.directory.requests)
        second = sync_and_wait(http)
        assert all(
            "/users/delta?" in r for r in world.directory.requests[reads:] if "/v1.0/users" in r
        )
        assert remote <= set(world.happyfox.by_email)
        assert all(world.happyfox.by_email[e]["custom"][3] == 33 for e in remote)
        assert second["counts"]["new"] == len(remote)
    print(f"\na new dropdown choice: {len(remote)} failed contacts created at the next run")


def test_sync_full_sees_an_agents_edit_and_a_full_dry_run_previews_it(world: World) -> None:
    with started(world) as daemon, daemon.client() as http:
        sync_and_wait(http)
        ann = world.happyfox.by_email["anna.andersson0@contoso.example"]
        ann["custom"][1] = "Edited by an agent"
        assert sync_and_wait(http)["counts"]["updated"] == 0  # a delta does not see it
        preview = ctl(daemon.socket, "sync", "--full", "--dry-run", "--wait")
        assert preview.returncode in (0, 4), preview.stderr
        run_id = int(preview.stdout.split()[1])
        assert f"azsyncctl log {run_id}" in preview.stdout
        plan = records(http, run_id)
        assert len(plan) == 150  # every user, compared with the help desk
        mine = next(r for r in plan if r["email"] == "anna.andersson0@contoso.example")
        assert mine["result"] == 'Would update: Department: "Edited by an agent" -> "Sales"'
        assert ann["custom"][1] == "Edited by an agent"  # a dry run writes nothing
        done = ctl(daemon.socket, "sync", "--full", "--wait")
        assert "updated" in done.stdout and ann["custom"][1] == "Sales"
        log = " ".join(line["message"] for line in http.get("/v1/runs/latest").json()["log"])
        assert "full reconciliation (asked for (sync --full))" in log


def test_an_interrupted_run_records_the_counts_of_what_it_finished(world: World) -> None:
    with started(world) as daemon, daemon.client() as http:
        run_id = start_a_slow_sync(world, http)
        code, err = daemon.stop(signal.SIGTERM)
        assert code == 0, err
    world.happyfox.delay = 0
    with started(world) as daemon, daemon.client() as http:
        run = http.get(f"/v1/runs/{run_id}").json()
        assert run["status"] == "interrupted"
        done = records(http, run_id)
        created = [r for r in done if r["status"] == "success"]
        assert run["counts"]["new"] == len(created) > 0
        assert {r["email"] for r in created} <= set(world.happyfox.by_email)
        assert run["counts"]["failed"] == sum(r["status"] == "failed" for r in done)
    print(f"\nSIGTERM mid-sync: the interrupted run recorded {len(created)} created contacts")
