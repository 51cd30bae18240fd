"""Whose contact is whose: every user is bound to one contact, every address to one user.

- A user bound to a contact (``MirrorEntry``: tenant, object id -> contact id) stays bound
  to it; a new address is changed on that contact, never given to a new one.
- An address belongs to the user bound to it, kept in the state, or, within a running sync,
  to the first user planned for it (``RunClaim``; a user moving off an address keeps it
  until the run ends): tenants sync in the file's order, so the
  first tenant in that order that has the address owns it. Any other user with the address
  fails, naming the owner, and is never written, whether the owner's data changed or not.
- When the owner's user is gone from its tenant (removed, not merely disabled: a leaver row
  with ``gone_since``, seen by an earlier run), the first tenant in the file's order that
  wants the address takes the contact over at its next run: the contact is bound to that
  tenant's user and no leaver step applies to it any more.
- A user with no binding adopts the help desk's contact at its address, if there is one
  (``planning.py``): only when first bound, never later.
"""

from __future__ import annotations

from azsyncd.state import State
from azsyncd.state.lifecycle import LifecycleState
from azsyncd.state.repository import Claim, Mirrored
from azsyncd.sync.planner import Action, ActionKind

FIX = "fix: give one of them another address"


def owned(email: str, tenant: str, principal: str, same_tenant: bool) -> str:
    who = f"another user of this tenant, {principal}," if same_tenant else f"user {principal}"
    return (
        f"address owned by tenant {tenant}: {who} has {email} first; this user is not written "
        f"({FIX})"
    )


class Identity:
    def __init__(
        self, state: State, lifecycle: LifecycleState, run_id: int, order: list[str]
    ) -> None:
        """``order``: every configured tenant's name, in the file's order."""
        self.state, self.lifecycle, self.run_id, self.order = state, lifecycle, run_id, order

    def owners(self, actions: list[Action]) -> None:
        """Fail the pending users whose address belongs to another user; mark the users who
        take over the contact of an owner who left."""
        wanting = [a for a in actions if a.kind is ActionKind.PENDING and not _own(a)]
        if not wanting:
            return
        emails = [a.email for a in wanting]
        holders = self.state.mirror(emails)
        claims = self.state.claims(self.run_id, emails)
        gone = self.lifecycle.gone([h.key for h in holders.values()], self.run_id, self.order)
        taken: set[str] = set()  # addresses given to a user of this chunk
        for action in wanting:
            why = self._why_not(action, holders.get(action.email), claims.get(action.email), gone)
            if why or action.email in taken:
                first = why or owned(action.email, action.tenant, "a user read before", True)
                action.kind, action.reason = ActionKind.FAILED, first
            else:
                taken.add(action.email)

    def _why_not(
        self,
        action: Action,
        holder: Mirrored | None,
        claim: Claim | None,
        gone: set[tuple[str, str]],
    ) -> str:
        key = (action.tenant, action.user_id)
        if claim is not None and (claim.tenant, claim.object_id) != key:
            return owned(action.email, claim.tenant, claim.principal, claim.tenant == action.tenant)
        if holder is None or holder.key == key:
            return ""
        unbound = action.binding is None or not action.binding.target_id
        if not (unbound and holder.key in gone and holder.target_id):
            name = holder.principal or holder.object_id
            return owned(action.email, holder.tenant, name, holder.tenant == action.tenant)
        first = self._first_wanting(action, holder)
        if first:
            return (
                f"address owned by tenant {holder.tenant}, whose user left; tenant {first} comes "
                f"first in the file and takes the contact over; this user is not written ({FIX})"
            )
        action.takes_over = holder
        return ""

    def _first_wanting(self, action: Action, holder: Mirrored) -> str:
        """A tenant before this one in the file that wants the address (its user failed for
        it), or ""."""
        mine = self.order.index(action.tenant) if action.tenant in self.order else 0
        earlier = [t for t in self.order[:mine] if t != holder.tenant]
        return self.state.first_failing_with(action.email, earlier) if earlier else ""

    def claim(self, users: list[Action]) -> None:
        """Give the run's address to each user planned to get it (bound, or moved to it).

        A user moving off an address keeps it for the rest of the run: another user gets it
        from the next run on. Whether the move was written yet (a run without thresholds
        writes each tenant before the next plans; a guarded run plans all first) then changes
        nothing another user plans.
        """
        planned = [
            a
            for a in users
            if a.kind in (ActionKind.CREATE, ActionKind.UPDATE, ActionKind.UNCHANGED)
            and (a.binds or a.moved_from)
        ]
        claims = {a.moved_from: Claim(a.tenant, a.user_id, a.principal) for a in planned}
        claims.pop("", None)
        claims.update((a.email, Claim(a.tenant, a.user_id, a.principal, a.binds)) for a in planned)
        if claims:
            self.state.claim(self.run_id, claims)


def _own(action: Action) -> bool:
    """The user's address is the one it is bound to: no other user can hold it."""
    binding = action.binding
    return binding is not None and bool(binding.target_id) and binding.email == action.email
