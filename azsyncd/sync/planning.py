"""Planning a chunk of directory users: mapped, bound, then checked against the bindings, the
failures kept from earlier runs, and the help desk itself.

A user bound to a contact is compared with that contact, found by its id: a new address is
an edit of the same contact. A user with no binding adopts the contact at its address, or
gets a new one. Whose address is whose is ``identity.py``'s; the addresses the run gives out
live in the state database while it lasts (``RunClaim``), not in memory, so a run's memory
stays flat however many users it reads.

The pure rules are in ``planner.py``; this is the side that reads state and the target. In
a full reconciliation the binding's fingerprint is not trusted: every contact is compared
with the help desk's, so edits made there are seen, and a refused write is tried again.
"""

from __future__ import annotations

from typing import Any

from azsyncd.config.model import Config, Tenant
from azsyncd.directory.source import INVALID
from azsyncd.state import State
from azsyncd.state.lifecycle import LifecycleState
from azsyncd.state.models import FailingUser
from azsyncd.sync import failures, joiners
from azsyncd.sync.executor import PENDING
from azsyncd.sync.identity import Identity
from azsyncd.sync.mapping import EMAIL, Mapper, MappingFailure
from azsyncd.sync.planner import Action, ActionKind, decide, out_of_scope
from azsyncd.targets.base import ExistingContact, Target
from azsyncd.targets.fields import FieldDef


