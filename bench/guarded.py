"""Peak memory of a guarded run (``[sync.thresholds]`` set): the whole plan is made before
anything is written. Run on demand: ``python -m bench.guarded 100000`` (one fresh process per
size; prints one JSON line per size). The built-in store is the target; the thresholds are
loose enough that the run writes after planning, so planning, the threshold check and the
replay of the plan are all measured."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from bench.run import ROOT, loads, local_bench, peak_rss_mb, run_sync

THRESHOLDS = "\n[sync.thresholds]\ncreate = 10000000\nupdate = 10000000\n"


def point(users: int) -> dict[str, Any]:
    """One guarded first sync of ``users``, in this (fresh) process; the run on a thread of
    it, so that its peak RSS is the planning's."""
    bench = local_bench(users, THRESHOLDS, sync_process=False)
    started = time.process_time()
    run, wall = run_sync(bench.daemon)
    figures = {
        "kind": "local-guarded",
        "users": users,
        "status": run.status,
        "new": run.counts["new"],
        "wall_s": round(wall, 1),
        "cpu_s": round(time.process_time() - started, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "load_1m": loads(),
    }
    bench.close()
    return figures


def main() -> None:
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(point(int(sys.argv[2]))))
        return
    for size in sys.argv[1:] or ["100000"]:
        out = subprocess.run(
            [sys.executable, "-m", "bench.guarded", "--one", size],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
        print(out.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
