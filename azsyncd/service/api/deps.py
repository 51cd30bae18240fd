"""Shared handler dependencies, and the note each change leaves for its audit entry."""

from __future__ import annotations

from fastapi import Request

from azsyncd.service.daemon import Daemon


def daemon_of(request: Request) -> Daemon:
    daemon: Daemon = request.app.state.daemon
    return daemon


def note(request: Request, *lines: str) -> None:
    """Say what this request changed (or why it was refused), for its audit entry."""
    notes = request.scope.setdefault("state", {}).setdefault("audit", [])
    notes.extend(lines)
