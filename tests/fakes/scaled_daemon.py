"""A daemon process on a time-scaled clock, for tests of several daemons on one account.

``python -m tests.fakes.scaled_daemon CONFIG STATE_DIR SCALE USERS``: one HappyFox minute
lasts 60/SCALE seconds (as the fake HappyFox's ``main`` counts it). Builds the daemon on a
generated tenant of USERS users, runs one manual sync with the account's shared limiter on
that clock, prints the run as JSON and exits.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from azsyncd import logs, paths
from azsyncd.config import file as config_file
from azsyncd.service.daemon import Daemon
from azsyncd.targets import factory
from azsyncd.targets.happyfox.client import limits_for
from azsyncd.targets.shared_limits import CallLog, SharedRateLimiter
from tests.fakes.directory import GeneratedTenant


def main() -> None:
    config, state, scale, users = (
        Path(sys.argv[1]),
        Path(sys.argv[2]),
        float(sys.argv[3]),
        sys.argv[4],
    )
    logs.setup("warning")
    loaded = config_file.load(config)
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
    daemon = Daemon(
        loaded, state_dir=state, graph_transport=GeneratedTenant(int(users)).transport()
    )
    run_id = daemon.start_sync("manual")
    daemon.runner.wait()
    run = daemon.state.run(run_id) if run_id is not None else None
    print(json.dumps({"status": run.status if run else None, "counts": run.counts if run else {}}))
    daemon.stop(5)


if __name__ == "__main__":
    main()
