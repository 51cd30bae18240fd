"""The audit entry of the control request being served, so an edit stores it with the change.

The audit middleware writes the entry before the request runs (a locked database then refuses
the request: nothing is done unaudited) and finishes it after. An edit of the configuration
writes what it changed into that entry inside its own transaction (``ConfigStore.update``):
the audit row and the change are kept together, or neither is.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from azsyncd.state import State


@dataclass
class Pending:
    entry_id: int
    status: int = 0  # what the entry says while the request runs


CURRENT: ContextVar[Pending | None] = ContextVar("azsyncd_pending_audit", default=None)


def store_changes(state: State, lines: list[str]) -> None:
    """In the edit's transaction: the request's entry now says what changed (as done)."""
    pending = CURRENT.get()
    if pending is not None:
        state.audit_update(pending.entry_id, 200, lines)
