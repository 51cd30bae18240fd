"""A real daemon serving its control API on a temporary Unix socket, in-process, for TUI tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azsyncd.config import file as config_file
from azsyncd.demo.directory import DEMO_SECRET
from azsyncd.demo.run import tenant_toml
from azsyncd.service.daemon import Daemon
from tests.engine_setup import DEMO_FIELDS
from tests.fakes.directory import FakeTenant, contoso
from tests.helpers import served_in_thread
from tui.app import AzsyncApp

# The simulated Contoso as a tenant of the daemon (a custom cloud at the simulation's URLs).
TENANT = tenant_toml(secret_file="contoso-secret", extra='display_name = "Contoso"')


@dataclass
class LiveDaemon:
    daemon: Daemon
    socket: Path
    directory: FakeTenant
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
    directory: FakeTenant | None = None,
) -> Iterator[LiveDaemon]:
    directory = directory or contoso(users=users)
    secret = tmp_path / "contoso-secret"
    secret.write_text(DEMO_SECRET)
    secret.chmod(0o600)  # the daemon refuses secret files others can read
    config = tmp_path / "azsyncd.toml"
    if not config.exists():
        config.write_text(
            '[account]\nname = "Pilot Desk"\n'
            + DEMO_FIELDS.replace("required = true\n", "")
            + """
[mapping]
skip_empty_phones = true
[mapping.phones]
mo = "mobilePhone"
[mapping.custom_fields]
Department = "department"
"Employee ID" = "employeeId"
"""
            + extra
        )
    daemon = Daemon(
        config_file.load(config),
        state_dir=tmp_path / "state",
        graph_transport=directory.transport(),
    )
    with served_in_thread(daemon, socket) as served:
        yield LiveDaemon(daemon, served.path, directory, config)


@contextmanager
def module_daemon(
    factory: Any, extra: str = TENANT, syncs: int = 0, **kwargs: Any
) -> Iterator[LiveDaemon]:
    """A live daemon for a module's tests that leave it as they found it (a module fixture:
    ``factory`` is pytest's tmp_path_factory), after ``syncs`` syncs."""
    umask = os.umask(0o077)  # as the autouse fixture does for each test
    try:
        with live_daemon(factory.mktemp("daemon"), extra, **kwargs) as live:
            for _ in range(syncs):
                live.sync()
            yield live
    finally:
        os.umask(umask)


@contextmanager
def tui_on(
    tmp_path: Path, extra: str = TENANT, **kwargs: Any
) -> Iterator[tuple[LiveDaemon, AzsyncApp]]:
    """A live daemon with the Contoso tenant, and a TUI for its socket."""
    with live_daemon(tmp_path, extra, **kwargs) as live:
        yield live, AzsyncApp(socket=str(live.socket))
