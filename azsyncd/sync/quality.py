"""The data-quality report: the contacts that fail, grouped by what fixes them.

The people who own the directory's data are told what to correct, once a group: "Set
mobilePhone for 12 users", "Office "Mars Base" is not a choice of Office (allowed: Berlin,
London, Remote): 3 users; ...". Groups come from each failure's ``Fix`` (``sync/fixes.py``),
never from its text; each names up to ``limit`` addresses and the command that traces one
user through a sync. ``azsyncctl report quality`` prints it and the digest
(``service/watch/digest.py``) sends it: the same text, built here.

What it shows of a user: the address, and for a value that is no choice, that value. No
other attribute, no reason in the help desk's words (it may quote anything), no secret.
Directory text is made inert (``azsyncd.inert``) and cut short.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from azsyncd.inert import inert
from azsyncd.sync import fixes
from azsyncd.sync.fixes import Fix
from azsyncd.sync.report import BOM, neutralise
from azsyncd.targets.fields import short

ADDRESSES = 10  # addresses a group names, by default
TRACE = "azsyncctl sync --user {address} --dry-run"
CSV_COLUMNS = ("Fix", "To fix in", "Attribute", "Email", "Tenant", "User ID", "Failing since run")


@dataclass
class Member:
    tenant: str
    object_id: str
    email: str
    since_run: int


@dataclass
class Group:
    fix: Fix
    members: list[Member] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.members)

    @property
    def title(self) -> str:
        return describe(self.fix, self.count)

    @property
    def where(self) -> str:
        return "Entra ID" if self.fix.for_directory else "azsync or the help desk"

    def trace(self) -> str:
        first = next((m.email for m in self.members if m.email), "")
        return TRACE.format(address=_plain(first)) if first else ""


@dataclass
class Report:
    account: str
    failing: int  # users, each counted once whatever its fixes
    groups: list[Group]

    def text(self, limit: int = ADDRESSES) -> str:
        """The report as the digest's body and ``report quality`` print it."""
        if not self.groups:
            return f"{self.account}: no contact fails to sync. Nothing to fix."
        lines = [
            f"{self.account}: {self.failing} user(s) fail to sync, "
            f"{len(self.groups)} fix(es) to make."
        ]
        for where in ("Entra ID", "azsync or the help desk"):
            groups = [g for g in self.groups if g.where == where]
            if not groups:
                continue
            lines += ["", f"To fix in {where}:"]
            for group in groups:
                lines.append(f"- {group.title}")
                lines.append(f"  Users: {addresses(group, limit)}")
                lines.append(f"  One user's trace: {group.trace()}")
        return "\n".join(lines)

    def as_json(self, limit: int = ADDRESSES) -> dict[str, Any]:
        return {
            "account": self.account,
            "failing": self.failing,
            "text": self.text(limit),
            "groups": [
                {
                    "title": g.title,
                    "where": g.where,
                    "kind": g.fix.kind,
                    "attribute": g.fix.attribute,
                    "field": g.fix.field,
                    "count": g.count,
                    "addresses": [_plain(m.email) for m in g.members[:limit]],
                    "trace": g.trace(),
                }
                for g in self.groups
            ],
        }

    def csv(self) -> Iterator[str]:
        """One row per failing user and fix: every address, not only the first few."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        buffer.write(BOM)
        writer.writerow(CSV_COLUMNS)
        for group in self.groups:
            for member in group.members:
                cells = [
                    group.title,
                    group.where,
                    group.fix.attribute,
                    member.email,
                    member.tenant,
                    member.object_id,
                    str(member.since_run),
                ]
                writer.writerow([neutralise(inert(c, keep="")) for c in cells])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()


def build(account: str, rows: Iterable[Any]) -> Report:
    """The report of the failing users ``rows`` (``FailingUser``: tenant, object_id, email,
    since_run, fixes), grouped by fix, the largest groups first, Entra ID's before the rest."""
    groups: dict[tuple[str, ...], Group] = {}
    users = 0
    for row in rows:
        users += 1
        member = Member(row.tenant, row.object_id, row.email, row.since_run)
        found = fixes.loaded(row.fixes) or [Fix("other")]
        for fix in dict.fromkeys(found):  # one fix twice (two phones from one attribute)
            groups.setdefault(fix.key, Group(fix)).members.append(member)
    ordered = sorted(
        groups.values(),
        key=lambda g: (not g.fix.for_directory, -g.count, g.fix.key),
    )
    return Report(account, users, ordered)


def describe(fix: Fix, count: int) -> str:
    """What to do, for ``count`` users, in one sentence."""
    users = f"{count} user{'s' if count != 1 else ''}"
    attribute, name = _plain(fix.attribute), _plain(fix.field)
    if fix.kind == "set":
        return f"Set {attribute} for {users}" + (f" (help desk field: {name})" if name else "")
    if fix.kind == "choice":
        allowed = ", ".join(_plain(a) for a in fix.allowed)
        return (
            f"{name} {_plain(short(fix.value))} is not a choice of {name} (allowed: {allowed}): "
            f"{users}; add the choice in the help desk or correct {attribute}"
        )
    if fix.kind == "format":
        return (
            f"Correct {attribute} for {users}: not a {_plain(fix.detail)} "
            f"(the help desk's {name} is a {_plain(fix.detail)} field)"
        )
    if fix.kind == "email":
        return f"Correct {attribute} for {users}: not an email address"
    if fix.kind == "guest":
        return (
            f"{users}: a guest's {attribute} is no mailbox; turn "
            "mapping.guest_email_from_mail on in azsync"
        )
    if fix.kind == "mapping":
        return f"{name}: {_plain(fix.detail)}: {users}; correct the mapping in azsync"
    if fix.kind == "help_desk":
        return f"The help desk refused the contacts of {users}; the trace shows its reason"
    return f"{users} fail for a reason of azsync's own (an address another user holds, ...)"


def addresses(group: Group, limit: int) -> str:
    shown = [_plain(m.email) or f"(object {_plain(m.object_id)})" for m in group.members[:limit]]
    more = group.count - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _plain(text: str) -> str:
    """Directory text on one line, inert."""
    return inert(str(text), keep="")
