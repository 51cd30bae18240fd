"""The audit log: every change made through the socket, who made it, what changed, the answer.

Handlers say what changed with ``deps.note``; the middleware adds the caller (from the socket's
peer credentials) and the answer's status, stores the entry in the state database and
writes it to the journal. Reads are not recorded. No secret value is ever noted: settings
hold none, and credentials are noted by kind and file.

The entry is written before the request runs, and a database that cannot take it gets the
request refused with 503 (nothing done, the journal says so): no change goes unaudited. An
edit of the configuration writes what it changed into the entry in its own transaction
(``pending_audit``); the answer's status is added after.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query, Request
from peewee import PeeweeException

from azsyncd.answers import AuditLog, read
from azsyncd.config.text import clipped
from azsyncd.service import pending_audit
from azsyncd.service.api.callers import READ_METHODS, Caller, caller_from_scope, people_of
from azsyncd.service.api.deps import daemon_of
from azsyncd.service.api.schemas import PRINTABLE
from azsyncd.service.daemon import Daemon

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["audit"])
DaemonDep = Annotated[Daemon, Depends(daemon_of)]


def record(
    daemon: Daemon, caller: Caller, action: str, status: int, lines: list[str], entry: int
) -> None:
    """Finish the request's entry: its answer and what it noted, in the database and journal."""
    # One entry is one journal line: no caller-chosen newline may forge another.
    lines = [clipped(line, 400) for line in lines]
    text = "; ".join(lines)
    log.info("audit: %s %s -> %d%s", caller.label, action, status, f": {text}" if text else "")
    try:
        daemon.state.audit_update(entry, status, lines)
    except PeeweeException as exc:
        log.error(
            "audit entry not completed in the state database (%s); the line above has it", exc
        )


async def _refuse(send: Any, why: Exception) -> None:
    body = json.dumps(
        {
            "error": {
                "code": "state_unavailable",
                "message": f"the state database cannot take this change's audit entry right now"
                f" ({clipped(str(why), 120)}); nothing was changed",
                "fix": "try again shortly; if it persists, check the disk (df) and what else"
                " holds the database (fuser state.db)",
            }
        }
    ).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


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
        caller = caller_from_scope(scope)
        try:
            entry = await anyio.to_thread.run_sync(
                self.daemon.state.audit, caller.name, caller.uid, action, 0, []
            )
        except PeeweeException as exc:
            log.error("state database unavailable: %s", exc)
            log.info(
                "audit: %s %s -> 503: refused: no audit entry can be stored", caller.label, action
            )
            await _refuse(send, exc)
            return
        token = pending_audit.CURRENT.set(pending_audit.Pending(entry))
        try:
            await self.app(scope, receive, capture)
        except Exception:
            lines = scope["state"].get("audit") or ["failed: unexpected error"]
            await self._record(scope, caller, action, status or 500, lines, entry)
            raise
        finally:
            pending_audit.CURRENT.reset(token)
        await self._record(
            scope, caller, action, status or 500, scope["state"].get("audit") or [], entry
        )

    async def _record(
        self, scope: Any, caller: Caller, action: str, status: int, lines: list[str], entry: int
    ) -> None:
        await anyio.to_thread.run_sync(
            record, self.daemon, caller, action, status, list(lines), entry
        )


# An address in an entry (a one-user sync, a welcome resent) is personal data.
ADDRESS = re.compile(r"[^\s@\"',;:()]+@[^\s@\"',;:()]+")


@router.get("/audit", summary="Changes made through the socket, newest first: who, when, what")
def get_audit(
    daemon: DaemonDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    user: Annotated[str, Query(max_length=64, pattern=PRINTABLE)] = "",
) -> AuditLog:
    total, rows = daemon.state.audit_entries(limit, offset, user)
    people = people_of(request)

    def shown(line: str) -> str:
        return line if people else ADDRESS.sub("(address hidden)", line)

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
                "changes": [shown(line) for line in row.detail.splitlines()] if row.detail else [],
            }
            for row in rows
        ],
    }
    return read(AuditLog, answer)
