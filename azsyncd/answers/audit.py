"""``GET /v1/audit``: the changes made through the socket, newest first."""

from __future__ import annotations

from azsyncd.answers.base import Answer, Instant


class AuditEntry(Answer):
    id: int = 0
    at: Instant | None = None
    user: str = ""
    uid: int | None = None  # None when the caller's credentials were not available
    action: str = ""
    status: int = 0
    changes: list[str] = []


class AuditLog(Answer):
    total: int = 0
    entries: list[AuditEntry] = []
