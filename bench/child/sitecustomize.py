"""Read at the start of every Python process the benchmark starts (this directory is on
their PYTHONPATH). In a sync run's own process (``azsyncd.service.runs.worker``), it gives the
help desk account the limiter on the benchmark's time-scaled clock, as the benchmark gives
it in the daemon's process: the product has no such setting. It imports ``bench.scaled``
alone (the limiter), so the measured process loads what a real run's would, no more.

``AZSYNC_BENCH_LIMITER``: JSON with the account, its limits a minute and the scale, for any
target (``bench.scaled.environment``).
"""

import os
import sys

_LIMITER = os.environ.get("AZSYNC_BENCH_LIMITER", "")

if _LIMITER and "azsyncd.service.runs.worker" in sys.orig_argv:
    from bench.scaled import from_environment

    from_environment(_LIMITER)
