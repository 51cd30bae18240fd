"""Freshservice passes the target contract, against the fake account (which follows the
reference notes, traps included) on a virtual clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from azsyncd.targets.freshservice.target import Freshservice
from tests.contract.targets import Probe, TargetTests
from tests.fakes.freshservice import FakeFreshservice, custom_field, dropdown
from tests.freshservice_setup import Clock, client


class FreshserviceProbe:
    def __init__(self, fake: FakeFreshservice) -> None:
        self.fake = fake

    def login(self, contact_id: str) -> bool:
        return bool(self.fake.requesters[int(contact_id)]["active"])

    def groups(self, contact_id: str) -> dict[str, bool]:
        # Requester groups carry no ticket access of their own: membership only.
        return {
            g["name"]: False for g in self.fake.groups.values() if int(contact_id) in g["members"]
        }

    def marked(self, label: str) -> set[str]:
        return {str(i) for i in self.fake.group(f"Microsoft Entra ID: {label}")}

    def require(self, field: str) -> None:
        next(f for f in self.fake.fields if f["label"] == field)["required_for_agents"] = True

    def agent_empties(self, contact_id: str, field: str) -> None:
        name = next(f["name"] for f in self.fake.fields if f["label"] == field)
        self.fake.requesters[int(contact_id)]["custom_fields"][name] = None

    def agent_deletes(self, contact_id: str) -> None:
        self.fake.forget(int(contact_id))


class TestFreshservice(TargetTests):
    @pytest.fixture
    def fake(self) -> FakeFreshservice:
        # Department is a built-in requester field, found or created by name.
        fields = [
            custom_field("cf_employee_id", "Employee ID", "custom_number"),
            dropdown("cf_office", "Office", ["Berlin", "London"]),
            custom_field("cf_notes", "Notes", "custom_text"),
        ]
        return FakeFreshservice(Clock(), custom_fields=fields)

    @pytest.fixture
    def target(self, fake: FakeFreshservice) -> Iterator[Freshservice]:
        target = client(fake, fake.clock, mark="requester_group")  # type: ignore[arg-type]
        yield target
        target.close()

    @pytest.fixture
    def probe(self, fake: FakeFreshservice) -> Probe:
        return FreshserviceProbe(fake)

    def test_contact_groups_add_remove_and_leave_others_alone(
        self, target: Freshservice, probe: Probe
    ) -> None:
        """As the contract's, but for ticket access: a requester group has none to give."""
        a, b, c = (self.created(target, f"u{i}@example.com").id for i in range(3))
        target.add_to_group("Sales", [a, b], True)
        target.add_to_group("Sales", [a], True)
        target.add_to_group("Unmanaged", [c], False)
        target.remove_from_group("Sales", [b])
        target.remove_from_group("Nobody made this group", [a])
        assert (probe.groups(a), probe.groups(b), probe.groups(c)) == (
            {"Sales": False},
            {},
            {"Unmanaged": False},
        )
        assert sorted(target.group_names()) == ["Sales", "Unmanaged"]
