"""The data-quality report: the failing contacts grouped by what fixes them, as the digest
sends it (``service/watch/digest.py``), as JSON with its text, or as CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from azsyncd.answers import Quality, read
from azsyncd.service.api.deps import daemon_of
from azsyncd.service.daemon import Daemon
from azsyncd.service.watch.digest import report

router = APIRouter(prefix="/v1/report", tags=["report"])
DaemonDep = Annotated[Daemon, Depends(daemon_of)]


@router.get("/quality", summary="Failing contacts grouped by fix, with the digest's text")
def quality(
    daemon: DaemonDep,
    addresses: Annotated[int | None, Query(ge=1, le=100)] = None,
) -> Quality:
    config = daemon.config
    limit = addresses or config.alerts.digest.addresses
    return read(Quality, report(daemon.state, config).as_json(limit))


@router.get(
    "/quality.csv",
    summary="Every failing contact with its fix, as CSV",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def quality_csv(daemon: DaemonDep) -> StreamingResponse:
    return StreamingResponse(
        report(daemon.state, daemon.config).csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="azsync-quality.csv"'},
    )
