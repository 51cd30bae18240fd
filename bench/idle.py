"""What idle incremental ticks cost, measured from outside the daemon.

    python -m bench.idle [--ticks 10] [--users 1000] [--in-process]

A daemon as ``azsyncd run`` builds it (each run in a process of its own; Graph served by a
process of its own on loopback HTTPS, ``bench.graph``; the built-in store), in a fresh
process of its own with ``[schedule] interval = "1m"`` on a clock it moves from one tick to
the next. After its first sync, this process reads the daemon's /proc/<pid>/stat (its own
CPU, utime + stime, and that of its children that ended, cutime + cstime: the runs'
processes) before and after the ticks, with no change in the directory. ``bench.run``
records the same as its ``idle_ticks`` point. The daemon's resident memory after its first
sync (VmRSS, from /proc/<pid>/status) is what it keeps of a run. ``--in-process`` runs the
engine on the daemon's thread instead (what azsyncd no longer does), for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HZ = os.sysconf("SC_CLK_TCK")
SCHEDULE = '\n[schedule]\nenabled = true\ninterval = "1m"\n'


def cpu_of(pid: int) -> tuple[float, float]:
    """(own CPU, ended children's CPU) of process ``pid``, in seconds, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ, (int(fields[13]) + int(fields[14])) / HZ


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(ticks: int = 10, users: int = 1000, in_process: bool = False) -> dict[str, Any]:
    """Run the daemon in a child, read its CPU over ``ticks`` idle ticks; the figures."""
    command = [sys.executable, "-m", "bench.idle", "--child", "--ticks", str(ticks)]
    command += ["--users", str(users)] + ["--in-process"] * in_process
    child = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        ready = json.loads(child.stdout.readline())
        kept = rss_mb(child.pid)
        before = cpu_of(child.pid)
        child.stdin.write("go\n")
        child.stdin.flush()
        done = json.loads(child.stdout.readline())
        after = cpu_of(child.pid)
        load = os.getloadavg()[0]
        child.stdin.write("stop\n")
        child.stdin.flush()
        child.wait(60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    own, children = (a - b for a, b in zip(after, before, strict=True))
    return {
        "idle_ticks": done["idle"],
        "idle_ticks_asked": ticks,
        "idle_tick_users": users,
        "idle_tick_first_sync": ready["status"],
        "idle_tick_mode": "in process" if in_process else "process per run",
        "daemon_rss_after_sync_mb": kept,
        "idle_tick_cpu_s": own / ticks,  # the daemon's own, per tick
        "idle_tick_children_cpu_s": children / ticks,  # runs' processes, per tick
        "idle_tick_processes": done["processes"],
        "idle_tick_graph_calls": done["graph_calls"],
        "idle_tick_load_1m": load,
    }


def child(ticks: int, users: int, in_process: bool) -> None:
    """The daemon's side: the first sync, then ``ticks`` ticks when told, each awaited."""
    import httpx

    from azsyncd.state.fields import utcnow
    from bench.run import local_bench
    from bench.setup import child_path
    from tests.helpers import FakeClock

    child_path()
    clock = FakeClock(datetime.now(UTC))
    bench = local_bench(users, SCHEDULE, sync_process=not in_process, clock=clock)
    daemon = bench.daemon
    daemon.start()  # contact sync on: the first sync starts at once
    while not daemon.state.runs() or daemon.runner.current is not None:
        time.sleep(0.05)
    first = daemon.state.runs()[0]
    tenant = daemon.config.tenants[0]
    graph, ca = tenant.graph_url, tenant.ca_bundle

    def calls() -> int:
        if bench.tenant is not None:  # in this process
            return 0
        return int(httpx.get(f"{graph}/__calls__", verify=ca).json())

    print(json.dumps({"status": first.status, "new": first.counts.get("new")}), flush=True)
    sys.stdin.readline()
    peaks_of = lambda: len(getattr(daemon.job, "peaks", ()))  # noqa: E731
    graph_before, peaks = calls(), peaks_of()
    for _ in range(ticks):
        done = sum(daemon.ticks.book.counts().get("bench", {}).values())
        clock.now = min(daemon.scheduler.next_ticks().values())
        daemon.scheduler.wake()
        while sum(daemon.ticks.book.counts().get("bench", {}).values()) == done or (
            daemon.runner.current is not None
        ):
            time.sleep(0.01)
    counts = daemon.ticks.book.counts().get("bench", {})
    processes = peaks_of() - peaks
    # The Graph calls the ticks made (the counter's own calls are not counted).
    print(
        json.dumps(
            {
                "idle": counts.get("idle", 0),
                "processes": processes,
                "graph_calls": calls() - graph_before,
                "at": utcnow().isoformat(),
            }
        ),
        flush=True,
    )
    sys.stdin.readline()
    bench.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ticks", type=int, default=10)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--in-process", action="store_true", help="the engine on a thread")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.ticks, args.users, args.in_process)
        return
    figures = measure(args.ticks, args.users, args.in_process)
    print(json.dumps(figures, indent=2))
    print(
        f"{figures['idle_ticks']} idle ticks: {figures['idle_tick_cpu_s'] * 1000:.1f} ms CPU"
        f" each in the daemon, {figures['idle_tick_children_cpu_s'] * 1000:.1f} ms in run"
        f" processes ({figures['idle_tick_processes']} started); the daemon kept"
        f" {figures['daemon_rss_after_sync_mb']:.0f} MB after its first sync; load"
        f" {figures['idle_tick_load_1m']:.1f}"
    )


if __name__ == "__main__":
    main()
