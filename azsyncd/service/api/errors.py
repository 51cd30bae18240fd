"""Every API error is JSON: {"error": {"code", "message", "fix", ...}} with a 4xx status."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from azsyncd.errors import ConfigError, UserError

log = logging.getLogger(__name__)


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


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, exc.fix, **exc.extra), exc.status)

    @app.exception_handler(ConfigError)
    async def _config(_: Request, exc: ConfigError) -> JSONResponse:
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

    @app.exception_handler(UserError)
    async def _user(_: Request, exc: UserError) -> JSONResponse:
        return JSONResponse(error_body("user_error", exc.message, exc.fix), 400)

    @app.exception_handler(RequestValidationError)
    async def _request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"key": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        first = problems[0] if problems else {"key": "", "message": "invalid request"}
        return JSONResponse(
            error_body(
                "invalid_request",
                f"{first['key']}: {first['message']}",
                "see problems for every issue with the request; GET /v1/openapi.json describes it",
                problems=problems,
            ),
            422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(exc.detail), "GET /v1/openapi.json lists the API"),
            exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error in the control API")
        return JSONResponse(
            error_body("internal", f"unexpected {type(exc).__name__}; see the daemon's log"), 500
        )
