"""Alerts: the conditions announced and not yet cleared, and a test message."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from azsyncd.answers import Alerts, AlertTest, read
from azsyncd.service.api.deps import daemon_of, note
from azsyncd.service.api.errors import ApiError
from azsyncd.service.daemon import Daemon

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])
DaemonDep = Annotated[Daemon, Depends(daemon_of)]


@router.get("", summary="Alerts sent and not yet resolved")
def list_alerts(daemon: DaemonDep) -> Alerts:
    raised = daemon.state.raised_alerts()
    return read(
        Alerts,
        {
            "enabled": daemon.config.alerts.enabled,
            "alerts": [{"key": key, "title": title} for key, title in sorted(raised.items())],
        },
    )


@router.post("/test", summary="Send a test message on every alert channel; how each went")
def test_alerts(daemon: DaemonDep, http: Request) -> AlertTest:
    if not daemon.config.alerts.enabled:
        raise ApiError(
            409,
            "alerts_off",
            "no alert channel is configured",
            "set [alerts] email_to or webhook_url in the configuration file",
        )
    channels = daemon.alerts.test()
    note(http, "test alert: " + ", ".join(f"{k} {v}" for k, v in channels.items()))
    return AlertTest(channels=channels)
