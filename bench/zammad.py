"""Zammad benchmark points: ``python -m bench.zammad [--sizes 10000,100000] [--scale 20]``.

Each size runs in a fresh process (its peak RSS is that size's alone): the fake Zammad in a
process of its own (``tests.fakes.zammad``) on a clock where one minute lasts 60/scale s,
the generated tenant in another (``bench.graph``, HTTPS on loopback), and the daemon with
each run in its own process, as ``azsyncd run`` does, writing through azsync's polite
default of ``max_per_minute`` = 600 calls on the same scaled clock. Measured, from this
process, outside the runs:

- the first sync's wall time against its floor: the calls it made at 600 a minute, the
  limiter's window starting full (``bench.floor``); its calls per user;
- GET /v1/status latency during the first sync (another process samples it);
- a resync over the delta with no change, one over a full read, and a full reconciliation
  (every user compared with Zammad's: one listing of every user): wall, CPU (daemon and
  run), calls, writes (none is owed: what azsync wrote reads back the same);
- the daemon's peak RSS (VmHWM), the first sync's run's, and the largest run's (the
  reconciliation's, holding the listing), and the machine's load.

Results go to ``bench/results/zammad.json``; the table in ``docs/targets/zammad.md`` is
``python -m bench.zammad --table``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "zammad.json"
PER_MINUTE = 600  # [target.zammad] max_per_minute's default
TOKEN = "bench-zammad-token"
MAPPING = {
    "name": "{givenName} {surname}",
    "phones": {"w": "businessPhones[0]", "mo": "mobilePhone"},
    "custom_fields": {
        "Department": "department",
        "Employee ID": "employeeId",
        "Office": "officeLocation",
        "Job title": "jobTitle",
    },
}


def point(users: int, scale: float) -> dict[str, Any]:
    """One size, in this (fresh) process."""
    import httpx
    import tomli_w

    from azsyncd import logs
    from azsyncd.config import file as config_file
    from azsyncd.config.secrets import write_private
    from azsyncd.demo.directory import DEMO_SECRET
    from azsyncd.demo.run import tenant_toml
    from azsyncd.service.daemon import Daemon
    from azsyncd.state.models import DeltaLink
    from azsyncd.targets.zammad.api import KIND
    from bench import scaled
    from bench.floor import floor_seconds
    from bench.run import (
        StatusProbe,
        cpu_seconds,
        loads,
        peak_rss_mb,
        run_peak_rss_mb,
        run_sync,
    )
    from bench.setup import child_path, scaled_limiter, serve_graph

    logs.setup("warning")
    work = Path(tempfile.mkdtemp(prefix="azbench-zammad"))
    fake = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.zammad", TOKEN, str(scale)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{int(fake.stdout.readline())}"  # type: ignore[union-attr]
    graph, where = serve_graph(users, work)
    for name, value in (("zammad-token", TOKEN), ("secret", DEMO_SECRET)):
        write_private(work / name, value.encode())
    table = {"base_url": base, "token_file": "zammad-token", "max_per_minute": PER_MINUTE}
    config = tomli_w.dumps({"target": {"kind": "zammad", "zammad": table}, "mapping": MAPPING})
    config += tenant_toml(
        "bench", secret_file="secret", **{k: where[k] for k in where if k != "ca"}
    )
    write_private(work / "azsyncd.toml", config.encode())
    # The account's limiter on the fake's clock, here and in each run's own process.
    os.environ.update(scaled.environment(base, {KIND: PER_MINUTE}, scale))
    child_path()
    scaled_limiter(base, {KIND: PER_MINUTE}, scale)
    daemon = Daemon(
        config_file.load(work / "azsyncd.toml"), state_dir=work / "state", sync_process=True
    )

    def stats() -> dict[str, Any]:
        answer = httpx.get(
            f"{base}/api/v1/__stats__", headers={"Authorization": f"Token token={TOKEN}"}
        )
        return dict(answer.json())

    try:
        probe = StatusProbe(daemon, work)
        run, wall = run_sync(daemon)
        latencies = probe.stop()
        first = stats()
        calls = first["calls"] - 1  # the stats call itself
        floor = floor_seconds(calls, PER_MINUTE) / scale
        first_run_peak = run_peak_rss_mb(daemon)  # its own VmHWM, sent over its pipe
        delta_cpu = cpu_seconds()
        delta, delta_wall = run_sync(daemon)
        delta_cpu = cpu_seconds() - delta_cpu
        after_delta = stats()
        DeltaLink.delete().execute()  # no baseline: the next sync reads every user
        full_cpu = cpu_seconds()
        full, full_wall = run_sync(daemon)
        full_cpu = cpu_seconds() - full_cpu
        after_full = stats()
        # A full reconciliation: every user read, each compared with Zammad's own (one
        # listing of every user, kept compact).
        started = time.monotonic()
        run_id = daemon.start_sync("manual", options={"full": True})
        daemon.runner.wait()
        whole, whole_wall = daemon.state.run(run_id), time.monotonic() - started
        after_whole = stats()
        # The largest run's own peak (the first sync, the resyncs, the reconciliation).
        runs_peak = max(daemon.job.peaks) / 1024  # type: ignore[attr-defined]
    finally:
        daemon.stop(20)
        for server in (fake, graph):
            server.terminate()
            server.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    return {
        "users": users,
        "scale": scale,
        "per_minute": PER_MINUTE,
        "status": run.status,
        "new": run.counts["new"],
        "failed": run.counts["failed"],
        "wall_s": wall,
        "calls": calls,
        "posts": first["posts"],
        "gets": first["gets"] - 1,
        "calls_per_user": calls / users,
        "floor_s": floor,
        "ratio": wall / floor if floor else 0.0,
        "busiest_minute": first["busiest_minute"],
        "delta_resync_wall_s": delta_wall,
        "delta_resync_cpu_s": delta_cpu,
        "delta_resync_calls": after_delta["calls"] - first["calls"] - 1,
        "delta_resync_status": delta.status,
        "full_resync_wall_s": full_wall,
        "full_resync_cpu_s": full_cpu,
        "full_resync_status": full.status,
        "full_resync_unchanged": full.counts["unchanged"],
        "full_resync_writes": (after_full["posts"] + after_full["puts"])
        - (after_delta["posts"] + after_delta["puts"]),
        "full_resync_calls": after_full["calls"] - after_delta["calls"] - 1,
        "reconciliation_wall_s": whole_wall,
        "reconciliation_status": whole.status,
        "reconciliation_unchanged": whole.counts["unchanged"],
        "reconciliation_writes": (after_whole["posts"] + after_whole["puts"])
        - (after_full["posts"] + after_full["puts"]),
        "reconciliation_calls": after_whole["calls"] - after_full["calls"] - 1,
        "peak_rss_mb": peak_rss_mb(),
        "run_peak_rss_mb": first_run_peak,  # the first sync's run
        "runs_peak_rss_mb": runs_peak,  # the largest run, reconciliation included
        "load_1m": loads(),
        **latencies,
    }


def table(points: list[dict[str, Any]]) -> str:
    """The figures as the Markdown table of docs/targets/zammad.md."""
    rows = [
        "| users | first sync | floor at 600/min | ratio | calls/user | status p50 / p99 "
        "| delta resync | full reconciliation | runs' peak RSS | load |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for p in points:
        minutes = p["wall_s"] * p["scale"] / 60
        rows.append(
            f"| {p['users']:,} | {p['wall_s']:.0f} s ({minutes:.0f} min at 1x) "
            f"| {p['floor_s']:.0f} s | {p['ratio']:.3f}x | {p['calls_per_user']:.3f} "
            f"| {p['status_p50_ms']:.1f} / {p['status_p99_ms']:.1f} ms "
            f"| {p['delta_resync_wall_s']:.1f} s, {p['delta_resync_calls']} calls "
            f"| {p['reconciliation_wall_s']:.1f} s, {p['reconciliation_calls']} calls, "
            f"{p['reconciliation_writes']} writes "
            f"| {p['run_peak_rss_mb']:.0f} / {p['runs_peak_rss_mb']:.0f} MB "
            f"| {p['load_1m']:.2f} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--scale", type=float, default=20.0)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--table", action="store_true", help="print the table of the results")
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(RESULTS.read_text())["points"]))
        return
    if args.one:
        print(json.dumps(point(args.one, args.scale)))
        return
    points = []
    for size in (int(s) for s in args.sizes.split(",") if s):
        out = subprocess.run(
            [sys.executable, "-m", "bench.zammad", "--one", str(size), "--scale", str(args.scale)],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if out.returncode:
            raise SystemExit(f"bench.zammad --one {size} failed:\n{out.stderr[-3000:]}")
        points.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(points[-1]), flush=True)
    machine = {"cores": os.cpu_count(), "python": sys.version.split()[0]}
    RESULTS.write_text(json.dumps({"machine": machine, "points": points}, indent=2) + "\n")
    print(table(points))
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
