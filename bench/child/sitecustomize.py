"""Read at the start of every Python process the benchmark starts (this directory is on
their PYTHONPATH). In a sync run's own process (``azsyncd.service.runs.worker``), it gives the
help desk account the limiter on the benchmark's time-scaled clock, as ``bench.setup`` gives
it in the daemon's process: the product has no such setting. ``AZSYNC_BENCH_LIMITER`` holds
the account, its limits a minute and the scale, as JSON."""

import json
import os
import sys

_ACCOUNT = os.environ.get("AZSYNC_BENCH_LIMITER", "")

if _ACCOUNT and "azsyncd.service.runs.worker" in sys.orig_argv:
    from bench.setup import scaled_limiter

    _given = json.loads(_ACCOUNT)
    scaled_limiter(_given["account"], _given["limits"], _given["scale"])
