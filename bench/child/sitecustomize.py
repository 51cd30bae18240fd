"""Read at the start of every Python process the benchmark starts (this directory is on
their PYTHONPATH). In a sync run's own process (``azsyncd.service.runs.worker``), it gives the
HappyFox account the limiter on the benchmark's time-scaled clock, as ``bench.setup`` gives
it in the daemon's process: the product has no such setting."""

import os
import sys

_ACCOUNT = os.environ.get("AZSYNC_BENCH_HAPPYFOX", "")

if _ACCOUNT and "azsyncd.service.runs.worker" in sys.orig_argv:
    from bench.setup import scaled_limiter

    _base, _scale = _ACCOUNT.rsplit(" ", 1)
    scaled_limiter(_base, float(_scale))
