"""End to end, one contact per directory object: the daemon as a real process (``azsyncd run``,
each sync in a process of its own), two simulated tenants over loopback HTTPS, and the fake
HappyFox over HTTP, as a script would drive them through the socket."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from azsyncd.demo.directory import DEMO_SECRET
from tests.engine_setup import HAPPYFOX_MAPPING, happyfox_toml, tenant_toml
from tests.fakes.directory import FakeTenant
from tests.fakes.happyfox import FakeHappyFox
from tests.fakes.servers import serve, serve_directory, tls_for_localhost
from tests.helpers import DaemonProcess, running_daemon
from tests.service.e2e_world import sync_and_wait

pytestmark = pytest.mark.slow
FABRIKAM_ID = "fab00000-0000-4000-8000-00000000fab0"
LEAVERS = (
    '[lifecycle]\non_removed = "disable_login"\non_disabled = "disable_login"\ngrace_days = 0\n'
)


def person(i: int, domain: str = "contoso.example", **values: Any) -> dict[str, Any]:
    """A user every field of the mapping takes as it is."""
    return {
        "id": f"{domain.split('.')[0]}-{i:04d}",
        "userPrincipalName": f"person{i}@{domain}",
        "mail": f"person{i}@{domain}",
        "displayName": f"Person {i}",
        "givenName": "Person",
        "surname": str(i),
        "accountEnabled": True,
        "userType": "Member",
        "department": "Sales",
        "employeeId": str(5000 + i),
        "officeLocation": "Berlin",
        "mobilePhone": f"+1 555 {i:04d}",
        **values,
    }


@dataclass
class Desk:
    contoso: FakeTenant
    fabrikam: FakeTenant
    happyfox: FakeHappyFox
    config: Path

    def posts(self) -> int:
        return sum(1 for method, _, _ in self.happyfox.calls if method == "POST")

    def contact(self, email: str) -> dict[str, Any]:
        return self.happyfox.by_email[email]


@contextmanager
def desk(
    tmp_path: Path, contoso_users: int, fabrikam_users: int = 0, extra: str = ""
) -> Iterator[Desk]:
    tls, ca = tls_for_localhost(tmp_path)
    contoso = FakeTenant()
    fabrikam = FakeTenant("Fabrikam", FABRIKAM_ID)
    for i in range(contoso_users):
        contoso.add_user(person(i))
    for i in range(fabrikam_users):
        fabrikam.add_user(person(i, "fabrikam.example"))
    happyfox = FakeHappyFox(time.monotonic)
    with ExitStack() as stack:
        for directory in (contoso, fabrikam):
            stack.enter_context(serve_directory(directory, tls))
        port = stack.enter_context(serve(happyfox))
        for name, value in (("secret", DEMO_SECRET), ("key", "key"), ("code", "code")):
            (tmp_path / name).write_text(value)
            (tmp_path / name).chmod(0o600)
        config = tmp_path / "azsyncd.toml"
        config.write_text(
            '[account]\nname = "Desk"\n'
            + happyfox_toml(f"http://127.0.0.1:{port}", lock_minutes=0.05)
            + HAPPYFOX_MAPPING
            + tenant_toml(login=contoso.login, graph=contoso.graph, extra=f'ca_bundle = "{ca}"')
            + tenant_toml(
                "fabrikam",
                tenant_id=FABRIKAM_ID,
                login=fabrikam.login,
                graph=fabrikam.graph,
                extra=f'ca_bundle = "{ca}"',
            )
            + extra
        )
        config.chmod(0o600)
        yield Desk(contoso, fabrikam, happyfox, config)


@contextmanager
def daemon_of(desk: Desk) -> Iterator[tuple[DaemonProcess, httpx.Client]]:
    with running_daemon(desk.config) as daemon, daemon.client() as http:
        for tenant in ("contoso", "fabrikam"):
            http.post(f"/v1/tenants/{tenant}/authorize")
        yield daemon, http


def records(http: httpx.Client, run: dict[str, Any], **query: Any) -> list[dict[str, Any]]:
    answer = http.get(f"/v1/runs/{run['id']}/records", params={"limit": 1000, **query})
    return list(answer.json()["records"])


def test_a_rename_and_a_domain_move_edit_the_same_contacts_and_create_none(tmp_path: Path) -> None:
    with desk(tmp_path, 25) as world, daemon_of(world) as (_, http):
        first = sync_and_wait(http)
        assert first["status"] == "succeeded" and first["counts"]["new"] == 25
        ids = {e: c["id"] for e, c in world.happyfox.by_email.items()}

        # A marriage: the UPN (the contact's address) and the surname change.
        world.contoso.update_user(
            "contoso-0000", userPrincipalName="person0.berg@contoso.example", displayName="Ann Berg"
        )
        renamed = sync_and_wait(http)
        assert (renamed["counts"]["new"], renamed["counts"]["updated"]) == (0, 1)
        [record] = records(http, renamed, search="person0")
        assert record["type"] == "Existing" and record["status"] == "success"
        assert record["result"].startswith(
            "address changed: person0@contoso.example -> person0.berg@contoso.example"
        )
        moved = world.contact("person0.berg@contoso.example")
        assert moved["id"] == ids["person0@contoso.example"] and moved["name"] == "Ann Berg"
        assert "person0@contoso.example" not in world.happyfox.by_email
        assert any(path.endswith(f"/user/{moved['id']}/") for _, path, _ in world.happyfox.calls)

        # A move of 20 users to another UPN domain: 20 edits in place.
        for i in range(1, 21):
            upn = f"person{i}@contoso.new"
            world.contoso.update_user(f"contoso-{i:04d}", userPrincipalName=upn)
        domain = sync_and_wait(http)
        assert (domain["counts"]["new"], domain["counts"]["updated"]) == (0, 20)
        for i in range(1, 21):
            assert (
                world.contact(f"person{i}@contoso.new")["id"] == ids[f"person{i}@contoso.example"]
            )
        assert len(world.happyfox.contacts) == 25 and max(world.happyfox.created.values()) == 1


def test_an_address_another_contact_holds_fails_naming_both(tmp_path: Path) -> None:
    with desk(tmp_path, 3) as world, daemon_of(world) as (_, http):
        sync_and_wait(http)
        # An agent made a contact of their own at the address the user moves to.
        other = world.happyfox._add_or_edit({"email": "taken@contoso.example", "name": "Walk-in"})
        mine = world.contact("person1@contoso.example")["id"]
        world.contoso.update_user("contoso-0001", userPrincipalName="taken@contoso.example")
        run = sync_and_wait(http)
        assert run["status"] == "partial" and run["counts"]["new"] == 0
        [record] = records(http, run, status="failed")
        result = record["result"]
        assert f"contact {other['id']}" in result and f"contact {mine}" in result
        assert "Fix: free taken@contoso.example" in result and "nothing was merged" in result
        assert world.contact("taken@contoso.example")["name"] == "Walk-in"
        assert world.contact("person1@contoso.example")["id"] == mine  # kept as it was


def test_a_shared_address_keeps_its_owner_and_a_no_change_run_writes_nothing(
    tmp_path: Path,
) -> None:
    with desk(tmp_path, 2, 2, LEAVERS) as world:
        # Both tenants have a user at shared@example.test; contoso comes first in the file.
        world.contoso.add_user(person(7, userPrincipalName="shared@example.test", displayName="C"))
        world.fabrikam.add_user(
            person(7, "fabrikam.example", userPrincipalName="shared@example.test", displayName="F")
        )
        with daemon_of(world) as (_, http):
            runs = []
            for n in range(3):
                before = world.posts()
                runs.append(sync_and_wait(http, full=n == 1))
                if n == 2:
                    assert world.posts() == before  # nothing changed: not one POST
                failed = records(http, runs[-1], status="failed")
                assert [(r["tenant"], r["email"]) for r in failed] == [
                    ("fabrikam", "shared@example.test")
                ]
                assert "address owned by tenant contoso" in failed[0]["result"]
                assert world.contact("shared@example.test")["name"] == "C"
                world.fabrikam.update_user("fabrikam-0007", displayName=f"F{n}")  # not written
            shared = world.contact("shared@example.test")["id"]

            # The owner's user is deleted: its leaver step acts on the contact while it is
            # contoso's; at the next run fabrikam takes the same contact over.
            world.contoso.remove_user("contoso-0007")
            gone = sync_and_wait(http)
            assert gone["counts"]["left"] == 1 and not world.contact("shared@example.test")["login"]
            taken = sync_and_wait(http)
            [record] = records(http, taken, search="shared@")
            assert record["tenant"] == "fabrikam" and record["type"] == "Existing"
            assert "taken over from tenant contoso" in record["result"]
            contact = world.contact("shared@example.test")
            assert (contact["id"], contact["name"], contact["login"]) == (shared, "F2", True)
            # No leaver step applies to it any more: the next runs leave its login alone.
            again = sync_and_wait(http, full=True)
            assert again["counts"]["left"] == 0 and world.contact("shared@example.test")["login"]
            assert len(world.happyfox.contacts) == 5


def test_a_leaver_loses_the_login_although_an_agent_emptied_a_required_field(
    tmp_path: Path,
) -> None:
    with desk(tmp_path, 4, extra=LEAVERS) as world, daemon_of(world) as (_, http):
        sync_and_wait(http)
        contact = world.contact("person2@contoso.example")
        # Employee ID becomes required in HappyFox, and an agent empties it on one contact.
        next(f for f in world.happyfox.fields if f["name"] == "Employee ID")["required"] = True
        world.happyfox.agent_edits(contact["id"], **{"Employee ID": None})
        world.contoso.update_user("contoso-0002", accountEnabled=False)
        run = sync_and_wait(http)
        assert run["counts"]["left"] == 1 and run["counts"]["failed_left"] == 0
        assert world.contact("person2@contoso.example")["login"] is False
        assert world.contact("person2@contoso.example")["custom"][2] == 5002  # from Entra ID


def test_a_run_whose_only_tenant_is_quarantined_is_skipped(tmp_path: Path) -> None:
    with desk(tmp_path, 2) as world:
        text = world.config.read_text().replace(
            'name = "fabrikam"', 'name = "fabrikam"\nenabled = false'
        )
        world.config.write_text(text)
        world.contoso.token_error = {"error": "invalid_client", "error_codes": [7000215]}
        with daemon_of(world) as (_, http):
            statuses = [sync_and_wait(http)["status"] for _ in range(3)]
            assert statuses == ["failed"] * 3  # three failures in a row: quarantined
            skipped = sync_and_wait(http)
            assert skipped["status"] == "skipped"
            assert (
                "no tenant was read" in skipped["message"] and "quarantined" in skipped["message"]
            )
            assert skipped["counts"]["tenants"]["contoso"]["quarantined"] is True
