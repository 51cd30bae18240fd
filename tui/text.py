"""How the TUI writes times, states and marks, the same way on every tab."""

from __future__ import annotations

from datetime import datetime


def when(value: datetime | None, width: int = 16) -> str:
    """ "2026-11-26 00:30" from a timestamp, "-" for none."""
    return value.isoformat()[:width].replace("T", " ") if value else "-"
