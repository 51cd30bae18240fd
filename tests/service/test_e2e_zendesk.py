"""End to end with Zendesk: the daemon as a real process (each run in its own), Microsoft
identity + Graph over loopback HTTPS, and the fake Zendesk over HTTP on loopback."""

from __future__ import annotations

import csv
import io
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Deadline, wait_for
from tests.service.e2e_world import sync_and_wait
from tests.service.test_sync_process import children, gone
from tests.service.zendesk_world import SALES_DESK, ZendeskWorld, make_world, started

pytestmark = [pytest.mark.slow, pytest.mark.long]
LEFT = "Left Microsoft Entra ID: Contoso"  # [lifecycle] group_name, by default


def uid(i: int) -> str:
    return f"00000000-0000-4000-a000-{i:012d}"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ZendeskWorld]:
    yield from make_world(tmp_path)


def failed_results(http: Any, run_id: int) -> dict[str, str]:
    report = http.get(f"/v1/runs/{run_id}/report.csv").text.removeprefix("\ufeff")
    return {
        row["Email"]: row["Result"]
        for row in csv.DictReader(io.StringIO(report))
        if row["Sync Status"] == "Failed"
    }


def log_of(run: dict[str, Any]) -> str:
    return "\n".join(line["message"] for line in run["log"])


def test_first_sync_in_jobs_then_delta_address_change_leavers_and_an_organization(
    world: ZendeskWorld,
) -> None:
    zd, directory = world.zendesk, world.directory
    zd.fail_rows[uid(10)] = "Email: suppressed by the account's spam filter"
    with started(world) as daemon, daemon.client() as http:
        assert http.post("/v1/tenants/contoso/authorize").json()["state"]["status"] == "active"
        first = sync_and_wait(http)
        synced = zd.end_users()
        assert first["counts"]["new"] == len(synced) > 90
        assert zd._stats()["bulk_posts"] >= 2 and zd._stats()["single_posts"] == 0
        assert max(zd.created.values()) == 1 and all(u["external_id"] for u in synced)
        failed = failed_results(http, first["id"])
        ten = directory.users[uid(10)]["userPrincipalName"]
        assert "suppressed by the account's spam filter (UserUpdateError)" in failed[ten]
        assert any('"A-6" is not a number' in reason for reason in failed.values())
        # A user disabled in Entra ID is suspended; none is deleted.
        assert zd.user_by_external(uid(5))["suspended"] is True and not zd.deletes
        sales = {
            int(zd.user_by_external(u)["id"])
            for u, user in directory.users.items()
            if user["department"] == "Sales" and zd.user_by_external(u)
        }
        assert sales and zd.org_members(SALES_DESK) == sales
        # Organizations, each made once: the rule's (its members see the organization's
        # tickets), and the leavers' of [lifecycle].
        assert {o["name"]: o["shared_tickets"] for o in zd.organizations.values()} == {
            SALES_DESK: True,
            LEFT: False,
        }
        assert zd.user_by_external(uid(5))["id"] in zd.org_members(LEFT)

        # A delta: one department changed; the user leaves the rule's organization, and a
        # member put there by hand stays.
        by_hand = int(zd.user_by_external(uid(1))["id"])  # Support
        org_id = next(o for o, org in zd.organizations.items() if org["name"] == SALES_DESK)
        zd._membership({"user_id": by_hand, "organization_id": org_id})
        directory.update_user(uid(0), department="Legal")
        second = sync_and_wait(http)
        assert (second["counts"]["new"], second["counts"]["updated"]) == (0, 1)
        anna = zd.user_by_external(uid(0))
        assert anna["user_fields"]["department"] == "Legal"
        assert zd.org_members(SALES_DESK) == (sales - {anna["id"]}) | {by_hand}

        # An address change: the same Zendesk user, the new address primary.
        before = len(zd.end_users())
        old = directory.users[uid(2)]["userPrincipalName"]
        directory.update_user(uid(2), userPrincipalName="renamed.two@contoso.example")
        sync_and_wait(http)
        moved = zd.user_by_external(uid(2))
        assert moved["email"] == "renamed.two@contoso.example"
        assert dict(zd.emails_of(moved["id"])) == {
            "renamed.two@contoso.example": True,
            old: False,
        }
        assert len(zd.end_users()) == before and max(zd.created.values()) == 1

        # Leavers: the disabled user comes back, another one leaves.
        directory.update_user(uid(5), accountEnabled=True)
        directory.update_user(uid(4), accountEnabled=False)
        leavers = sync_and_wait(http)
        assert zd.user_by_external(uid(5))["suspended"] is False
        assert zd.user_by_external(uid(4))["suspended"] is True
        assert "1 leaver(s) lost their login, 1 got it back" in log_of(
            http.get(f"/v1/runs/{leavers['id']}").json()
        )
        assert not zd.deletes and zd.staff_writes == []


def test_bulk_refused_goes_one_call_a_user_said_once_in_the_log_and_status(
    world: ZendeskWorld,
) -> None:
    world.zendesk.bulk_enabled = False
    with started(world) as daemon, daemon.client() as http:
        http.post("/v1/tenants/contoso/authorize")
        run = sync_and_wait(http)
        users = world.zendesk.end_users()
        assert run["counts"]["new"] == len(users) > 90
        assert world.zendesk._stats()["single_posts"] == len(users)
        # The leavers' step edits by id, one call each.
        suspended = [u["id"] for u in users if u["suspended"]]
        puts = [p for m, p, _ in world.zendesk.calls if m == "PUT"]
        assert suspended and sorted(puts) == sorted(f"/api/v2/users/{i}" for i in suspended)
        log = log_of(http.get(f"/v1/runs/{run['id']}").json())
        assert log.count("Zendesk refused bulk user imports (403)") == 1
        [note] = http.get("/v1/status").json()["target_notes"]
        assert note.startswith("Zendesk refused bulk user imports (403)")
        shown = subprocess.run(
            [sys.executable, "-m", "azsyncd.control.ctl", "--socket", str(daemon.socket), "status"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "target: Zendesk refused bulk user imports (403)" in shown.stdout, shown.stderr
        assert max(world.zendesk.created.values()) == 1


def test_kill_9_mid_job_then_restart_resumes_without_duplicates(world: ZendeskWorld) -> None:
    zd = world.zendesk
    zd.job_row = 0.05  # a job of 100 takes five seconds
    with started(world) as daemon, daemon.client() as http:
        http.post("/v1/tenants/contoso/authorize")
        run_id = int(http.post("/v1/sync", json={}).json()["run_id"])

        def mid_job() -> bool:
            with zd._lock:
                return any(0 < job.done < len(job.rows) for job in zd.jobs.values())

        wait_for(mid_job, 60, "a job half done")
        [worker] = children(daemon.proc.pid)
        daemon.proc.send_signal(signal.SIGKILL)
        daemon.proc.wait(Deadline(10).left())
        wait_for(lambda: gone(worker), 10, "the run's process ended with the daemon")
    zd.job_row = 0.002
    with started(world) as daemon, daemon.client() as http:
        killed = http.get(f"/v1/runs/{run_id}").json()
        assert killed["status"] == "interrupted"
        final = sync_and_wait(http)
        assert "Zendesk bulk job(s) a stopped run had left" in log_of(
            http.get(f"/v1/runs/{final['id']}").json()
        )
        users = zd.end_users()
        assert max(zd.created.values()) == 1 and len({u["external_id"] for u in users}) == len(
            users
        )
        again = sync_and_wait(http)
        assert again["counts"]["new"] == again["counts"]["updated"] == 0
