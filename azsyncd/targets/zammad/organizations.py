"""Contact groups as Zammad organizations: a user's primary and secondary memberships.

A Zammad user has one primary organization (``organization_id``) and up to 250 secondary
ones (``organization_ids``, which a write replaces whole); secondaries need a primary.
``regroup`` (pure) adds or removes one membership and chooses the primary: the first
organization, in the file order of the ``[[contact_groups]]`` rules, that the user is in;
but a primary no rule names (set by hand, or by Zammad's domain assignment) stays primary.
Memberships no rule put there are never dropped: one only changes from secondary to primary
when the primary it stood behind is taken away (Zammad refuses secondaries without one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SECONDARY_MAX = 250


@dataclass(frozen=True)
class Memberships:
    primary: int | None
    secondary: tuple[int, ...]

    @property
    def all(self) -> list[int]:
        return ([self.primary] if self.primary is not None else []) + [
            o for o in self.secondary if o != self.primary
        ]


def regroup(
    current: Memberships,
    ranked: Sequence[int],
    *,
    add: int | None = None,
    remove: int | None = None,
) -> Memberships:
    """The memberships after adding ``add`` and removing ``remove``; ``ranked``: the
    organizations the rules name, in the rules' file order."""
    members = list(dict.fromkeys(current.all))
    if add is not None and add not in members:
        members.append(add)
    if remove is not None and remove in members:
        members.remove(remove)
    primary = current.primary if current.primary in members else None
    first = next((o for o in ranked if o in members), None)
    if primary is None or (primary in ranked and first is not None):
        primary = first if first is not None else (members[0] if members else None)
    return Memberships(primary, tuple(o for o in members if o != primary))
