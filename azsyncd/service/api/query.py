"""A query parameter the route takes once is refused when sent twice (``?offset=0&offset=9``):
which of the two the caller meant is a guess, and guessing wrong reads the wrong page or acts
on the wrong run."""

from __future__ import annotations

from collections import Counter

from fastapi import Request
from fastapi.routing import APIRoute

from azsyncd.config.text import clipped
from azsyncd.service.api.errors import ApiError


def require_single_values(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    declared = {p.alias for p in route.dependant.query_params}
    counts = Counter(key for key, _ in request.query_params.multi_items() if key in declared)
    repeated = sorted(key for key, n in counts.items() if n > 1)
    if repeated:
        raise ApiError(
            422,
            "invalid_request",
            f"query parameter {clipped(repeated[0])} given {counts[repeated[0]]} times",
            "send each query parameter once",
        )
