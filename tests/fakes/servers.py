"""Real HTTP(S) servers on 127.0.0.1 for the fakes: the fake identity and Graph over HTTPS
(msal requires https) with a throwaway CA, and the fake HappyFox over plain HTTP."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx

from azsyncd.demo.directory import SimulatedTenant
from tests.fakes.tls_certs import make_ca_and_server


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


class _Threaded(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def _server(app: Callable[..., Iterable[bytes]]) -> WSGIServer:
    return make_server("127.0.0.1", 0, app, server_class=_Threaded, handler_class=_Quiet)


def wsgi_from_handler(
    handle: Callable[[httpx.Request], httpx.Response],
) -> Callable[..., Iterable[bytes]]:
    """Serve an httpx-style handler (request -> response) as a WSGI app."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        scheme = environ["wsgi.url_scheme"]
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        query = environ.get("QUERY_STRING", "")
        url = f"{scheme}://{host}{environ.get('PATH_INFO', '')}" + (f"?{query}" if query else "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        request = httpx.Request(
            environ["REQUEST_METHOD"],
            url,
            headers=headers,
            content=environ["wsgi.input"].read(length) if length else b"",
        )
        response = handle(request)
        body = response.read()
        start_response(
            f"{response.status_code} {response.reason_phrase}",
            [
                (k, v)
                for k, v in response.headers.items()
                if k.lower() not in ("content-length", "transfer-encoding")
            ]
            + [("Content-Length", str(len(body)))],
        )
        return [body]

    return app


@contextmanager
def serve(app: Callable[..., Iterable[bytes]], tls: ssl.SSLContext | None = None) -> Iterator[int]:
    """Serve a WSGI app on a free loopback port (HTTPS with ``tls``) while the block runs."""
    server = _server(app)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        server.base_environ["HTTPS"] = "on"  # type: ignore[attr-defined]  # wsgiref reads the scheme from it
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_port)
    finally:
        server.shutdown()
        server.server_close()


def tls_for_localhost(directory: Path) -> tuple[ssl.SSLContext, Path]:
    ca, cert, key = make_ca_and_server(directory, ("localhost",))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context, ca


@contextmanager
def serve_directory(directory: SimulatedTenant, tls: ssl.SSLContext) -> Iterator[SimulatedTenant]:
    """The simulated identity platform and Graph, each on its own HTTPS port of 127.0.0.1."""
    with (
        serve(wsgi_from_handler(directory.handle), tls) as login,
        serve(wsgi_from_handler(directory.handle), tls) as graph,
    ):
        directory.login, directory.graph = (
            f"https://localhost:{login}",
            f"https://localhost:{graph}",
        )
        yield directory


def serve_forever(app: Callable[..., Iterable[bytes]]) -> None:
    """Serve in this process until it is stopped; the port goes to stdout first."""
    server = _server(app)
    print(server.server_port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
