"""Shared handler dependencies."""

from __future__ import annotations

from fastapi import Request

from azsyncd.service.daemon import Daemon


def daemon_of(request: Request) -> Daemon:
    daemon: Daemon = request.app.state.daemon
    return daemon
