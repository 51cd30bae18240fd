"""A daemon process on a generated tenant, for tests of several daemons at once.

``python -m tests.fakes.scaled_daemon sync CONFIG STATE_DIR USERS SCALE``: one HappyFox
minute lasts 60/SCALE seconds (as the fake HappyFox counts it when given that clock); runs
one manual sync with the account's shared limiter on that clock, prints the run as JSON and
exits.

``python -m tests.fakes.scaled_daemon serve CONFIG STATE_DIR USERS SOCKET``: the daemon as
``azsyncd run`` serves it (socket, signals, scheduler), its Graph answered by the tenant.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from azsyncd import logs, paths
from azsyncd.config import file as config_file
from azsyncd.service.daemon import Daemon
from azsyncd.service.socket.server import serve
from azsyncd.targets import factory
from azsyncd.targets.happyfox.client import limits_for
from azsyncd.targets.shared_limits import CallLog, SharedRateLimiter
from tests.fakes.directory import GeneratedTenant


def _scaled_limiter(loaded: config_file.LoadedConfig, state: Path, scale: float) -> None:
    settings = loaded.config.target.settings
    shared = paths.shared_state_dir(loaded.config.state.shared_dir, state)
    factory.use_limiter(
        settings.base_url,
        SharedRateLimiter(
            CallLog.in_directory(shared),
            settings.base_url,
            limits_for(settings.rate_headroom),
            clock=lambda: time.time() * scale,
            sleep=lambda seconds: time.sleep(seconds / scale),
        ),
    )


def main() -> None:
    mode, config, state, users, last = sys.argv[1:6]
    logs.setup("info" if mode == "serve" else "warning")
    loaded = config_file.load(Path(config))
    if mode == "sync":
        _scaled_limiter(loaded, Path(state), float(last))
    # The run on the daemon's thread: the limiter on the scaled clock is this process's.
    daemon = Daemon(
        loaded,
        state_dir=Path(state),
        graph_transport=GeneratedTenant(int(users)).transport(),
        sync_process=False,
    )
    if mode == "serve":
        sys.exit(serve(daemon, Path(last)))
    run_id = daemon.start_sync("manual")
    daemon.runner.wait()
    run = daemon.state.run(run_id) if run_id is not None else None
    print(json.dumps({"status": run.status if run else None, "counts": run.counts if run else {}}))
    daemon.stop(5)


if __name__ == "__main__":
    main()
