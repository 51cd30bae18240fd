"""Contact-group rules: an Entra group or an attribute condition -> a help-desk contact group.

Membership follows the rules: a contact is added when a rule matches and taken out when no
rule for that group matches any more. azsync remembers what it added (``RuleMember``), so a
contact put in a group by hand, and every group no rule names, are never touched. The
deciding (``plan``) is pure; ``apply`` makes the calls and keeps the memory in step.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from azsyncd.config.model import ContactGroupRule
from azsyncd.state.lifecycle import LifecycleState, Managed
from azsyncd.targets.groups import ContactGroups

GROUP = "Group"  # a membership change's Type in a held run's plan


def matches(rule: ContactGroupRule, user: dict[str, Any]) -> bool:
    """An attribute rule against one Graph user; text compares without regard to case."""
    return rule.condition().test(user)


def rule_attributes(rules: Iterable[ContactGroupRule]) -> set[str]:
    """The attribute paths the attribute rules read, to add to the read's $select."""
    return {path for r in rules if r.when for path in r.condition().reads}


def attribute_matches(
    rules: list[ContactGroupRule], users: Iterable[dict[str, Any]]
) -> Iterator[tuple[str, str]]:
    """(object id, contact group) for each user and attribute rule it matches."""
    for user in users:
        for rule in rules:
            if rule.when and matches(rule, user):
                yield str(user.get("id")), rule.group


@dataclass(frozen=True)
class GroupChange:
    """One group's changes, by object id: the contacts are named when the change is made,
    once the run has written the contacts it creates."""

    group: str
    add: dict[str, bool]  # object id -> access_tickets
    remove: list[str]  # object ids


def plan(
    rules: list[ContactGroupRule],
    managed: dict[str, Managed],
    read: set[str],
    matched: dict[str, set[str]],
    stored: dict[str, dict[str, bool]],
) -> list[GroupChange]:
    """The changes per group for some of the tenant's users with a contact (a page of them).

    ``read``: the users among them this run read; ``matched``: object id -> the groups
    whose rules it matched (an attribute of a user read, or a member of the rule's Entra
    group); ``stored``: group -> {object id: access_tickets} azsync added. A user is judged
    when the read gave it, when it matched, or when all its group's rules are Entra groups
    (whose members are read in full each run); anyone else keeps what they have.
    """
    changes = []
    for group in dict.fromkeys(r.group for r in rules):
        own = [r for r in rules if r.group == group]
        tickets = any(r.access_tickets for r in own)
        only_groups = all(r.entra_group for r in own)
        wanted: dict[str, bool] = {}
        judged: set[str] = set()
        for object_id in managed:
            hit = group in matched.get(object_id, ())
            if hit or only_groups or object_id in read:
                judged.add(object_id)
            if hit:
                wanted[object_id] = tickets
        have = stored.get(group, {})
        add = {t: v for t, v in wanted.items() if have.get(t) != v}
        remove = sorted(t for t in have if t in judged and t not in wanted)
        if add or remove:
            changes.append(GroupChange(group, add, remove))
    return changes


def apply(
    change: GroupChange,
    target: ContactGroups,
    memory: LifecycleState,
    tenant: str,
    contacts: dict[str, str],
) -> tuple[int, int]:
    """Make one group's calls, then remember them; (added, removed). ``contacts``: object
    id -> its contact now; a user without one (its creation failed) is left for later."""
    added = removed = 0
    for tickets in (True, False):  # one access_tickets value per call
        ids = [o for o, v in change.add.items() if v is tickets and o in contacts]
        if ids:
            target.add_to_group(change.group, [contacts[o] for o in ids], tickets)
            memory.add_members(
                [
                    {
                        "group": change.group,
                        "target_id": contacts[o],
                        "tenant": tenant,
                        "object_id": o,
                        "access_tickets": tickets,
                    }
                    for o in ids
                ]
            )
            added += len(ids)
    gone = memory.member_contacts(tenant, change.group, change.remove)
    if gone:
        target.remove_from_group(change.group, list(gone.values()))
        memory.remove_members(change.group, list(gone.values()))
        removed += len(gone)
    return added, removed
