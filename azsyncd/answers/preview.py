"""``POST /v1/preview``: what the next full run would do with a change, saving nothing (and
the preview a save refused with ``preview_fails`` carries in its error)."""

from __future__ import annotations

from azsyncd.answers.base import Answer


class TenantPreview(Answer):
    name: str = ""
    ok: bool = True
    reason: str = ""
    users: int = 0  # every user the read gave, in scope or not
    contacts: int = 0  # the contacts azsync keeps for it now
    counts: dict[str, int] = {}
    fail_share: float = 0.0
    failing_now: int = 0  # of the users planned, those that fail with the settings in use


class PreviewReason(Answer):
    reason: str = ""  # the user's own values replaced by "…": alike failures count as one
    count: int = 0
    examples: list[str] = []


class PreviewChange(Answer):
    tenant: str = ""
    user: str = ""
    email: str = ""
    action: str = ""  # create | update | leaver | returned | group
    changes: list[str] = []  # 'Department: "Sales" -> "Support"'


class Preview(Answer):
    """What a change would do: counts by action, the failure reasons, a few changes."""

    counts: dict[str, int] = {}
    fail_share: float = 0.0
    tenants: list[TenantPreview] = []
    reasons: list[PreviewReason] = []
    sample: list[PreviewChange] = []
    seconds: float = 0.0
    notes: list[str] = []

    def summary(self) -> str:
        """One line: "create 3, update 250, fail 250, ..." for a terminal."""
        shown = [f"{k.replace('_', ' ')} {v}" for k, v in self.counts.items() if v]
        return ", ".join(shown) or "no change"


class PreviewAnswer(Preview):
    """``POST /v1/preview``: the preview, and whether a save would be refused: its preview
    fails more than ``max_fail_share`` of a tenant's contacts, and more than the settings in
    use do."""

    max_fail_share: float = 0.0
    refused: str = ""  # the refusal a save of this change would get ("": it would be saved)

    def summary(self) -> str:
        text = super().summary()
        return text + (f"; refused at save: {self.refused}" if self.refused else "")
