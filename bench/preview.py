"""The preview's time against a dry run's, on the same directory and help desk: ``python -m
bench.preview 100000`` (one fresh process per size; prints one JSON line per size and keeps
them in bench/results/preview.json).

Each size: a generated tenant of that many users and the built-in store, synced once for
real (not measured), so the preview and the dry run both meet existing contacts. Then, twice
each, alternating: a dry run of a full reconciliation (every user read, planned and compared
with the store, records written) and a preview of a mapping change (the same pipeline run dry
over the changed config: every user read, planned and compared with the store, each also
mapped with the settings in use, nothing written), as POST /v1/preview makes it. Each time is
the wall time around the call, from its caller; the figure is each one's fastest."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from bench.run import ROOT, loads, local_bench, peak_rss_mb

RESULTS = ROOT / "bench" / "results" / "preview.json"
CHANGE = {"Department": "upper(department)"}  # one mapped field changed


def point(users: int) -> dict[str, Any]:
    from azsyncd.service.api.routes_preview import preview_of

    bench = local_bench(users, sync_process=False)
    daemon = bench.daemon
    run_id = daemon.start_sync("manual")
    assert run_id is not None and daemon.runner.wait()
    first = daemon.state.run(run_id)
    mapping = daemon.config.mapping
    custom = {**mapping.custom_fields, **CHANGE}
    changed = daemon.config.model_copy(
        update={"mapping": mapping.model_copy(update={"custom_fields": custom})}
    )
    dry: list[float] = []
    previews: list[float] = []
    found: Any = None
    for _ in range(2):
        started = time.monotonic()
        run_id = daemon.start_sync("manual", dry_run=True, options={"full": True})
        assert run_id is not None and daemon.runner.wait()
        dry.append(time.monotonic() - started)
        started = time.monotonic()
        found = preview_of(daemon, changed)
        previews.append(time.monotonic() - started)
    assert found is not None
    figures = {
        "users": users,
        "first_sync_new": first.counts["new"] if first else None,
        "dry_run_s": round(min(dry), 2),
        "preview_s": round(min(previews), 2),
        "ratio": round(min(previews) / min(dry), 3),
        "preview_counts": found.counts,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "load_1m": loads(),
    }
    bench.close()
    return figures


def main() -> None:
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(point(int(sys.argv[2]))))
        return
    kept = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for size in sys.argv[1:] or ["100000"]:
        out = subprocess.run(
            [sys.executable, "-m", "bench.preview", "--one", size],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
        line = out.stdout.strip().splitlines()[-1]
        print(line, flush=True)
        kept[size] = json.loads(line)
    RESULTS.write_text(json.dumps(kept, indent=2) + "\n")


if __name__ == "__main__":
    main()
