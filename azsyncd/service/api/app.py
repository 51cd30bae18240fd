"""The control API application. Handlers are plain functions run on a thread pool."""

from __future__ import annotations

from fastapi import FastAPI

from azsyncd import __version__
from azsyncd.service.api import (
    errors,
    routes_runs,
    routes_settings,
    routes_tenants,
    routes_welcome,
)
from azsyncd.service.daemon import Daemon


def create_app(daemon: Daemon) -> FastAPI:
    app = FastAPI(
        title="azsyncd control API",
        version=__version__,
        description="Local control of azsyncd over its Unix socket. Errors are JSON: "
        '{"error": {"code", "message", "fix"}}.',
        openapi_url="/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.daemon = daemon
    errors.install(app)
    app.include_router(routes_settings.router)
    app.include_router(routes_tenants.router)
    app.include_router(routes_runs.router)
    app.include_router(routes_welcome.router)
    return app
