"""End to end with Zammad: the daemon as a real process (``azsyncd run``, each run in its
own process), the simulated directory over loopback HTTPS, and the fake Zammad over HTTP on
127.0.0.1, driven through the control socket as a script would."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import tomli_w

from azsyncd.demo.directory import DEMO_SECRET
from tests.engine_setup import tenant_toml
from tests.fakes.directory import FakeTenant, contoso
from tests.fakes.servers import serve, tls_for_localhost, wsgi_from_handler
from tests.fakes.zammad import FakeZammad
from tests.helpers import running_daemon, short_dir
from tests.service.e2e_world import sync_and_wait

pytestmark = pytest.mark.slow
ANNA = "00000000-0000-4000-a000-000000000000"  # Anna Andersson, Sales
SALES = "Sales desk"


@dataclass
class ZammadWorld:
    directory: FakeTenant
    zammad: FakeZammad
    config: Path
    state_dir: Path

    def user(self, object_id: str) -> dict[str, Any]:
        found = self.zammad.by_address(self.directory.users[object_id]["mail"])
        assert found is not None, self.directory.users[object_id]["mail"]
        return found


def zammad_toml(base_url: str, extra: dict[str, Any] | None = None) -> str:
    tables: dict[str, Any] = {
        "account": {"name": "E2E Desk"},
        "target": {
            "kind": "zammad",
            "zammad": {"base_url": base_url, "token_file": "zammad-token", "max_per_minute": 6000},
        },
        "mapping": {
            "name": "{givenName} {surname}",
            "phones": {"w": "businessPhones[0]", "mo": "mobilePhone"},
            "skip_empty_phones": True,
            "custom_fields": {
                "Department": "department",
                "Employee ID": "employeeId",
                "Office": "officeLocation",
            },
        },
        "lifecycle": {"on_disabled": "disable_login"},
        "contact_groups": [{"group": SALES, "when": 'department = "Sales"'}],
        **(extra or {}),
    }
    return tomli_w.dumps(tables)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ZammadWorld]:
    tls, ca = tls_for_localhost(tmp_path)
    zammad = FakeZammad("e2e-zammad-token", clock=time.monotonic)
    directory = contoso(users=60)
    with (
        serve(wsgi_from_handler(directory.handle), tls) as login_port,
        serve(wsgi_from_handler(directory.handle), tls) as graph_port,
        serve(zammad) as zammad_port,
    ):
        directory.login = f"https://localhost:{login_port}"
        directory.graph = f"https://localhost:{graph_port}"
        (tmp_path / "secret").write_text(DEMO_SECRET)
        (tmp_path / "zammad-token").write_text("e2e-zammad-token")
        config = tmp_path / "azsyncd.toml"
        config.write_text(
            zammad_toml(f"http://127.0.0.1:{zammad_port}")
            + tenant_toml(
                login=directory.login,
                graph=directory.graph,
                extra=f'display_name = "Contoso"\nca_bundle = "{ca}"',
            )
        )
        config.chmod(0o600)
        yield ZammadWorld(directory, zammad, config, short_dir() / "state")


def started(world: ZammadWorld) -> Any:
    return running_daemon(world.config, state_dir=world.state_dir)


def failures(http: httpx.Client, run_id: int) -> dict[str, str]:
    records = http.get(f"/v1/runs/{run_id}/records", params={"limit": 10000}).json()["records"]
    return {r["email"]: r["result"] for r in records if r["status"] == "failed"}


def test_first_sync_delta_leaver_and_rule(world: ZammadWorld) -> None:
    with started(world) as daemon, daemon.client() as http:
        assert http.post("/v1/tenants/contoso/authorize").json()["state"]["status"] == "active"
        first = sync_and_wait(http)
        customers = [u for u in world.zammad.users.values() if u["role_ids"] == [3]]
        assert first["counts"]["new"] == len(customers) > 40
        failed = failures(http, first["id"])
        assert any(
            "Employee ID <- employeeId" in r and "not a number" in r for r in failed.values()
        )
        assert any("allowed: Berlin, London, Remote" in r for r in failed.values())
        anna = world.user(ANNA)
        assert (anna["firstname"], anna["lastname"], anna["department"]) == (
            "Anna",
            "Andersson",
            "Sales",
        )
        assert (anna["office"], anna["employee_id"], anna["mobile"]) == (
            "berlin",
            10000,
            "+49 170 200000",
        )
        # The rule made the organization once; Sales people have it as their primary.
        sales = world.zammad.org_id(SALES)
        members = {u["email"] for u in world.zammad.users.values() if u["organization_id"] == sales}
        in_sales = {
            u["mail"]
            for u in world.directory.users.values()
            if u["department"] == "Sales" and world.zammad.by_address(u["mail"])
        }
        assert members == in_sales and anna["email"] in members
        # Disabled accounts lost their login and went to the leavers' organization.
        names = sorted(o["name"] for o in world.zammad.organizations.values())
        assert names == ["Left Microsoft Entra ID: Contoso", SALES]
        assert world.zammad.count("POST", "organizations") == 2

        # A delta: one change read, one PUT with only that change.
        before = len(world.zammad.writes)
        world.directory.update_user(ANNA, department="Legal")
        second = sync_and_wait(http)
        assert (second["counts"]["new"], second["counts"]["updated"]) == (0, 1)
        sent = [body for _, _, body in world.zammad.writes[before:]]
        # the change, and the rule's organization taken away (it no longer matches)
        assert sorted(sent, key=str) == [
            {"department": "Legal"},
            {"organization_id": None, "organization_ids": []},
        ]
        assert world.user(ANNA)["department"] == "Legal"

        # A leaver: the account disabled, the user set inactive; enabled again, active again.
        world.directory.update_user(ANNA, accountEnabled=False)
        sync_and_wait(http)
        assert world.user(ANNA)["active"] is False
        world.directory.update_user(ANNA, accountEnabled=True)
        sync_and_wait(http)
        assert world.user(ANNA)["active"] is True
        assert world.zammad.deleted == [] and world.zammad.count("POST", "data_privacy_tasks") == 0
        assert not any(
            "role_ids" in (body or {}) or "roles" in (body or {})
            for method, _, body in world.zammad.writes
            if method == "PUT"
        )
        assert world.zammad.count("GET", "users/search") <= 25  # few searches, never per user


def test_an_agent_in_entra_id_keeps_its_roles_and_the_substring_trap(world: ZammadWorld) -> None:
    anna_mail = world.directory.users[ANNA]["mail"]
    bjorn = "00000000-0000-4000-a000-000000000001"
    bjorn_mail = world.directory.users[bjorn]["mail"]
    agent = world.zammad.agent(bjorn_mail, firstname="Bjørn", lastname="Support")
    decoy = world.zammad.customer("x" + anna_mail, firstname="Xaver", lastname="Decoy")
    with started(world) as daemon, daemon.client() as http:
        http.post("/v1/tenants/contoso/authorize")
        first = sync_and_wait(http)
        reason = failures(http, first["id"])[bjorn_mail]
        assert "is not a customer (roles: Agent)" in reason
        assert world.zammad.role_names(world.zammad.users[agent["id"]]) == ["Agent"]
        assert world.zammad.users[agent["id"]]["lastname"] == "Support"  # never written
        # a@ was created beside xa@, never matched to it; an edit reaches the right one.
        anna = world.user(ANNA)
        assert anna["id"] != decoy["id"]
        world.directory.update_user(ANNA, department="Finance")
        sync_and_wait(http)
        assert world.zammad.users[anna["id"]]["department"] == "Finance"
        assert world.zammad.users[decoy["id"]]["department"] is None
        assert world.zammad.users[decoy["id"]]["organization_id"] is None


def test_an_address_change_edits_the_same_zammad_user(world: ZammadWorld) -> None:
    with started(world) as daemon, daemon.client() as http:
        http.post("/v1/tenants/contoso/authorize")
        sync_and_wait(http)
        anna = world.user(ANNA)
        users = len(world.zammad.users)
        world.directory.update_user(
            ANNA, mail="anna.berg@contoso.example", userPrincipalName="anna.berg@contoso.example"
        )
        run = sync_and_wait(http)
        moved = world.zammad.users[anna["id"]]
        assert (moved["email"], moved["login"]) == ("anna.berg@contoso.example",) * 2
        assert len(world.zammad.users) == users and run["counts"]["new"] == 0
        records = http.get(f"/v1/runs/{run['id']}/records").json()["records"]
        [moved_record] = [r for r in records if r["email"] == "anna.berg@contoso.example"]
        assert "address changed" in moved_record["result"]
        assert moved_record["status"] == "success", moved_record
        assert world.zammad.by_address(anna["email"]) is None
        assert moved["organization_id"] == world.zammad.org_id(SALES)  # memberships stay
