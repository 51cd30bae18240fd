"""The benchmark's Entra ID tenant in a process of its own, as Microsoft's servers are:
``python -m bench.graph USERS DIR`` serves a generated tenant's identity platform and Graph
over HTTPS on loopback (its throwaway CA written to DIR, given to azsyncd as the tenant's
``ca_bundle``), prints their URLs and the CA as one JSON line, and serves until stopped.
``GET {graph}/__calls__`` answers how many Graph calls it has answered."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import httpx

from tests.fakes.directory import GeneratedTenant
from tests.fakes.servers import serve, tls_for_localhost, wsgi_from_handler


class CountedTenant(GeneratedTenant):
    """A generated tenant that counts the Graph calls it answers."""

    def __init__(self, users: int) -> None:
        super().__init__(users, keep_pages=True)  # a resync reads the directory again
        self.graph_calls = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if url == f"{self.graph}/__calls__":
            return httpx.Response(200, json=self.graph_calls)
        if url.startswith(self.graph):
            self.graph_calls += 1
        return super().handle(request)


def main() -> None:
    users, directory = int(sys.argv[1]), Path(sys.argv[2])
    tenant = CountedTenant(users)
    tls, ca = tls_for_localhost(directory)
    app = wsgi_from_handler(tenant.handle)
    with serve(app, tls) as login, serve(app, tls) as graph:
        tenant.login, tenant.graph = f"https://localhost:{login}", f"https://localhost:{graph}"
        print(json.dumps({"login": tenant.login, "graph": tenant.graph, "ca": str(ca)}), flush=True)
        signal.sigwait({signal.SIGTERM, signal.SIGINT})


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    main()
