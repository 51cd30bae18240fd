"""The simulated directory on a Unix socket of its own, for the demo's sync runs: each run
is a process of its own (``azsyncd.service.runs.worker``) and cannot share the daemon's in-process
transport, so it sends its identity and Graph requests here, as plain HTTP with their host
(``directory.transport.UnixSocketTransport``), and they are answered from the same tenant
that ``azsyncctl demo add-user`` changes."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from azsyncd.demo.directory import SimulatedTenant

HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection"})


def directory_app(tenant: SimulatedTenant) -> Starlette:
    async def answer(request: Request) -> Response:
        query = f"?{request.url.query}" if request.url.query else ""
        relayed = httpx.Request(
            request.method,
            f"https://{request.headers['host']}{request.url.path}{query}",
            headers=[(k, v) for k, v in request.headers.items() if k not in HOP_BY_HOP],
            content=await request.body(),
        )
        # The tenant takes its own lock and may sleep (a simulated slow page): off the loop.
        reply = await run_in_threadpool(tenant.handle, relayed)
        headers = {k: v for k, v in reply.headers.items() if k.lower() not in HOP_BY_HOP}
        return Response(reply.read(), reply.status_code, headers)

    return Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])


def serve_directory(tenant: SimulatedTenant, path: Path) -> uvicorn.Server:
    """Serve ``tenant`` on the socket ``path`` from a thread; set ``should_exit`` to stop."""
    path.unlink(missing_ok=True)
    server = uvicorn.Server(
        uvicorn.Config(
            directory_app(tenant),
            uds=str(path),
            lifespan="off",
            log_config=None,
            access_log=False,
        )
    )
    threading.Thread(target=server.run, name="demo-directory", daemon=True).start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the simulated directory did not start on {path}")
        time.sleep(0.01)
    return server