class Planning:
    def __init__(
        self,
        config: Config,
        state: State,
        target: Target,
        fields: list[FieldDef],
        settings: str,
        run_id: int,
    ) -> None:
        self.config, self.state, self.target = config, state, target
        self.run_id = run_id
        self.mapper = Mapper(config.mapping, fields, settings)
        self.fields = fields
        self.field_names = {f.id: f.name for f in fields}
        self.fields_key = failures.fields_key(fields)
        order = [t.name for t in config.tenants]
        self.identity = Identity(state, LifecycleState(state.db), run_id, order)
        # Joiners (``[lifecycle] create_before_hire_days``): set by the run, with its today.
        self.joining: joiners.Window | None = None

    def plan(
        self, tenant: Tenant, users: list[dict[str, Any]], reconcile: bool = False
    ) -> list[Action]:
        """One action per user, in order: mapped, bound, then checked against the binding,
        the kept failures and the target."""
        rows = self.state.failing(tenant.name, (str(u.get("id", "")) for u in users))
        # A delta may bring a user's changed properties only: the kept data fills the rest.
        users = [self._with_kept(u, rows) for u in users]
        actions = [self._mapped(tenant, user) for user in users]
        bindings = self.state.bindings(tenant.name, (a.user_id for a in actions))
        for action in actions:
            action.binding = bindings.get(action.user_id)
            if action.binding and not action.principal:
                action.principal = action.binding.principal
        failures.attach(actions, rows)
        if self.joining is not None:
            self._too_early(actions)
        self.identity.owners(actions)
        asked = self._unchanged(actions, rows, reconcile)
        self._decide(actions, asked)
        self._existed(actions, rows)
        self.identity.claim([actions[i] for i in asked])
        return actions

    def _too_early(self, actions: list[Action]) -> None:
        """A user with no contact whose hire date is further away than the joiners' window
        is not synced yet (SKIPPED, its Type Joiner); one with a contact is kept in step."""
        assert self.joining is not None
        for action in actions:
            bound = action.binding is not None and action.binding.target_id
            if action.kind is not ActionKind.PENDING or bound or action.user is None:
                continue
            day = joiners.hire_day(action.user)
            if self.joining.too_early(day):
                assert day is not None
                action.kind, action.joiner = ActionKind.SKIPPED, day
                action.reason = (
                    f"joiner: hire date {day.isoformat()}; the contact is created on "
                    f"{self.joining.first_day(day).isoformat()}, with the portal login off"
                )

    @staticmethod
    def _with_kept(user: dict[str, Any], rows: dict[str, FailingUser]) -> dict[str, Any]:
        row = rows.get(str(user.get("id", "")))
        return {**row.user, **user} if row is not None else user

    def _mapped(self, tenant: Tenant, user: dict[str, Any]) -> Action:
        """The user mapped (PENDING), or why not (SKIPPED, FAILED)."""
        user_id = str(user.get("id", ""))
        if INVALID in user:
            return Action(ActionKind.FAILED, tenant.name, user_id, reason=user[INVALID])
        email = self.mapper.email(user)[0].lower()
        principal = str(user.get("userPrincipalName") or "")
        reason = out_of_scope(user, tenant.exclude_disabled, self.config.scopes(tenant))
        if reason:
            kind = ActionKind.SKIPPED
            return Action(kind, tenant.name, user_id, email, reason=reason, user=user)
        try:
            mapped = self.mapper.map(user)
        except MappingFailure as failure:
            failed = Action(
                ActionKind.FAILED,
                tenant.name,
                user_id,
                email,
                reason="; ".join(failure.reasons),
                user=user,
                fixes=failure.fixes,
            )
            failed.reasons = tuple(failure.reasons)
            return failed
        return Action(
            ActionKind.PENDING,
            tenant.name,
            user_id,
            mapped.email,
            mapped,
            user=user,
            principal=principal,
        )

    def _unchanged(
        self, actions: list[Action], rows: dict[str, FailingUser], reconcile: bool
    ) -> list[int]:
        """Settle what needs no question to the help desk: a bound contact written as it is
        now last time (UNCHANGED), a write the help desk refused as it is (FAILED again).
        The places of the users left to ask about."""
        asked = []
        for n, action in enumerate(actions):
            if action.kind is not ActionKind.PENDING:
                continue
            assert action.mapped is not None
            action.attempt = f"{action.mapped.mirror}:{self.fields_key}"
            entry = action.binding
            if (
                not reconcile
                and entry is not None
                and entry.target_id
                and entry.email == action.email
                and entry.fingerprint == action.mapped.mirror
            ):
                action.kind, action.existing_id = ActionKind.UNCHANGED, entry.target_id
                action.in_mirror = True
            elif not failures.refused_again(action, rows.get(action.user_id), action.attempt):
                asked.append(n)
        return asked

    def _decide(self, actions: list[Action], places: list[int]) -> None:
        """Ask the help desk for the users' contacts (by id when bound, by address when not
        or when the address changes), then decide each user's action."""
        asked = [actions[n] for n in places]
        ids = {_contact_id(a) for a in asked} - {""}
        emails = {a.email for a in asked if _contact_id(a) == "" or _moves(a)}
        by_id = self.target.find_by_id(ids) if ids else {}
        lost = {a.email for a in asked if _contact_id(a) and _contact_id(a) not in by_id}
        emails |= lost  # a bound contact an agent deleted: the user is bound afresh
        by_email = self.target.find_by_email(emails) if emails else {}
        for n, action in zip(places, asked, strict=True):
            actions[n] = self._decided(action, by_id.get(_contact_id(action)), by_email)

    def _decided(
        self,
        action: Action,
        bound: ExistingContact | None,
        by_email: dict[str, ExistingContact],
    ) -> Action:
        assert action.mapped is not None
        holder = by_email.get(action.email)
        if bound is not None and holder is not None and holder.id != bound.id:
            action.kind, action.reason = ActionKind.FAILED, _collision(action, bound, holder)
            action.existing_id = bound.id
            return action
        contact = bound or holder
        taken = action.takes_over
        planned = decide(
            action.tenant,
            action.user_id,
            action.mapped,
            contact,
            overwrite=self.config.mapping.overwrite_custom_fields,
            field_names=self.field_names,
            login_on=bound is not None and taken is not None and self._login_was_off(taken),
            rules=self.mapper.rules,
            fixed=self.mapper.fixed,
        )
        for name in ("user", "failing_since", "attempt", "principal", "binding"):
            setattr(planned, name, getattr(action, name))
        planned.takes_over = taken if bound is not None else None
        # A contact azsync never wrote for this user gets the marker; a create that died
        # before its welcome email gets it now.
        entry = action.binding
        planned.first_seen = contact is not None and (entry is None or not entry.target_id)
        planned.welcome_pending = (
            contact is not None and entry is not None and entry.fingerprint == PENDING
        )
        self._joiner(planned)
        return planned

    def _joiner(self, planned: Action) -> None:
        """A contact created before its user's hire date: the login off, no welcome email yet
        (a create a crashed run left, welcome still pending, too)."""
        if self.joining is None or planned.user is None:
            return
        if planned.kind is not ActionKind.CREATE and not planned.welcome_pending:
            return
        day = joiners.hire_day(planned.user)
        if self.joining.ahead(day):
            planned.joiner, planned.welcome_pending = day, False
            if planned.kind is ActionKind.CREATE and planned.write is not None:
                planned.write.login_enabled = False

    def _login_was_off(self, taken: Any) -> bool:
        row = LifecycleState(self.state.db).leavers(taken.tenant).get(taken.object_id)
        return row is not None and row.acted

    def _existed(self, actions: list[Action], rows: dict[str, FailingUser]) -> None:
        """Whether the help desk holds the contact of a user that fails or is out of scope
        (its Type in the log): bound, or asked once by address and kept with the failure."""
        unknown = []
        for action in actions:
            if action.kind not in (ActionKind.FAILED, ActionKind.SKIPPED):
                continue
            if action.binding is not None and action.binding.target_id:
                action.existing_id = action.existing_id or action.binding.target_id
            elif (
                action.kind is ActionKind.FAILED
                and not action.existing_id
                and EMAIL.match(action.email)
                and (action.user_id not in rows or rows[action.user_id].email != action.email)
            ):
                unknown.append(action)
        if unknown:
            existing = self.target.find_by_email(a.email for a in unknown)
            for action in unknown:
                action.existed = action.email in existing


def _contact_id(action: Action) -> str:
    """The contact the user is bound to (or takes over), "" when it has none."""
    if action.takes_over is not None:
        return action.takes_over.target_id
    return action.binding.target_id if action.binding is not None else ""


def _moves(action: Action) -> bool:
    return action.binding is not None and action.binding.email != action.email


def _collision(action: Action, bound: ExistingContact, holder: ExistingContact) -> str:
    old, new = bound.email, action.email
    return (
        f"address changed: {old} -> {new}, but {new} already belongs to contact {holder.id} "
        f"({holder.name}); this user's contact {bound.id} keeps {old} and nothing was merged "
        f"or created. Fix: free {new} in the help desk (change or delete contact {holder.id}), "
        "or correct the user's address in Entra ID"
    )
