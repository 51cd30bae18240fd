"""End to end, the daemon as a process (each run in its own), the fake Graph over loopback
HTTPS and the fake HappyFox: scope filters, expressions, per-field rules, the manager, and
the preview refusing the fax-number mistake at save."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.service.e2e_world import World, started, sync_and_wait

pytestmark = pytest.mark.slow
SKILLS = [{"id": 61, "text": "Python"}, {"id": 62, "text": "Go"}, {"id": 63, "text": "Rust"}]
SKILLS += [{"id": 64, "text": "Excel"}]
ROOM = "00000000-0000-4000-c000-000000000001"
NO_MAIL = "00000000-0000-4000-a000-000000000001"  # Bjørn: an address only in the UPN
LISBON = "00000000-0000-4000-a000-000000000002"
REPORT, BOSS, OTHER = (
    "00000000-0000-4000-a000-000000000012",
    "00000000-0000-4000-a000-000000000010",
    "00000000-0000-4000-a000-000000000020",
)
MAPPING = {
    "email": "coalesce(mail, userPrincipalName)",
    "custom_fields": {
        "Department": {"value": "department", "apply": "on_create"},
        "Office": 'switch(city, "Berlin": "Berlin", "Lisbon": "London", default: "London")',
        "Skills": 'split(onPremisesExtensionAttributes.extensionAttribute1, ";")',
        "Notes": "manager.mail",
    },
}
SCOPE = {"include": ["has license"], "exclude": ['mail matches "^(room|mtg)[.-]"']}


def patched(http: httpx.Client, path: str, body: dict[str, Any]) -> httpx.Response:
    answer = http.patch(path, json=body, timeout=120)
    assert answer.status_code == 200, answer.text
    return answer


def contact_of(world: World, user_id: str) -> dict[str, Any]:
    user = world.directory.users[user_id]
    address = str(user.get("mail") or user["userPrincipalName"]).lower()
    return world.happyfox.by_email[address]


def test_scope_expressions_rules_and_the_manager(world: World) -> None:
    directory, happyfox = world.directory, world.happyfox
    happyfox.fields.append(
        {"id": 6, "name": "Skills", "type": "multiple_choice", "required": False, "choices": SKILLS}
    )
    directory.add_user(
        {
            "id": ROOM,
            "userPrincipalName": "room-berlin@contoso.example",
            "mail": "room-berlin@contoso.example",
            "displayName": "Room Berlin",
            "accountEnabled": True,
            "userType": "Member",
            "assignedLicenses": [{"skuId": "teams-rooms", "disabledPlans": []}],
            "city": "Berlin",
        }
    )
    directory.update_user(NO_MAIL, mail=None)
    directory.update_user(LISBON, city="Lisbon")
    with started(world) as daemon, daemon.client() as http:
        patched(http, "/v1/settings", {"mapping": MAPPING, "scope": SCOPE})
        patched(
            http, "/v1/lifecycle", {"lifecycle": {"on_removed": "disable_login", "grace_days": 0}}
        )
        first = sync_and_wait(http)
        assert first["counts"]["new"] > 50

        # Excluding rooms and unlicensed users.
        synced = set(happyfox.by_email)
        assert "room-berlin@contoso.example" not in synced
        unlicensed = [u for u in directory.users.values() if not u.get("assignedLicenses")]
        assert unlicensed and not any(
            str(u.get("mail") or "").lower() in synced for u in unlicensed
        )
        # coalesce(mail, userPrincipalName) as the email.
        bjorn = contact_of(world, NO_MAIL)
        assert bjorn["email"] == directory.users[NO_MAIL]["userPrincipalName"]
        # A switch into a dropdown: Lisbon -> London (choice 32).
        assert contact_of(world, LISBON)["custom"][3] in (32, "32")
        # split into a multi-select: "Python; Go" -> Python and Go.
        skills = next(
            u
            for u in directory.users
            if (directory.users[u].get("onPremisesExtensionAttributes") or {}).get(
                "extensionAttribute1"
            )
            == "Python; Go"
            and str(directory.users[u].get("mail") or "").lower() in synced
        )
        assert sorted(map(str, contact_of(world, skills)["custom"][6])) == ["61", "62"]
        # The manager's mail.
        assert contact_of(world, REPORT)["custom"][4] == directory.users[BOSS]["mail"]

        # on_create: an agent's edit stays, even through a full reconciliation, and so does
        # a change in Entra ID.
        edited = contact_of(world, REPORT)
        happyfox.agent_edits(edited["id"], Department="Edited by an agent")
        directory.update_user(REPORT, department="Finance")
        directory.set_manager(REPORT, OTHER)  # and the manager changes
        second = sync_and_wait(http)
        assert second["counts"]["updated"] >= 1
        assert contact_of(world, REPORT)["custom"][1] == "Edited by an agent"
        assert contact_of(world, REPORT)["custom"][4] == directory.users[OTHER]["mail"]
        full = sync_and_wait(http, full=True)
        assert full["status"] in ("succeeded", "partial")
        assert contact_of(world, REPORT)["custom"][1] == "Edited by an agent"

        # A user leaving the scope (the license taken away) is a leaver (grace 0 days).
        leaver = contact_of(world, OTHER)
        directory.update_user(OTHER, assignedLicenses=[])
        third = sync_and_wait(http)
        assert third["counts"]["left"] == 1
        assert happyfox.contacts[leaver["id"]]["login"] is False


def test_the_fax_number_mistake_is_caught_by_preview_and_refused_at_save(world: World) -> None:
    mistake = {"mapping": {"skip_empty_phones": False, "phones": {"m": "faxNumber"}}}
    with started(world) as daemon, daemon.client() as http:
        first = sync_and_wait(http)
        before = world.config.read_text()
        contacts = len(world.happyfox.contacts)
        preview = http.post("/v1/preview", json={"settings": mistake}, timeout=120)
        assert preview.status_code == 200, preview.text
        found = preview.json()
        users = found["tenants"][0]["users"]
        assert found["counts"]["fail"] == users and found["fail_share"] == 1.0
        top = found["reasons"][0]
        assert top["count"] == users and top["reason"].startswith(
            "phone (m) <- faxNumber: empty in the directory"
        )
        assert found["refused"]
        refused = http.patch("/v1/settings", json=mistake, timeout=120)
        assert refused.status_code == 422
        error = refused.json()["error"]
        assert error["code"] == "preview_fails"
        assert "top reason" in error["message"] and "faxNumber" in error["message"]
        assert world.config.read_text() == before
        assert len(world.happyfox.contacts) == contacts  # nothing written
        assert sync_and_wait(http)["counts"]["failed"] == first["counts"]["failed"]
        forced = http.patch("/v1/settings", json={**mistake, "force": True}, timeout=120)
        assert forced.status_code == 200 and "faxNumber" in world.config.read_text()
