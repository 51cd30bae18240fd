"""Read at the start of every Python process the benchmark starts (this directory is on
their PYTHONPATH). In a sync run's own process (``azsyncd.service.runs.worker``), it gives the
HappyFox (or Zendesk) account the limiter on the benchmark's time-scaled clock, as
``bench.setup`` (``bench.zendesk``) gives it in the daemon's process: the product has no such
setting."""

import os
import sys

_ACCOUNT = os.environ.get("AZSYNC_BENCH_HAPPYFOX", "")
_ZENDESK = os.environ.get("AZSYNC_BENCH_ZENDESK", "")

if _ACCOUNT and "azsyncd.service.runs.worker" in sys.orig_argv:
    from bench.setup import scaled_limiter

    _base, _scale = _ACCOUNT.rsplit(" ", 1)
    scaled_limiter(_base, float(_scale))

if _ZENDESK and "azsyncd.service.runs.worker" in sys.orig_argv:
    from bench import zendesk

    _base, _scale = _ZENDESK.rsplit(" ", 1)
    zendesk.scaled_limiter(_base, float(_scale))
