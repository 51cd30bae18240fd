"""A real daemon serving its control API on a temporary Unix socket, in-process, for TUI tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azsyncd.config import file as config_file
from azsyncd.demo.directory import DEMO_SECRET, SimulatedTenant, contoso
from azsyncd.demo.run import DEMO_FIELDS, tenant_toml
from azsyncd.service.daemon import Daemon
from azsyncd.service.server import bind_control_socket, control_server
from tests.engine_setup import HAPPYFOX_MAPPING
from tests.helpers import short_dir
from tui.app import AzsyncApp

# The simulated Contoso as a tenant of the daemon (a custom cloud at the simulation's URLs).
TENANT = tenant_toml(secret_file="contoso-secret", extra='display_name = "Contoso"')


@dataclass
class LiveDaemon:
    daemon: Daemon
    socket: Path
    directory: SimulatedTenant
    config: Path

    def sync(self, timeout: float = 60) -> int:
        """Run a sync to its end, as a manual one; its run id."""
        run_id = self.daemon.start_sync("manual")
        assert run_id is not None
        self.daemon.runner.wait(timeout)
        return run_id


@contextmanager
def live_daemon(
    tmp_path: Path,
    extra: str = "",
    users: int = 60,
    socket: Path | None = None,
    directory: SimulatedTenant | None = None,
) -> Iterator[LiveDaemon]:
    directory = directory or contoso(users=users)
    (tmp_path / "contoso-secret").write_text(DEMO_SECRET)
    config = tmp_path / "azsyncd.toml"
    if not config.exists():
        config.write_text(
            '[account]\nname = "Pilot Desk"\n'
            + DEMO_FIELDS.replace("required = true\n", "")
            + HAPPYFOX_MAPPING.replace('Office = "officeLocation"\n', "")
            + extra
        )
    daemon = Daemon(
        config_file.load(config),
        state_dir=tmp_path / "state",
        graph_transport=directory.transport(),
    )
    path = socket or short_dir() / "azsyncd.sock"
    sock = bind_control_socket(path, 0o600)
    server = control_server(daemon)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    daemon.start()
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield LiveDaemon(daemon, path, directory, config)
    finally:
        server.should_exit = True
        thread.join(10)
        daemon.stop(5)
        sock.close()
        path.unlink(missing_ok=True)


@contextmanager
def tui_on(
    tmp_path: Path, extra: str = TENANT, **kwargs: Any
) -> Iterator[tuple[LiveDaemon, AzsyncApp]]:
    """A live daemon with the Contoso tenant, and a TUI for its socket."""
    with live_daemon(tmp_path, extra, **kwargs) as live:
        yield live, AzsyncApp(socket=str(live.socket))
