"""The simulated directory on a Unix socket of its own, for the demo's sync runs: each run
is a process of its own (``azsyncd.service.runs.worker``) and cannot share the daemon's
in-process transport, so it sends its identity and Graph requests here
(``service/runs/relay.py``), and they are answered from the same tenant that ``azsyncctl demo
add-user`` changes."""

from __future__ import annotations

from pathlib import Path

import uvicorn

from azsyncd.demo.directory import SimulatedTenant
from azsyncd.service.runs.relay import serve_handler


def serve_directory(tenant: SimulatedTenant, path: Path) -> uvicorn.Server:
    """Serve ``tenant`` on the socket ``path`` from a thread; set ``should_exit`` to stop."""
    return serve_handler(tenant.handle, path)
