"""Every API error is JSON: {"error": {"code", "message", "fix", ...}}.

4xx: the request cannot be done as asked (403 file-only keys or a read-only caller, 409 the
file changed on disk or this daemon is on standby). 503: the state database is locked or a
disk is full; nothing was changed, and the message says which.
"""

from __future__ import annotations

import errno
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from peewee import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from azsyncd.config.changes import FileOnlyChange
from azsyncd.config.credentials import CredentialError
from azsyncd.config.text import clipped
from azsyncd.errors import ConfigError, UserError
from azsyncd.service.api.deps import note
from azsyncd.service.api.responses import InertJSONResponse as JSONResponse
from azsyncd.service.config_store import ConfigConflict
from azsyncd.service.standby.takeover import OnStandby

log = logging.getLogger(__name__)
# Errors of a full, read-only or failing disk: the daemon is fine, the host needs a hand.
DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fix: str = "", **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fix, self.extra = (
            status,
            code,
            message,
            fix,
            extra,
        )


def error_body(code: str, message: str, fix: str = "", **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fix": fix, **extra}}


def not_found(what: str, fix: str = "") -> ApiError:
    return ApiError(404, "not_found", f"{what} was not found", fix)


def _answer(
    request: Request, status: int, code: str, message: str, fix: str = "", **extra: Any
) -> JSONResponse:
    note(request, f"refused: {message}")
    return JSONResponse(error_body(code, message, fix, **extra), status)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method the API takes on ``path``, as its schema lists them (a 405's Allow: one
    route alone names only its own method)."""
    methods: set[str] = set()
    for template, operations in app.openapi()["paths"].items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            methods |= {method.upper() for method in operations}
    return sorted(methods)


async def _api(request: Request, exc: ApiError) -> JSONResponse:
    return _answer(request, exc.status, exc.code, exc.message, exc.fix, **exc.extra)


async def _file_only(request: Request, exc: FileOnlyChange) -> JSONResponse:
    return _answer(request, 403, "file_only", exc.message, exc.fix, keys=exc.keys)


async def _conflict(request: Request, exc: ConfigConflict) -> JSONResponse:
    return _answer(request, 409, "reload_first", exc.message, exc.fix)


async def _standby(request: Request, exc: OnStandby) -> JSONResponse:
    leader = request.app.state.daemon.standby.leadership
    return _answer(request, 409, "standby", exc.message, exc.fix, active_host=leader.active_host)


async def _credential(request: Request, exc: CredentialError) -> JSONResponse:
    return _answer(request, 422, "invalid_credential", exc.message, exc.fix)


async def _database(request: Request, exc: OperationalError) -> JSONResponse:
    log.error("state database unavailable: %s", exc)
    return _answer(
        request,
        503,
        "state_unavailable",
        f"the state database cannot be used right now ({exc}); nothing was changed",
        "try again shortly; if it persists, check the disk (df) and what else holds the"
        " database (fuser state.db)",
    )


async def _disk(request: Request, exc: OSError) -> JSONResponse:
    if exc.errno not in DISK_ERRORS:
        return await _unexpected(request, exc)
    log.error("cannot write: %s", exc)
    return _answer(
        request,
        503,
        "disk_error",
        f"cannot write the configuration or state: {exc.strerror}; nothing was changed",
        "free space on the disk (df -h), then try again",
    )


async def _config(request: Request, exc: ConfigError) -> JSONResponse:
    note(request, *(f"refused: {p.key}: {p.message}" for p in exc.problems[:10]))
    problems = [{"key": p.key, "message": p.message} for p in exc.problems]
    return JSONResponse(
        error_body(
            "invalid_config",
            exc.message.splitlines()[0],
            "correct the keys listed in problems; nothing was changed",
            problems=problems,
        ),
        422,
    )


async def _user(request: Request, exc: UserError) -> JSONResponse:
    return _answer(request, 400, "user_error", exc.message, exc.fix)


async def _request(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [
        {
            "key": ".".join(clipped(str(p), 64) for p in e["loc"]),
            "message": e["msg"].removeprefix("Value error, "),  # our checks' own words
        }
        for e in exc.errors()
    ]
    first = problems[0] if problems else {"key": "", "message": "invalid request"}
    note(request, f"refused: {first['key']}: {first['message']}")
    return JSONResponse(
        error_body(
            "invalid_request",
            f"{first['key']}: {first['message']}",
            "see problems for every issue with the request; GET /v1/openapi.json describes it",
            problems=problems,
        ),
        422,
    )


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    note(request, f"refused: {exc.detail}")
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
    return JSONResponse(
        error_body(code, str(exc.detail), "GET /v1/openapi.json lists the API"),
        exc.status_code,
        headers=headers or None,
    )


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error in the control API", exc_info=exc)
    return JSONResponse(
        error_body("internal", f"unexpected {type(exc).__name__}; see the daemon's log"), 500
    )


# Each error azsync raises, and its answer; the last catches what nothing above does.
HANDLERS: list[tuple[type[Exception], Any]] = [
    (ApiError, _api),
    (FileOnlyChange, _file_only),
    (ConfigConflict, _conflict),
    (OnStandby, _standby),
    (CredentialError, _credential),
    (OperationalError, _database),
    (OSError, _disk),
    (ConfigError, _config),
    (UserError, _user),
    (RequestValidationError, _request),
    (StarletteHTTPException, _http),
    (Exception, _unexpected),
]


def install(app: FastAPI) -> None:
    """Each error azsync raises, and anything unexpected, answered as an error body."""
    for kind, handler in HANDLERS:
        app.add_exception_handler(kind, handler)
