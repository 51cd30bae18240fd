"""The refusals each route can give, in the OpenAPI schema, each with its error body.

Every route: 500 (an unexpected error) and 503 (the state database or the disk cannot be
used, or the daemon is stopping). A route with parameters or a body: 422. A route that
changes something: 400 (a request the admin must change), 403 (a read-only caller, or a key
only the file may change), 409 (this daemon is on standby, or the file changed on disk) and
413 (a body over 1 MiB). A read of personal data: 403 (a caller who is no reader). A route
names its own on top: ``responses=refusals(404, 502)``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute

from azsyncd.answers import ErrorAnswer
from azsyncd.service.api.callers import PERSONAL_PATHS, READ_METHODS

WHY = {
    400: "The request cannot be done as asked: the message says why, the fix what to do",
    403: "The caller may only read ([control] admins), may not read personal data"
    " ([control] readers), or a key only the file may change",
    404: "No such tenant or run (or path)",
    409: "In the way: this daemon is on standby, the file changed on disk since it was"
    " loaded, a sync is running, or the name is taken",
    413: "The request body is larger than 1 MiB",
    429: "Too many calls of this kind from this caller: retry_after says when to try again",
    422: "Invalid input: problems lists each key and what is wrong with it; or a change whose"
    " preview fails too many contacts (preview_fails, with the preview)",
    500: "An unexpected error: the daemon's log has it",
    502: "The directory or the help desk refused the call or could not be reached",
    503: "The state database or the disk cannot be used right now, or the daemon is"
    " stopping; nothing was changed",
}


def refusals(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: these codes, each answered with the error body."""
    return {code: {"model": ErrorAnswer, "description": WHY[code]} for code in codes}


def document(router: APIRouter) -> None:
    """Add to each route the refusals all routes of its kind can give (before the router is
    included: the application builds its routes from the router's)."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        codes = {500, 503}
        dependant = route.dependant
        if dependant.path_params or dependant.query_params or route.body_field is not None:
            codes.add(422)
        if set(route.methods or ()) - READ_METHODS:
            codes |= {400, 403, 409, 413}
        elif PERSONAL_PATHS.match(route.path):
            codes.add(403)
        route.responses.update(refusals(*sorted(codes - set(route.responses))))
