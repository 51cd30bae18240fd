"""SIGTERM while an answer drips a byte at a time, mid-page: the daemon process ends the run
at a safe point and exits within 5 s, whether Graph or HappyFox is the slow one."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.directory import contoso
from tests.fakes.happyfox import FakeHappyFox
from tests.fakes.servers import serve, tls_for_localhost, wsgi_from_handler
from tests.helpers import Deadline, running_daemon, short_dir, within
from tests.service.e2e_world import write_config

pytestmark = pytest.mark.slow
App = Callable[..., Iterable[bytes]]


class Drip:
    """Wraps a WSGI app: the requests ``chosen`` picks get headers, then a byte a second."""

    def __init__(self, app: App, chosen: Callable[[dict[str, Any]], bool]) -> None:
        self.app, self.chosen = app, chosen
        self.on = False
        self.started = threading.Event()
        self.dripping = threading.Event()  # a byte after the first one has gone out
        self.stopped = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if not (self.on and self.chosen(environ)):
            return self.app(environ, start_response)
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", "100000")]
        )
        self.started.set()

        def body() -> Iterator[bytes]:
            yield b"{"
            while not self.stopped.wait(1.0):  # not a wait: a chunk a second
                yield b" "
                self.dripping.set()

        return body()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[Path, Drip, Drip, FakeHappyFox]]:
    tls, ca = tls_for_localhost(tmp_path)
    directory = contoso(users=150)
    happyfox = FakeHappyFox(time.monotonic)
    graph = Drip(wsgi_from_handler(directory.handle), lambda e: "/v1.0/users" in e["PATH_INFO"])
    writes = Drip(happyfox, lambda e: e["REQUEST_METHOD"] == "POST" and "/users/" in e["PATH_INFO"])
    with (
        serve(wsgi_from_handler(directory.handle), tls) as login_port,
        serve(graph, tls) as graph_port,
        serve(writes) as hf_port,
    ):
        directory.login = f"https://localhost:{login_port}"
        directory.graph = f"https://localhost:{graph_port}"
        config = tmp_path / "azsyncd.toml"
        write_config(config, directory.login, directory.graph, f"http://127.0.0.1:{hf_port}", ca)
        yield config, graph, writes, happyfox
        graph.stopped.set()
        writes.stopped.set()


@pytest.mark.parametrize("slow", ["graph", "happyfox"])
def test_sigterm_mid_answer_ends_the_run_within_5_s(
    servers: tuple[Path, Drip, Drip, FakeHappyFox], slow: str
) -> None:
    config, graph, writes, _ = servers
    drip = graph if slow == "graph" else writes
    drip.on = True
    state_dir = short_dir() / "state"
    with running_daemon(config, state_dir=state_dir) as daemon, daemon.client() as http:
        run_id = http.post("/v1/sync", json={}).json()["run_id"]
        assert drip.started.wait(within(30)), "the slow answer never started"
        assert drip.dripping.wait(within(30)), "the answer never dripped"  # well into it
        asked, limit = time.monotonic(), Deadline(5)  # 5 s as an idle machine takes them
        code, err = daemon.stop(signal.SIGTERM, timeout=30)
        took = time.monotonic() - asked
        assert code == 0, err
        assert not limit.passed(), f"the daemon took {took:.1f} s to stop (limit {limit})"
    drip.on = False
    with running_daemon(config, state_dir=state_dir) as daemon, daemon.client() as http:
        run = http.get(f"/v1/runs/{run_id}").json()
        assert run["status"] == "interrupted" and "safe point" in run["message"]
    print(f"\nSIGTERM while {slow} dripped: the daemon exited in {took:.2f} s")
