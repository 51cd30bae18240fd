"""What a target offers beyond contacts: contact groups and the portal login (leavers, rules).

A target without it syncs contacts as before; the engine says in the run log that leaver
actions and group rules need a target that has it.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class ContactGroups(Protocol):
    def add_to_group(self, name: str, contact_ids: list[str], access_tickets: bool) -> None:
        """Add contacts to the group ``name``, creating the group once if it is missing."""

    def remove_from_group(self, name: str, contact_ids: list[str]) -> None:
        """Take contacts out of the group ``name``; a missing group has nobody to remove."""

    def group_names(self) -> list[str]:
        """The names of the contact groups the help desk has."""
