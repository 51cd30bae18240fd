"""Checking the contact-group rules against the live systems: do their groups exist?

The configuration check (offline) already knows every attribute; this one asks each enabled
tenant for the rules' Entra groups and the help desk for its contact groups, and names the
nearest existing one when a name or id looks mistyped.
"""

from __future__ import annotations

from dataclasses import dataclass

from azsyncd.config.model import Config, suggest
from azsyncd.directory.tenants import TenantService
from azsyncd.errors import AuthError, GraphError, SecretError, TargetError
from azsyncd.targets.base import Target
from azsyncd.targets.groups import ContactGroups


@dataclass(frozen=True)
class Finding:
    key: str
    message: str
    level: str = "error"  # error | note


def check_rules(config: Config, tenants: TenantService, target: Target) -> list[Finding]:
    findings: list[Finding] = []
    rules = list(enumerate(config.contact_groups))
    wanted = {r.entra_group for _, r in rules if r.entra_group}
    found: set[str] = set()
    known: dict[str, str] = {}  # group id -> name, across tenants
    for tenant in (t for t in config.tenants if t.enabled):
        if not wanted:
            break
        graph = tenants.connect(tenant).graph
        try:
            for page in graph.pages("/groups", {"$select": "id,displayName", "$top": 999}):
                for group in page.items:
                    if not isinstance(group, dict):
                        continue
                    known[str(group.get("id", "")).lower()] = str(group.get("displayName", ""))
        except (AuthError, GraphError, SecretError) as exc:
            findings.append(
                Finding(f"tenants.{tenant.name}", f"its groups could not be read: {exc}", "note")
            )
            continue
        found |= wanted & set(known)
    for i, rule in rules:
        if rule.entra_group and rule.entra_group not in found and known:
            findings.append(
                Finding(
                    f"contact_groups[{i}].entra_group",
                    f"no enabled tenant has a group with id {rule.entra_group}"
                    f"{suggest(rule.entra_group, known)}; copy the object id from Entra ID",
                )
            )
    if not isinstance(target, ContactGroups):
        if rules:
            findings.append(Finding("target.kind", "this help desk has no contact groups"))
        return findings
    try:
        existing = target.group_names()
    except (TargetError, SecretError) as exc:
        return [*findings, Finding("target", f"its contact groups could not be read: {exc}")]
    for i, rule in rules:
        if rule.group not in existing:
            findings.append(
                Finding(
                    f"contact_groups[{i}].group",
                    f'"{rule.group}" does not exist yet and will be created by the next sync'
                    + suggest(rule.group, existing),
                    "note" if not suggest(rule.group, existing) else "error",
                )
            )
    return findings
