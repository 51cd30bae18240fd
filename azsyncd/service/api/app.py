"""The control API application. Handlers are plain functions run on a thread pool."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from azsyncd import __version__
from azsyncd.service.api import (
    audit,
    errors,
    refusals,
    routes_alerts,
    routes_lifecycle,
    routes_metrics,
    routes_preview,
    routes_quality,
    routes_runs,
    routes_settings,
    routes_target,
    routes_tenants,
    routes_welcome,
)
from azsyncd.service.api.body_limit import BodyLimit
from azsyncd.service.api.callers import require_active, require_change_right
from azsyncd.service.api.query import require_single_values
from azsyncd.service.api.responses import InertJSONResponse
from azsyncd.service.api.throttle import PerCaller
from azsyncd.service.daemon import Daemon


def create_app(daemon: Daemon) -> FastAPI:
    app = FastAPI(
        title="azsyncd control API",
        version=__version__,
        description="Local control of azsyncd over its Unix socket. Every answer is JSON with"
        " exactly the keys its schema names; errors are "
        '{"error": {"code", "message", "fix", ...}}, each listed with the routes that give it.'
        " Every change is recorded in GET /v1/audit"
        " with the caller's user name; [control] admins says who may change things. A daemon"
        " on standby (another one on the shared PostgreSQL state is active) answers reads and"
        " refuses changes with 409 naming the active host.",
        openapi_url="/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        dependencies=[
            Depends(require_single_values),
            Depends(require_change_right),
            Depends(require_active),
        ],
        default_response_class=InertJSONResponse,
    )
    app.state.daemon = daemon
    app.state.group_searches = PerCaller(burst=10, every=1.0)  # each one asks Graph
    errors.install(app)
    routers = [
        routes_settings.router,
        routes_target.router,
        routes_tenants.router,
        routes_runs.router,
        routes_lifecycle.router,
        routes_quality.router,
        routes_preview.router,
        routes_metrics.router,
        routes_alerts.router,
        routes_welcome.router,
        audit.router,
        *daemon.api_routers,
    ]
    for router in routers:
        refusals.document(router)
        app.include_router(router)
    # Added last, runs first: an oversized body is refused before anything reads it.
    app.add_middleware(audit.AuditTrail, daemon=daemon)
    app.add_middleware(BodyLimit)
    return app
