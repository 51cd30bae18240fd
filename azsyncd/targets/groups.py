"""What a target offers beyond contacts: contact groups (the leavers' group, group rules).

A target without it syncs contacts and turns leavers' logins off and on as before (that is
a ``ContactWrite`` with ``login_enabled``, see ``base.py``); the run log says that the
leavers' group and contact-group rules need a target that has groups.

Contacts are named by their id (``ExistingContact.id``), never by address: a contact whose
address changed is still the member it was. Every call is idempotent (adding a member twice,
removing one that is not there, changes nothing), so a step cut short is simply done again.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class ContactGroups(Protocol):
    def add_to_group(self, name: str, contact_ids: list[str], access_tickets: bool) -> None:
        """Add contacts to the group ``name``, creating the group once if it is missing;
        ``access_tickets``: the members see the tickets of the group's other members."""

    def remove_from_group(self, name: str, contact_ids: list[str]) -> None:
        """Take contacts out of the group ``name``; a missing group has nobody to remove."""

    def group_names(self) -> list[str]:
        """The names of the contact groups the help desk has."""
