"""``GET /v1/lifecycle``: leaver settings, contact-group rules, the leavers and joiners azsync
knows; and the check of the rules' groups."""

from __future__ import annotations

from azsyncd.answers.base import SENT, Answer, Instant
from azsyncd.config import model


class LifecycleSettings(model.Lifecycle):
    model_config = SENT


class GroupRule(Answer):
    """A ``[[contact_groups]]`` rule, as ``config.model.ContactGroupRule`` has it (a test holds
    the two to the same keys); the client keeps it apart for ``condition``, its text."""

    group: str = ""
    access_tickets: bool = False
    entra_group: str = ""
    when: str = ""

    @property
    def condition(self) -> str:
        return f"member of {self.entra_group}" if self.entra_group else self.when


class LeaverRow(Answer):
    tenant: str = ""
    object_id: str = ""
    email: str = ""
    gone_since: Instant | None = None
    disabled: bool = False
    login_off: bool = False
    reason: str = ""  # e.g. "login still ON: <the help desk's reason>" while it refuses


class JoinerRow(Answer):
    tenant: str = ""
    object_id: str = ""
    email: str = ""
    name: str = ""
    hire_date: str = ""  # YYYY-MM-DD: the day the login goes on
    days_left: int = 0
    created: bool = False  # the contact exists, login off; False: not synced yet
    contact_from: str = ""  # YYYY-MM-DD: when the contact is created (hire date - days)
    reason: str = ""  # "login still OFF: <the help desk's reason>" while it refuses


class Joiners(Answer):
    """``GET /v1/lifecycle/joiners``: contacts created before their user's hire date."""

    create_before_hire_days: int = 0
    today: str = ""
    timezone: str = "UTC"
    joiners: list[JoinerRow] = []


class Lifecycle(Answer):
    lifecycle: LifecycleSettings = LifecycleSettings()
    contact_groups: list[GroupRule] = []
    leavers: list[LeaverRow] = []
    joiners: list[JoinerRow] = []  # upcoming starts, soonest first


class Finding(Answer):
    key: str = ""
    message: str = ""


class RuleCheck(Answer):
    """Problems (a group that does not exist, with the nearest one) and notes."""

    problems: list[Finding] = []
    notes: list[Finding] = []
