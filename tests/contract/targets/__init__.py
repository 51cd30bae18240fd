"""The contract every target passes: ``TargetTests`` talks to a target only through the
``Target`` protocol (and ``ContactGroups`` where the target has groups), as vdirsyncer's
``StorageTests`` talks to a storage.

What the protocol does not show, and what an agent does in the help desk's own screens, go
through a small ``Probe`` that each target's file provides: a contact's portal login, its
groups, the synced mark, a field made required, a value emptied, a contact deleted.

A target's file is a subclass with two fixtures, ``target`` (a new, empty account with the
fields below) and ``probe`` (looking at that account): see ``test_local.py``. The fields
every target under test has: Department (text), Employee ID (number), Office (dropdown:
Berlin, London) and Notes (text), none required.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol

import pytest

from azsyncd.targets.base import ContactWrite, ExistingContact, Phone, Target
from azsyncd.targets.groups import ContactGroups


class Probe(Protocol):
    """What a test sees and does of a target beyond the protocol."""

    def login(self, contact_id: str) -> bool:
        """Whether the contact's portal login is on."""

    def groups(self, contact_id: str) -> dict[str, bool]:
        """The contact's groups: name -> access_tickets (targets with groups)."""

    def marked(self, label: str) -> set[str]:
        """The contacts shown as synced from the tenant ``label``."""

    def require(self, field: str) -> None:
        """An admin makes the custom field ``field`` (by name) required."""

    def agent_empties(self, contact_id: str, field: str) -> None:
        """An agent empties the contact's custom field ``field`` (by name)."""

    def agent_deletes(self, contact_id: str) -> None:
        """An agent deletes the contact."""


def field_ids(target: Target) -> dict[str, str]:
    return {f.name: f.id for f in target.fields()}


def new(target: Target, email: str, **custom: Any) -> ContactWrite:
    """A new contact's write; ``custom`` by field name."""
    ids = field_ids(target)
    return ContactWrite(
        email=email,
        name=email.split("@")[0].title(),
        phones=[Phone("w", "+1 555 0100")],
        custom={ids[name]: value for name, value in custom.items()},
    )


def edit(contact: ExistingContact, **changes: Any) -> ContactWrite:
    """An edit of ``contact`` that changes only what is given (email, name, custom, login)."""
    return ContactWrite(
        email=changes.pop("email", contact.email),
        name=changes.pop("name", contact.name),
        phones=contact.phones,
        custom=changes.pop("custom", {}),
        existing=contact,
        login_enabled=changes.pop("login_enabled", None),
    )


