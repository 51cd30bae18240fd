"""HappyFox passes the target contract, against the fake HappyFox (which follows
the reference sheet) on a virtual clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from azsyncd.targets.happyfox.client import HappyFox
from tests.contract.targets import TargetTests
from tests.contract.test_happyfox_client import Clock, happyfox_client
from tests.fakes.happyfox import FakeHappyFox


class HappyFoxProbe:
    def __init__(self, fake: FakeHappyFox) -> None:
        self.fake = fake

    def login(self, contact_id: str) -> bool:
        return bool(self.fake.contacts[int(contact_id)]["login"])

    def groups(self, contact_id: str) -> dict[str, bool]:
        member = int(contact_id)
        return {
            g["name"]: g["contacts"][member]
            for g in self.fake.groups.values()
            if member in g["contacts"]
        }

    def marked(self, label: str) -> set[str]:
        return {str(c) for c in self.fake.group(f"Microsoft Entra ID: {label}")}

    def require(self, field: str) -> None:
        next(f for f in self.fake.fields if f["name"] == field)["required"] = True

    def agent_empties(self, contact_id: str, field: str) -> None:
        self.fake.agent_edits(int(contact_id), **{field: None})

    def agent_deletes(self, contact_id: str) -> None:
        contact = self.fake.contacts.pop(int(contact_id))
        del self.fake.by_email[contact["email"].lower()]


class TestHappyFox(TargetTests):
    @pytest.fixture
    def fake(self) -> FakeHappyFox:
        fake = FakeHappyFox(Clock())
        fake.fields = [f for f in fake.fields if f["type"] != "hologram"]
        return fake

    @pytest.fixture
    def target(self, fake: FakeHappyFox) -> Iterator[HappyFox]:
        client = happyfox_client(fake, fake.clock)  # type: ignore[arg-type]
        yield client
        client.close()

    @pytest.fixture
    def probe(self, fake: FakeHappyFox) -> HappyFoxProbe:
        return HappyFoxProbe(fake)
