"""Zendesk passes the target contract, against the fake Zendesk (which follows the reference
sheet) on a virtual clock: writes go in background jobs, organizations are the groups."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from azsyncd.targets.zendesk.target import Zendesk
from tests.contract.targets import TargetTests
from tests.contract.zendesk_setup import Clock, client
from tests.fakes.zendesk import FakeZendesk

FIELDS = [
    {"key": "department", "title": "Department", "type": "text"},
    {"key": "employee_id", "title": "Employee ID", "type": "decimal"},
    {
        "key": "office",
        "title": "Office",
        "type": "dropdown",
        "custom_field_options": [
            {"name": "Berlin", "value": "berlin"},
            {"name": "London", "value": "london"},
        ],
    },
    {"key": "notes", "title": "Notes", "type": "text"},
]


class ZendeskProbe:
    def __init__(self, fake: FakeZendesk) -> None:
        self.fake = fake

    def login(self, contact_id: str) -> bool:
        return not self.fake.users[int(contact_id)]["suspended"]

    def groups(self, contact_id: str) -> dict[str, bool]:
        member = int(contact_id)
        return {
            org["name"]: org["shared_tickets"]
            for org in self.fake.organizations.values()
            if member in self.fake.org_members(org["name"])
        }

    def marked(self, label: str) -> set[str]:
        return {str(u) for u in self.fake.org_members(f"Microsoft Entra ID: {label}")}

    def require(self, field: str) -> None:
        """Zendesk's API has no required user fields: nothing to do."""

    def agent_empties(self, contact_id: str, field: str) -> None:
        key = next(f["key"] for f in self.fake.fields if f["title"] == field)
        self.fake.users[int(contact_id)]["user_fields"][key] = None

    def agent_deletes(self, contact_id: str) -> None:
        self.fake.delete_user(int(contact_id))


class TestZendesk(TargetTests):
    @pytest.fixture
    def fake(self) -> FakeZendesk:
        return FakeZendesk(Clock(), fields=FIELDS)

    @pytest.fixture
    def target(self, fake: FakeZendesk, tmp_path: Path) -> Iterator[Zendesk]:
        zd = client(
            fake,
            fake.clock,  # type: ignore[arg-type]
            tmp_path,
            phone_type="w",
            mark_organization="Microsoft Entra ID: {tenant}",
        )
        yield zd
        zd.close()

    @pytest.fixture
    def probe(self, fake: FakeZendesk) -> ZendeskProbe:
        return ZendeskProbe(fake)