class TargetTests:
    """Every rule of the protocol (``azsyncd/targets/base.py``), for one target."""

    @pytest.fixture
    def target(self) -> Target:
        raise NotImplementedError("a target's test file builds its target")

    @pytest.fixture
    def probe(self, target: Target) -> Probe:
        raise NotImplementedError("a target's test file gives its probe")

    def created(self, target: Target, email: str, **custom: Any) -> ExistingContact:
        result = target.write([new(target, email, **custom)])[0]
        assert result.ok and result.id, result.error
        return target.find_by_id([result.id])[result.id]

    # --- fields and lookups ------------------------------------------------------------

    def test_fields_have_types_and_choices(self, target: Target) -> None:
        fields = {f.name: f for f in target.fields()}
        assert fields["Department"].type == "text" and fields["Employee ID"].type == "number"
        assert fields["Office"].type == "dropdown"
        assert [c.label for c in fields["Office"].choices] == ["Berlin", "London"]

    def test_create_then_find_by_email_case_insensitively(self, target: Target) -> None:
        results = target.write(
            [new(target, "Ann@Example.com", Department="Sales"), new(target, "bob@example.com")]
        )
        assert all(r.ok and r.id for r in results) and results[0].id != results[1].id
        found = target.find_by_email(["ann@EXAMPLE.com", "nobody@example.com"])
        assert list(found) == ["ann@example.com"] and found["ann@example.com"].id == results[0].id
        ann = found["ann@example.com"]
        assert ann.name == "Ann" and ann.phones[0].number == "+1 555 0100"
        assert sorted(c.email for c in target.iter_contacts()) == [
            "ann@example.com",
            "bob@example.com",
        ]

    def test_find_by_id_finds_the_contact_and_not_what_is_gone(
        self, target: Target, probe: Probe
    ) -> None:
        ann = self.created(target, "ann@example.com", Department="Sales")
        bob = self.created(target, "bob@example.com")
        assert ann.email == "ann@example.com" and ann.custom[field_ids(target)["Department"]]
        probe.agent_deletes(bob.id)
        assert set(target.find_by_id([ann.id, bob.id, "999999"])) == {ann.id}

    # --- edits -------------------------------------------------------------------------

    def test_an_edit_keeps_every_custom_field_it_does_not_set(self, target: Target) -> None:
        ids = field_ids(target)
        berlin = {f.name: f for f in target.fields()}["Office"].choices[0].id
        ann = self.created(
            target, "ann@example.com", Department="Sales", Notes="VIP, call first", Office=berlin
        )
        result = target.write([edit(ann, name="Ann Lee", custom={ids["Department"]: "Support"})])
        assert result[0].ok and result[0].id == ann.id
        after = target.find_by_id([ann.id])[ann.id]
        assert after.name == "Ann Lee" and after.custom[ids["Department"]] == "Support"
        assert after.custom[ids["Notes"]] == "VIP, call first"
        assert str(after.custom[ids["Office"]]) == str(berlin)

    def test_an_address_change_edits_the_same_contact_in_place(self, target: Target) -> None:
        ids = field_ids(target)
        ann = self.created(target, "ann@example.com", Notes="keep me")
        result = target.write([edit(ann, email="Ann.Lee@New.example", name="Ann Lee")])[0]
        assert result.ok and result.id == ann.id
        after = target.find_by_id([ann.id])[ann.id]
        assert (after.email, after.name) == ("ann.lee@new.example", "Ann Lee")
        assert after.custom[ids["Notes"]] == "keep me"
        assert target.find_by_email(["ann@example.com"]) == {}
        assert target.find_by_email(["ann.lee@new.example"])["ann.lee@new.example"].id == ann.id
        assert [c.id for c in target.iter_contacts()] == [ann.id]  # nothing created

    def test_an_address_another_contact_holds_is_refused_and_nothing_merges(
        self, target: Target
    ) -> None:
        ann = self.created(target, "ann@example.com")
        bob = self.created(target, "bob@example.com")
        result = target.write([edit(ann, email="bob@example.com", name="Ann Two")])[0]
        assert not result.ok and result.error
        both = target.find_by_id([ann.id, bob.id])
        assert (both[ann.id].email, both[ann.id].name) == ("ann@example.com", "Ann")
        assert (both[bob.id].email, both[bob.id].name) == ("bob@example.com", "Bob")

    def test_an_edit_of_a_contact_that_is_gone_creates_nothing(
        self, target: Target, probe: Probe
    ) -> None:
        ann = self.created(target, "ann@example.com")
        probe.agent_deletes(ann.id)
        result = target.write([edit(ann, email="ann.new@example.com")])[0]
        assert not result.ok and result.error
        assert list(target.iter_contacts()) == []

    def test_a_bad_value_fails_only_its_contact_with_a_readable_reason(
        self, target: Target
    ) -> None:
        results = target.write(
            [
                new(target, "ann@example.com", **{"Employee ID": "A-123"}),
                new(target, "bob@example.com", **{"Employee ID": 42}),
            ]
        )
        assert [r.ok for r in results] == [False, True]
        assert "Employee ID" in results[0].error and "number" in results[0].error
        assert list(target.find_by_email(["ann@example.com", "bob@example.com"])) == [
            "bob@example.com"
        ]

    def test_a_full_batch_gives_one_result_per_item_in_order(self, target: Target) -> None:
        emails = [f"u{i}@example.com" for i in range(target.max_batch)]
        results = target.write([new(target, e) for e in emails])
        assert [r.email for r in results] == emails and all(r.ok for r in results)
        assert len({r.id for r in results}) == len(emails)

    # --- marks, logins, groups ---------------------------------------------------------

    def test_mark_synced_shows_the_tenant_and_is_idempotent(
        self, target: Target, probe: Probe
    ) -> None:
        ann = self.created(target, "ann@example.com")
        target.mark_synced("Contoso", [ann.id])
        target.mark_synced("Contoso", [ann.id])
        assert probe.marked("Contoso") == {ann.id}

    def test_login_off_and_on_keeps_every_other_value(self, target: Target, probe: Probe) -> None:
        ann = self.created(target, "ann@example.com", Department="Sales", Notes="VIP")
        assert probe.login(ann.id) is True
        assert target.write([edit(ann, login_enabled=False)])[0].ok
        assert probe.login(ann.id) is False
        after = target.find_by_id([ann.id])[ann.id]
        assert after.custom == ann.custom and after.name == ann.name
        assert target.write([edit(after, name="Ann B")])[0].ok
        assert probe.login(ann.id) is False  # an ordinary edit leaves the login as it is
        assert target.write([edit(after, name="Ann B", login_enabled=True)])[0].ok
        assert probe.login(ann.id) is True

    def test_a_joiner_is_created_with_the_login_off_and_started_later(
        self, target: Target, probe: Probe
    ) -> None:
        """A joiner's contact exists before the hire date with no portal login; on the day
        the login goes on and every value stays."""
        write = replace(new(target, "joe@example.com", Department="Sales"), login_enabled=False)
        result = target.write([write])[0]
        assert result.ok and result.id, result.error
        assert probe.login(result.id) is False
        joe = target.find_by_id([result.id])[result.id]
        assert target.write([edit(joe, name="Joe B")])[0].ok
        assert probe.login(result.id) is False  # an edit before the day leaves it off
        joe = target.find_by_id([result.id])[result.id]
        assert target.write([edit(joe, login_enabled=True)])[0].ok
        assert probe.login(result.id) is True
        after = target.find_by_id([result.id])[result.id]
        assert after.custom == joe.custom and after.name == "Joe B"

    def test_a_login_write_carrying_the_required_values_passes_an_emptied_field(
        self, target: Target, probe: Probe
    ) -> None:
        """An agent emptied a required field: the leaver's login-off carries its value."""
        ids = field_ids(target)
        ann = self.created(target, "ann@example.com", **{"Employee ID": 7, "Notes": "VIP"})
        probe.require("Employee ID")
        probe.agent_empties(ann.id, "Employee ID")
        now = target.find_by_id([ann.id])[ann.id]
        off = edit(now, login_enabled=False, custom={ids["Employee ID"]: 7})
        result = target.write([off])[0]
        assert result.ok, result.error
        assert probe.login(ann.id) is False
        after = target.find_by_id([ann.id])[ann.id]
        assert float(after.custom[ids["Employee ID"]]) == 7
        assert after.custom[ids["Notes"]] == "VIP"

    def test_contact_groups_add_remove_and_leave_others_alone(
        self, target: Target, probe: Probe
    ) -> None:
        if not isinstance(target, ContactGroups):
            pytest.skip("this target has no contact groups")
        a, b, c = (self.created(target, f"u{i}@example.com").id for i in range(3))
        target.add_to_group("Sales", [a, b], True)
        target.add_to_group("Sales", [a], True)  # twice: once a member
        target.add_to_group("Unmanaged", [c], False)
        target.remove_from_group("Sales", [b])
        target.remove_from_group("Nobody made this group", [a])  # nothing to do or create
        assert probe.groups(a) == {"Sales": True}
        assert probe.groups(b) == {}
        assert probe.groups(c) == {"Unmanaged": False}
        assert {"Sales", "Unmanaged"} <= set(target.group_names())
        assert "Nobody made this group" not in target.group_names()

    def test_a_contact_in_a_group_stays_in_it_when_its_address_changes(
        self, target: Target, probe: Probe
    ) -> None:
        if not isinstance(target, ContactGroups):
            pytest.skip("this target has no contact groups")
        ann = self.created(target, "ann@example.com")
        target.add_to_group("Sales", [ann.id], False)
        assert target.write([edit(ann, email="ann.lee@example.com")])[0].ok
        assert probe.groups(ann.id) == {"Sales": False}
