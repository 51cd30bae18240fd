"""Prometheus metrics: runs, contacts, directory reads, help desk calls, latency, ticks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from azsyncd.service.api.deps import daemon_of
from azsyncd.service.daemon import Daemon
from azsyncd.service.watch import metrics as run_metrics

router = APIRouter(prefix="/v1", tags=["metrics"])


@router.get(
    "/metrics",
    summary="Prometheus metrics: runs by status, contacts by action and outcome, last success",
    response_class=Response,
    responses={200: {"content": {run_metrics.CONTENT_TYPE: {}}}},
)
def get_metrics(daemon: Annotated[Daemon, Depends(daemon_of)]) -> Response:
    return Response(daemon.metrics.render(), media_type=run_metrics.CONTENT_TYPE)
