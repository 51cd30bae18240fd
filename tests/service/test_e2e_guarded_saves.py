"""Every saved change that can make contacts fail is previewed and refused past
[sync] max_fail_share, not only a mapping change: a wider scope, a tenant's own scope, a
tenant enabled that shares addresses, joiners turned off. The daemon as ``azsyncd run``
runs it (each sync in a process of its own), the fake Graph over loopback HTTPS and the fake
HappyFox; a change that cannot make contacts fail (the schedule, leavers, rules) is saved
without asking Graph anything."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from azsyncd.control import ctl
from tests.helpers import running_daemon, wait_for
from tests.service.e2e_world import World, started, sync_and_wait
from tests.service.test_e2e_identity import Desk, daemon_of, desk, person

pytestmark = pytest.mark.slow
GUESTS = 100
NO_ADDRESS = "email <- mail"  # the top reason of a guest with no mailbox
MEMBERS = 'userType = "Member"'
TAKEN = "address owned by tenant"


def guests(world: World, count: int = GUESTS) -> None:
    """Guests the directory has no mailbox for: only an #EXT# UPN, which is no address."""
    for i in range(count):
        world.directory.add_user(
            {
                "id": f"00000000-0000-4000-e000-{i:012d}",
                "userPrincipalName": f"guest{i}_partner.example#EXT#@contoso.example",
                "mail": None,
                "displayName": f"Guest {i}",
                "accountEnabled": True,
                "userType": "Guest",
            }
        )


