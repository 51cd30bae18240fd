"""Read at the start of every Python process the benchmark starts (this directory is on
their PYTHONPATH). In a sync run's own process (``azsyncd.service.runs.worker``), it gives the
help desk account the limiter on the benchmark's time-scaled clock, as the benchmark gives
it in the daemon's process: the product has no such setting.

- ``AZSYNC_BENCH_HAPPYFOX="<base url> <scale>"``: HappyFox's limits (``bench.setup``);
- ``AZSYNC_BENCH_LIMITER="<account> <scale> <kind>=<calls a minute>,..."``: any target's.
"""

import os
import sys

_ACCOUNT = os.environ.get("AZSYNC_BENCH_HAPPYFOX", "")
_LIMITER = os.environ.get("AZSYNC_BENCH_LIMITER", "")

if _ACCOUNT and "azsyncd.service.runs.worker" in sys.orig_argv:
    from bench.setup import scaled_limiter

    _base, _scale = _ACCOUNT.rsplit(" ", 1)
    scaled_limiter(_base, float(_scale))

if _LIMITER and "azsyncd.service.runs.worker" in sys.orig_argv:
    from bench.zammad import scaled

    _account, _scale, _limits = _LIMITER.split(" ")
    scaled(_account, float(_scale), dict(kv.split("=") for kv in _limits.split(",")))
