"""What ``GET /v1/lifecycle`` answers: leaver settings, contact-group rules, known leavers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class LifecycleSettings:
    on_removed: str = "keep"
    on_disabled: str = "keep"
    grace_days: int = 3
    group_name: str = "Left Microsoft Entra ID: {tenant}"
    create_before_hire_days: int = 0


@dataclass(frozen=True)
class GroupRule:
    group: str = ""
    access_tickets: bool = False
    entra_group: str = ""
    when: str = ""

    @property
    def condition(self) -> str:
        return f"member of {self.entra_group}" if self.entra_group else self.when


@dataclass(frozen=True)
class LeaverRow:
    tenant: str = ""
    object_id: str = ""
    email: str = ""
    gone_since: datetime | None = None
    disabled: bool = False
    login_off: bool = False
    reason: str = ""  # e.g. "login still ON: <the help desk's reason>" while it refuses


@dataclass(frozen=True)
class Lifecycle:
    lifecycle: LifecycleSettings = field(default_factory=LifecycleSettings)
    contact_groups: list[GroupRule] = field(default_factory=list)
    leavers: list[LeaverRow] = field(default_factory=list)
    joiners: list[JoinerRow] = field(default_factory=list)  # upcoming starts, soonest first


@dataclass(frozen=True)
class Finding:
    key: str = ""
    message: str = ""


@dataclass(frozen=True)
class RuleCheck:
    """Problems (a group that does not exist, with the nearest one) and notes."""

    problems: list[Finding] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class JoinerRow:
    tenant: str = ""
    object_id: str = ""
    email: str = ""
    name: str = ""
    hire_date: str = ""  # YYYY-MM-DD: the day the login goes on
    days_left: int = 0
    created: bool = False  # the contact exists, login off; False: not synced yet
    contact_from: str = ""  # YYYY-MM-DD: when the contact is created (hire date - days)
    reason: str = ""  # "login still OFF: <the help desk's reason>" while it refuses


@dataclass(frozen=True)
class Joiners:
    """Upcoming starts: contacts created before their user's hire date, login off."""

    create_before_hire_days: int = 0
    today: str = ""
    timezone: str = "UTC"
    joiners: list[JoinerRow] = field(default_factory=list)


@dataclass(frozen=True)
class QualityGroup:
    title: str = ""
    where: str = ""  # "Entra ID" or "azsync or the help desk"
    kind: str = ""
    attribute: str = ""
    field: str = ""  # the help desk's field
    count: int = 0
    addresses: tuple[str, ...] = ()
    trace: str = ""


@dataclass(frozen=True)
class Quality:
    """The data-quality report: failing users grouped by fix, and the digest's text."""

    account: str = ""
    failing: int = 0
    text: str = ""
    groups: list[QualityGroup] = field(default_factory=list)
