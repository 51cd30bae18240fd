"""What ``POST /v1/preview`` answers: what the next full run would do with a change.

``counts`` has one number per action: create, update, unchanged, fail, out_of_scope,
leaver, returned, group_change (a newer daemon may add more; unknown keys are kept).
``reasons`` are the failures' top reasons (the user's own values shown as "…"), each with
its count and a few examples; ``sample`` some changed contacts with their field diffs,
leavers and group changes. ``refused`` is the refusal a save of this change would get
(empty: it would be saved): its preview fails more than ``max_fail_share`` of a tenant's
contacts, and more than the settings in use do.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PreviewReason:
    reason: str = ""
    count: int = 0
    examples: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PreviewChange:
    tenant: str = ""
    user: str = ""
    email: str = ""
    action: str = ""  # create | update | leaver | returned | group
    changes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PreviewTenant:
    name: str = ""
    ok: bool = True
    reason: str = ""  # why it could not be read
    users: int = 0
    contacts: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    fail_share: float = 0.0
    failing_now: int = 0  # the same users the settings in use fail


@dataclass(frozen=True)
class PreviewResult:
    counts: dict[str, int] = field(default_factory=dict)
    fail_share: float = 0.0
    max_fail_share: float = 0.2
    refused: str = ""
    tenants: list[PreviewTenant] = field(default_factory=list)
    reasons: list[PreviewReason] = field(default_factory=list)
    sample: list[PreviewChange] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line: "create 3, update 250, fail 250 (100%), ..." for a terminal."""
        shown = [f"{k.replace('_', ' ')} {v}" for k, v in self.counts.items() if v]
        text = ", ".join(shown) or "no change"
        return text + (f"; refused at save: {self.refused}" if self.refused else "")
