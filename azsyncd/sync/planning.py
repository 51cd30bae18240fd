"""Planning a chunk of directory users: mapped, claimed, then checked against the mirror, the
failures kept from earlier runs, and the help desk itself.

The addresses claimed by the run's tenants live in the state database while the run lasts
(``RunClaim``), not in memory: a run's memory stays flat however many users it reads.

The pure rules are in ``planner.py``; this is the side that reads state and the target. In
a full reconciliation the mirror is not trusted: every contact is compared with the help
desk's, so edits made there are seen, and a refused write is tried again.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from azsyncd.config.model import Config, Tenant
from azsyncd.directory.source import INVALID
from azsyncd.state import State
from azsyncd.state.models import FailingUser
from azsyncd.state.repository import Mirrored
from azsyncd.sync import failures
from azsyncd.sync.executor import PENDING
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
        order: list[str],
    ) -> None:
        """``order``: the names of the tenants the run ``run_id`` syncs, in order (the first
        to sync an address owns it)."""
        self.config, self.state, self.target = config, state, target
        self.run_id, self.order = run_id, order
        self.mapper = Mapper(config.mapping, fields, settings)
        self.field_names = {f.id: f.name for f in fields}
        self.fields_key = failures.fields_key(fields)

    def plan(
        self, tenant: Tenant, users: list[dict[str, Any]], reconcile: bool = False
    ) -> list[Action]:
        """One action per user, in order: mapped, then checked against the mirror, the kept
        failures and the target."""
        rows = self.state.failing(tenant.name, (str(u.get("id", "")) for u in users))
        # A delta may bring a user's changed properties only: the kept data fills the rest.
        users = [self._with_kept(u, rows) for u in users]
        actions = [self._mapped(tenant, user) for user in users]
        self._claim(tenant, users, actions)
        failures.attach(actions, rows)
        pending = [i for i, a in enumerate(actions) if a.kind is ActionKind.PENDING]
        # Whether the help desk held a failing contact: asked once, then kept with it.
        unknown = [
            i
            for i, a in enumerate(actions)
            if a.kind is ActionKind.FAILED
            and EMAIL.match(a.email)
            and (a.user_id not in rows or rows[a.user_id].email != a.email)
        ]
        skipped = [i for i, a in enumerate(actions) if a.kind is ActionKind.SKIPPED and a.email]
        mirror = self.state.mirror(actions[i].email for i in pending + unknown + skipped)
        for i in skipped:  # out of scope: its Type from what azsyncd wrote, no question asked
            self._in_mirror(actions[i], mirror)
        lookup = []
        for i in pending:
            action, entry = actions[i], mirror.get(actions[i].email)
            assert action.mapped is not None
            action.attempt = f"{action.mapped.mirror}:{self.fields_key}"
            if reconcile:
                lookup.append(i)
            elif entry and entry.target_id and entry.fingerprint == action.mapped.mirror:
                # Written as it is now last time: no need to ask the target.
                action.kind, action.existing_id = ActionKind.UNCHANGED, entry.target_id
                # The row names who it was written for; a new owner of the address updates it.
                action.in_mirror = (entry.tenant, entry.object_id) == (
                    action.tenant,
                    action.user_id,
                )
            elif not failures.refused_again(action, rows.get(action.user_id), action.attempt):
                lookup.append(i)
        unknown = [i for i in unknown if not self._in_mirror(actions[i], mirror)]
        emails = [actions[i].email for i in lookup + unknown]
        existing = self.target.find_by_email(emails) if emails else {}
        for i in lookup:
            email = actions[i].email
            actions[i] = self._decided(actions[i], existing.get(email), mirror.get(email))
        for i in unknown:
            actions[i].existed = actions[i].email in existing
        return actions

    @staticmethod
    def _with_kept(user: dict[str, Any], rows: dict[str, FailingUser]) -> dict[str, Any]:
        row = rows.get(str(user.get("id", "")))
        return {**row.user, **user} if row is not None else user

    @staticmethod
    def _in_mirror(action: Action, mirror: dict[str, Mirrored]) -> bool:
        entry = mirror.get(action.email)
        if entry is None or not entry.target_id:
            return False
        action.existing_id = entry.target_id
        return True

    def _claim(self, tenant: Tenant, users: list[dict[str, Any]], actions: list[Action]) -> None:
        """Fail users whose address an earlier tenant of this run synced; claim the others'.

        Only a later tenant reads a claim, so a run's first tenant reads none and its last
        writes none: a one-tenant run keeps no claims at all.
        """
        pending = [i for i, a in enumerate(actions) if a.kind is ActionKind.PENDING]
        if tenant.name != self.order[0]:
            owners = self.state.claims(self.run_id, (actions[i].email for i in pending))
            for i in pending:
                owner = owners.get(actions[i].email)
                if owner and owner[0] != tenant.name:
                    actions[i] = replace(
                        actions[i],
                        kind=ActionKind.FAILED,
                        reason=(
                            f"email {actions[i].email} already belongs to {owner[1]} in tenant "
                            f"{owner[0]}, which syncs first; fix: give one of them another address"
                        ),
                    )
        if tenant.name != self.order[-1]:
            claims = {
                actions[i].email: (
                    tenant.name,
                    str(users[i].get("userPrincipalName", actions[i].user_id)),
                )
                for i in pending
                if actions[i].kind is ActionKind.PENDING
            }
            self.state.claim(self.run_id, claims)

    def _mapped(self, tenant: Tenant, user: dict[str, Any]) -> Action:
        """The user mapped (PENDING), or why not (SKIPPED, FAILED)."""
        user_id = str(user.get("id", ""))
        if INVALID in user:
            return Action(ActionKind.FAILED, tenant.name, user_id, reason=user[INVALID])
        email = self.mapper.email(user)[0].lower()
        reason = out_of_scope(user, tenant.exclude_disabled, self.config.scopes(tenant))
        if reason:
            return Action(ActionKind.SKIPPED, tenant.name, user_id, email, reason=reason, user=user)
        try:
            mapped = self.mapper.map(user)
        except MappingFailure as failure:
            reason = "; ".join(failure.reasons)
            return Action(ActionKind.FAILED, tenant.name, user_id, email, reason=reason, user=user)
        return Action(ActionKind.PENDING, tenant.name, user_id, mapped.email, mapped, user=user)

    def _decided(
        self, action: Action, contact: ExistingContact | None, entry: Mirrored | None
    ) -> Action:
        assert action.mapped is not None
        planned = decide(
            action.tenant,
            action.user_id,
            action.mapped,
            contact,
            overwrite=self.config.mapping.overwrite_custom_fields,
            field_names=self.field_names,
            rules=self.mapper.rules,
        )
        planned.user, planned.failing_since = action.user, action.failing_since
        planned.attempt = action.attempt
        # An existing contact azsync never wrote gets the marker; a create that died before
        # its welcome email gets it now.
        planned.first_seen = contact is not None and entry is None
        planned.welcome_pending = (
            contact is not None and entry is not None and entry.fingerprint == PENDING
        )
        return planned