def error_of(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 422, answer.text
    return dict(answer.json()["error"])


def graph_calls(world: World) -> int:
    return sum(
        1 for r in world.directory.requests if r.split(" ", 1)[1].startswith(world.directory.graph)
    )


def ctl_run(socket: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = ctl.main(["--socket", str(socket), *args])
    return code, capsys.readouterr().out


def test_a_wider_scope_is_refused_naming_the_top_reason_and_a_schedule_change_asks_nothing(
    world: World,
) -> None:
    with world.config.open("a") as config:
        config.write(f"[scope]\ninclude = ['{MEMBERS}']\n")
    guests(world)
    with started(world) as daemon, daemon.client() as http:
        first = sync_and_wait(http)
        assert first["status"] in ("succeeded", "partial") and first["counts"]["new"] > 80
        before, contacts = world.config.read_text(), len(world.happyfox.contacts)

        asked = graph_calls(world)
        error = error_of(http.patch("/v1/settings", json={"scope": {"include": []}}, timeout=300))
        assert graph_calls(world) > asked  # the preview read the directory
        assert error["code"] == "preview_fails"
        assert "top reason" in error["message"] and NO_ADDRESS in error["message"]
        assert "max_fail_share = 0.2" in error["message"] and "scope" in error["fix"]
        preview = error["preview"]
        assert preview["counts"]["fail"] >= GUESTS
        assert preview["tenants"][0]["failing_now"] < GUESTS  # the guests do not fail now
        assert world.config.read_text() == before  # not saved
        assert len(world.happyfox.contacts) == contacts  # nothing written

        # What cannot make a contact fail is saved without a preview: no Graph call.
        asked = graph_calls(world)
        for path, body in (
            ("/v1/settings", {"schedule": {"time": "03:30"}}),
            ("/v1/settings", {"account": {"name": "Other Desk"}, "sync": {"full_every": 3}}),
            ("/v1/lifecycle", {"lifecycle": {"grace_days": 4, "on_removed": "disable_login"}}),
            (
                "/v1/lifecycle",
                {"contact_groups": [{"group": "Sales", "when": 'department = "Sales"'}]},
            ),
        ):
            answer = http.patch(path, json=body, timeout=60)
            assert answer.status_code == 200, answer.text
        assert graph_calls(world) == asked
        assert 'time = "03:30"' in world.config.read_text()

        # A change that loosens the limit in the same breath is judged by the limit in use.
        loosened = {"scope": {"include": []}, "sync": {"max_fail_share": 0.9}}
        assert error_of(http.patch("/v1/settings", json=loosened, timeout=300))["code"] == (
            "preview_fails"
        )

        forced = http.patch(
            "/v1/settings", json={"scope": {"include": []}, "force": True}, timeout=60
        )
        assert forced.status_code == 200, forced.text
        assert MEMBERS not in world.config.read_text()


def test_a_tenants_own_scope_is_refused_and_forced_from_azsyncctl(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    text = world.config.read_text().replace(
        'display_name = "Contoso"',
        f"display_name = \"Contoso\"\nscope = {{ include = ['{MEMBERS}'] }}",
    )
    world.config.write_text(text)
    guests(world)
    with started(world) as daemon, daemon.client() as http:
        sync_and_wait(http)
        before = world.config.read_text()
        error = error_of(
            http.patch("/v1/tenants/contoso", json={"scope": {"include": []}}, timeout=300)
        )
        assert error["code"] == "preview_fails" and NO_ADDRESS in error["message"]
        assert "tenants.contoso" in error["fix"]
        assert world.config.read_text() == before

        code, out = ctl_run(daemon.socket, capsys, "tenants", "set", "contoso", "scope.include=[]")
        assert code == 1 and out.startswith("not saved: this change would fail"), out
        assert NO_ADDRESS in out and world.config.read_text() == before
        code, out = ctl_run(
            daemon.socket, capsys, "tenants", "set", "contoso", "scope.include=[]", "--force"
        )
        assert code == 0 and "saved contoso" in out, out
        code, out = ctl_run(daemon.socket, capsys, "--json", "tenants", "show", "contoso")
        assert json.loads(out)["scope"]["include"] == []


@contextmanager
def two_tenants(tmp_path: Path, extra: str = "", **fabrikam: Any) -> Iterator[Desk]:
    """Contoso's 25 people, and Fabrikam's 20 with the addresses of Contoso's last 20."""
    with desk(tmp_path, 25, extra=extra) as world:
        for i in range(5, 25):
            address = f"person{i}@contoso.example"
            world.fabrikam.add_user(
                person(i, "fabrikam.example", mail=address, userPrincipalName=address)
            )
        if fabrikam:
            text = world.config.read_text()
            head, tail = text.split('name = "fabrikam"', 1)
            settings = "".join(f"\n{k} = {json.dumps(v)}" for k, v in fabrikam.items())
            world.config.write_text(head + 'name = "fabrikam"' + settings + tail)
        yield world


def test_enabling_a_tenant_that_shares_addresses_is_refused_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with two_tenants(tmp_path, enabled=False) as world, daemon_of(world) as (daemon, http):
        first = sync_and_wait(http)
        assert first["counts"]["new"] == 25
        before = world.config.read_text()
        for refused in (
            http.post("/v1/tenants/fabrikam/enable", json={}, timeout=300),
            http.patch("/v1/tenants/fabrikam", json={"enabled": True}, timeout=300),
        ):
            error = error_of(refused)
            assert error["code"] == "preview_fails" and TAKEN in error["message"], error
            assert "tenant fabrikam (100%" in error["message"]
        assert world.config.read_text() == before

        code, out = ctl_run(daemon.socket, capsys, "tenants", "enable", "fabrikam")
        assert code == 1 and TAKEN in out and world.config.read_text() == before
        code, out = ctl_run(daemon.socket, capsys, "tenants", "enable", "fabrikam", "--force")
        assert code == 0 and "enabled fabrikam" in out
        assert http.get("/v1/tenants/fabrikam").json()["enabled"] is True


def test_turning_joiners_off_is_refused_when_their_addresses_are_held(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Contoso's last 20 people start in 2099: with joiners on they are not planned yet, so
    Fabrikam's people with their addresses got the contacts. Joiners off plans them now,
    and each fails for the address Fabrikam's contact holds."""
    joiners = "[lifecycle]\ncreate_before_hire_days = 30\n"
    with two_tenants(tmp_path, extra=joiners) as world:
        for i in range(5, 25):
            world.contoso.update_user(f"contoso-{i:04d}", employeeHireDate="2099-01-04T00:00:00Z")
        with daemon_of(world) as (daemon, http):
            first = sync_and_wait(http)
            assert first["counts"]["new"] == 25, first  # 5 of Contoso's, 20 of Fabrikam's
            before = world.config.read_text()
            body = {"lifecycle": {"create_before_hire_days": 0}}
            error = error_of(http.patch("/v1/lifecycle", json=body, timeout=300))
            assert error["code"] == "preview_fails" and TAKEN in error["message"], error
            assert "tenant contoso" in error["message"]
            assert world.config.read_text() == before
            code, out = ctl_run(
                daemon.socket, capsys, "lifecycle", "set", "create_before_hire_days=0"
            )
            assert code == 1 and TAKEN in out
            code, out = ctl_run(
                daemon.socket, capsys, "lifecycle", "set", "create_before_hire_days=0", "--force"
            )
            assert code == 0, out
            assert "create_before_hire_days = 0" in world.config.read_text()


def test_a_change_that_cannot_be_previewed_is_saved_with_a_warning(
    world: World, tmp_path: Path
) -> None:
    """Graph refuses the preview's read: no evidence to refuse on, so the change is saved,
    and the daemon's log says which tenant went unpreviewed and why."""
    with world.config.open("a") as config:
        config.write(f"[scope]\ninclude = ['{MEMBERS}']\n")
    guests(world)
    log = tmp_path / "daemon.log"
    with (
        running_daemon(world.config, state_dir=world.state_dir, log=log) as daemon,
        daemon.client() as http,
    ):
        sync_and_wait(http)
        world.directory.throttle = [(403, 0)] * 20
        answer = http.patch("/v1/settings", json={"scope": {"include": []}}, timeout=300)
        assert answer.status_code == 200, answer.text
        assert MEMBERS not in world.config.read_text()
        wait_for(
            lambda: "saved without the preview of tenant contoso" in log.read_text(),
            what="the warning",
        )
