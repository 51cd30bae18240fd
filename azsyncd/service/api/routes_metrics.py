"""Prometheus metrics: tenants' latency and what the incremental ticks did."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from azsyncd.service import metrics
from azsyncd.service.api.deps import daemon_of
from azsyncd.service.daemon import Daemon

router = APIRouter(prefix="/v1", tags=["metrics"])


@router.get(
    "/metrics",
    summary="Prometheus metrics: last check and oldest unwritten change per tenant, ticks",
    response_class=Response,
)
def get_metrics(daemon: Annotated[Daemon, Depends(daemon_of)]) -> Response:
    return Response(
        metrics.render(daemon.status, daemon.ticks.book.counts), media_type=metrics.CONTENT_TYPE
    )
