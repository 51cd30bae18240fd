"""An in-process transport (identity and Graph) served on a Unix socket of the daemon, for its
runs' processes: a run in a process of its own cannot share the daemon's transport, so it
sends its requests here as plain HTTP with their host
(``directory.transport.UnixSocketTransport``), and they are answered in the daemon's process
by the same transport. The demo serves its simulated directory so; a daemon built with a
``graph_transport`` (tests' fakes) serves it so to its runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection"})
Handle = Callable[[httpx.Request], httpx.Response]


def relay_app(handle: Handle) -> Starlette:
    async def answer(request: Request) -> Response:
        query = f"?{request.url.query}" if request.url.query else ""
        relayed = httpx.Request(
            request.method,
            f"https://{request.headers['host']}{request.url.path}{query}",
            headers=[(k, v) for k, v in request.headers.items() if k not in HOP_BY_HOP],
            content=await request.body(),
        )
        # The handler may take a lock and sleep (a simulated slow page): off the loop.
        reply = await run_in_threadpool(handle, relayed)
        headers = {k: v for k, v in reply.headers.items() if k.lower() not in HOP_BY_HOP}
        return Response(reply.read(), reply.status_code, headers)

    return Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])


def serve_transport(transport: httpx.BaseTransport, path: Path) -> uvicorn.Server:
    """Serve an in-process transport on the socket ``path`` from a thread."""

    def handle(request: httpx.Request) -> httpx.Response:
        reply = transport.handle_request(request)
        reply.read()
        return reply

    return serve_handler(handle, path)


def serve_handler(handle: Handle, path: Path) -> uvicorn.Server:
    """Serve ``handle`` on the socket ``path`` from a thread; set ``should_exit`` to stop."""
    path.unlink(missing_ok=True)
    server = uvicorn.Server(
        uvicorn.Config(
            relay_app(handle), uds=str(path), lifespan="off", log_config=None, access_log=False
        )
    )
    threading.Thread(target=server.run, name="graph-relay", daemon=True).start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the relay of the directory did not start on {path}")
        time.sleep(0.01)
    return server
