"""The audit log: every change made through the socket, who made it, what changed, the answer.

Handlers say what changed with ``deps.note``; the middleware adds the caller (from the socket's
peer credentials) and the answer's status, stores the entry in the state database and
writes it to the journal. Reads are not recorded. No secret value is ever noted: settings
hold none, and credentials are noted by kind and file.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query
from peewee import PeeweeException

from azsyncd.answers import AuditLog, read
from azsyncd.config.text import clipped
from azsyncd.service.api.callers import READ_METHODS, Caller, caller_from_scope
from azsyncd.service.api.deps import daemon_of
from azsyncd.service.api.schemas import PRINTABLE
from azsyncd.service.daemon import Daemon

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["audit"])
DaemonDep = Annotated[Daemon, Depends(daemon_of)]


def record(daemon: Daemon, caller: Caller, action: str, status: int, lines: list[str]) -> None:
    # One entry is one journal line: no caller-chosen newline may forge another.
    lines = [clipped(line, 400) for line in lines]
    text = "; ".join(lines)
    log.info("audit: %s %s -> %d%s", caller.label, action, status, f": {text}" if text else "")
    try:
        daemon.state.audit(caller.name, caller.uid, action, status, lines)
    except PeeweeException as exc:
        log.error("audit entry not stored in the state database (%s); the line above has it", exc)


class AuditTrail:
    def __init__(self, app: Any, daemon: Daemon) -> None:
        self.app, self.daemon = app, daemon

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in READ_METHODS:
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})
        status = 0

        async def capture(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        action = f"{scope['method']} {clipped(scope['path'], 200)}"
        try:
            await self.app(scope, receive, capture)
        except Exception:
            lines = scope["state"].get("audit") or ["failed: unexpected error"]
            await self._record(scope, action, status or 500, lines)
            raise
        if status:
            await self._record(scope, action, status, scope["state"].get("audit") or [])

    async def _record(self, scope: Any, action: str, status: int, lines: list[str]) -> None:
        caller = caller_from_scope(scope)
        await anyio.to_thread.run_sync(record, self.daemon, caller, action, status, list(lines))


@router.get("/audit", summary="Changes made through the socket, newest first: who, when, what")
def get_audit(
    daemon: DaemonDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    user: Annotated[str, Query(max_length=64, pattern=PRINTABLE)] = "",
) -> AuditLog:
    total, rows = daemon.state.audit_entries(limit, offset, user)
    answer = {
        "total": total,
        "entries": [
            {
                "id": row.id,
                "at": row.at.isoformat(),
                "user": row.user,
                "uid": row.uid,
                "action": row.action,
                "status": row.status,
                "changes": row.detail.splitlines() if row.detail else [],
            }
            for row in rows
        ],
    }
    return read(AuditLog, answer)
