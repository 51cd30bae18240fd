"""End to end with Freshservice: the daemon as a real process (each run in its own, as under
``azsyncd run``), its socket used as a script would, the simulated directory over HTTPS on
loopback and the fake Freshservice over HTTP on loopback."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from azsyncd.demo.directory import DEMO_SECRET
from tests.engine_setup import tenant_toml
from tests.fakes.directory import FakeTenant, contoso
from tests.fakes.freshservice import FakeFreshservice
from tests.fakes.servers import serve, tls_for_localhost, wsgi_from_handler
from tests.freshservice_setup import MAPPING_TOML, freshservice_toml
from tests.helpers import running_daemon, short_dir
from tests.service.e2e_world import sync_and_wait

pytestmark = pytest.mark.slow
LEFT = "Left Microsoft Entra ID: Contoso"
SALES_DESK = "Sales desk"
ANN = "00000000-0000-4000-a000-000000000000"  # Sales, Berlin
DISABLED = "00000000-0000-4000-a000-000000000036"  # disabled in the directory, Berlin


@dataclass
class World:
    directory: FakeTenant
    freshservice: FakeFreshservice
    config: Path
    state_dir: Path

    def requester(self, user_id: str) -> dict[str, Any]:
        return self.freshservice.requester(self.directory.users[user_id]["mail"])


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    tls, ca = tls_for_localhost(tmp_path)
    # Its filters see a write three minutes later: every sync below comes sooner, so each
    # requester is found by the id it is bound to, never by a search.
    fake = FakeFreshservice(time.monotonic)
    directory = contoso(users=60)
    with (
        serve(wsgi_from_handler(directory.handle), tls) as login_port,
        serve(wsgi_from_handler(directory.handle), tls) as graph_port,
        serve(fake) as fs_port,
    ):
        directory.login = f"https://localhost:{login_port}"
        directory.graph = f"https://localhost:{graph_port}"
        (tmp_path / "secret").write_text(DEMO_SECRET)
        (tmp_path / "key").write_text("key")
        config = tmp_path / "azsyncd.toml"
        config.write_text(
            '[account]\nname = "E2E Desk"\n'
            + freshservice_toml(f"http://127.0.0.1:{fs_port}")
            + tenant_toml(
                login=directory.login,
                graph=directory.graph,
                extra=f'display_name = "Contoso"\nca_bundle = "{ca}"',
            )
            + MAPPING_TOML
            + f'\n[[contact_groups]]\ngroup = "{SALES_DESK}"\n'
            + "when = 'department starts with \"Sales\"'\n"
            + '\n[lifecycle]\non_disabled = "disable_login"\n'
        )
        config.chmod(0o600)
        yield World(directory, fake, config, short_dir() / "state")


def started(world: World) -> Any:
    return running_daemon(world.config, state_dir=world.state_dir)


def failures(http: Any) -> list[str]:
    report = http.get("/v1/runs/latest/report.csv").text.removeprefix("\ufeff")
    return [
        r["Result"] for r in csv.DictReader(io.StringIO(report)) if r["Sync Status"] == "Failed"
    ]


def test_first_sync_then_a_delta(world: World) -> None:
    fake = world.freshservice
    with started(world) as daemon, daemon.client() as http:
        assert http.post("/v1/tenants/contoso/authorize").json()["state"]["status"] == "active"
        first = sync_and_wait(http)
        assert first["status"] == "partial"
        assert first["counts"]["new"] == len(fake.requesters) > 30
        reasons = failures(http)
        assert any('"A-6" is not a number (datatype mismatch)' in r for r in reasons)
        assert any("is not a choice of this field (allowed: Berlin, London)" in r for r in reasons)
        ann = world.requester(ANN)
        user = world.directory.users[ANN]
        assert (ann["first_name"], ann["last_name"]) == (user["givenName"], user["surname"])
        assert ann["work_phone_number"] == user["businessPhones"][0]
        assert ann["job_title"] == user["jobTitle"]
        assert [fake.departments[i]["name"] for i in ann["department_ids"]] == ["Sales"]
        assert ann["custom_fields"]["cf_employee_id"] == int(user["employeeId"])
        assert ann["custom_fields"]["cf_hire_date"] == user["employeeHireDate"][:10]
        assert sorted(d["name"] for d in fake.departments.values()) == sorted(
            {u["department"] for u in world.directory.users.values()}
        )

        requests = len(world.directory.requests)
        calls = len(fake.calls)
        world.directory.update_user(ANN, department="Legal", jobTitle="Counsel")
        second = sync_and_wait(http)
        assert (second["counts"]["new"], second["counts"]["updated"]) == (0, 1)
        graph = [r for r in world.directory.requests[requests:] if "/v1.0/users" in r]
        assert graph and all("delta" in r for r in graph)  # only the changes were read
        writes = [(m, p) for m, p, _, _ in fake.calls[calls:] if m != "GET"]
        sales_desk = next(g["id"] for g in fake.groups.values() if g["name"] == SALES_DESK)
        assert writes == [
            ("PUT", f"/api/v2/requesters/{ann['id']}"),  # Legal is a department already
            ("DELETE", f"/api/v2/requester_groups/{sales_desk}/members/{ann['id']}"),  # no Sales
        ]
        ann = world.requester(ANN)
        assert ann["job_title"] == "Counsel"
        assert [fake.departments[i]["name"] for i in ann["department_ids"]] == ["Legal"]
    assert max(fake.created.values()) == 1
    assert fake.throttled == 0 and fake.forgotten == []


def test_a_leaver_is_deactivated_then_reactivated_and_a_rule_fills_its_group(world: World) -> None:
    fake = world.freshservice
    with started(world) as daemon, daemon.client() as http:
        sync_and_wait(http)
        # The disabled account's requester was created, then deactivated, and moved.
        gone = world.requester(DISABLED)
        assert gone["active"] is False and gone["id"] in fake.group(LEFT)
        sales = {
            world.requester(u)["id"]
            for u, user in world.directory.users.items()
            if user["department"] == "Sales" and user["mail"].lower() in fake.by_email
        }
        assert sales and fake.group(SALES_DESK) == sales

        world.directory.update_user(DISABLED, accountEnabled=True)
        world.directory.update_user(ANN, accountEnabled=False, department="Support")
        run = sync_and_wait(http)
        assert run["counts"]["left"] == 1 and run["counts"]["returned"] == 1
        back, ann = world.requester(DISABLED), world.requester(ANN)
        assert back["active"] is True and back["id"] not in fake.group(LEFT)
        assert ann["active"] is False and ann["id"] in fake.group(LEFT)
        assert ann["id"] not in fake.group(SALES_DESK)  # no longer in Sales
        log = " ".join(line["message"] for line in run["log"])
        assert "1 leaver(s) lost their login, 1 got it back, 0 failed" in log
    deactivations = [p for m, p, _, _ in fake.calls if m == "DELETE" and "/members/" not in p]
    assert all(p.count("/") == 4 for p in deactivations)  # /api/v2/requesters/<id>, nothing else
    assert fake.forgotten == []


def test_the_see_department_tickets_flag_survives_an_update(world: World) -> None:
    with started(world) as daemon, daemon.client() as http:
        sync_and_wait(http)
        ann = world.requester(ANN)
        ann["can_see_all_tickets_from_associated_departments"] = True  # set by an agent
        world.directory.update_user(ANN, jobTitle="Head of Sales")
        run = sync_and_wait(http)
        assert run["counts"]["updated"] == 1
        ann = world.requester(ANN)
        assert ann["job_title"] == "Head of Sales"
        assert ann["can_see_all_tickets_from_associated_departments"] is True


def test_an_address_change_edits_the_same_requester(world: World) -> None:
    fake = world.freshservice
    with started(world) as daemon, daemon.client() as http:
        sync_and_wait(http)
        before = world.requester(ANN)
        count = len(fake.requesters)
        new = "anna.lee@contoso.example"
        world.directory.update_user(ANN, userPrincipalName=new, mail=new)
        run = sync_and_wait(http)
        assert (run["counts"]["new"], run["counts"]["updated"]) == (0, 1)
        after = fake.requester(new)
        assert after["id"] == before["id"] and len(fake.requesters) == count
        assert (
            after["primary_email"] == new and "anna.andersson0@contoso.example" not in fake.by_email
        )
        records = http.get(f"/v1/runs/{run['id']}/records").json()["records"]
        moved = [r for r in records if r["email"] == new]
        assert moved and "address changed" in moved[0]["result"]
        assert before["id"] in fake.group(SALES_DESK)  # still the same member
    assert max(fake.created.values()) == 1 and fake.forgotten == []
