"""The demo daemon's simulated directory: a person added."""

from __future__ import annotations

from azsyncd.answers.base import Answer, Instant


class DemoUser(Answer):
    """A person added to the demo's simulated directory, in the directory's own spelling."""

    id: str = ""
    userPrincipalName: str = ""
    displayName: str = ""


class DemoUserAdded(Answer):
    user: DemoUser = DemoUser()
    interval: str = ""
    next_tick: Instant | None = None
