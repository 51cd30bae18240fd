"""Zendesk points: ``python -m bench.zendesk [--sizes 10000,100000] [--single 10000]``.

A first sync of N generated users into the fake Zendesk, in a process of its own on a
time-scaled clock (one Zendesk minute lasts 60/scale s; its jobs take their time on that
clock), with the daemon running each sync in its own process as ``azsyncd run`` does, the
tenant served by ``bench.graph`` over HTTPS on loopback. Each point runs in a fresh process.

Against the plan's floor (Professional: 400 calls a minute, azsync's share 360):
- in bulk jobs, the floor is the larger of what the calls allow under the budget
  (``bench.floor``, over every call the sync made) and the time the fake's job workers need
  for the jobs the sync submitted (their busy time over the number of workers): no client
  can finish sooner;
- with bulk refused (403), one call a user: the floor is the calls under the budget.
Times are Zendesk's (scaled back), measured from outside the run: from the sync's start to
its end as the daemon records it. Results go to ``bench/results/zendesk.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
import tomli_w

from bench.floor import floor_seconds

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PLAN, PER_MINUTE, HEADROOM = "professional", 400, 0.9
MAPPING = {
    "phones": {"mo": "mobilePhone"},
    "custom_fields": {
        "Department": "department",
        "Employee number": "employeeId",
        "Office": "officeLocation",
    },
}


def point(users: int, scale: float, bulk: bool) -> dict[str, Any]:
    """One point, in this (fresh) process."""
    from azsyncd import logs
    from azsyncd.config import file as config_file
    from azsyncd.config.secrets import write_private
    from azsyncd.demo.directory import DEMO_SECRET
    from azsyncd.demo.run import tenant_toml
    from azsyncd.service.daemon import Daemon
    from azsyncd.targets.zendesk.http import KIND
    from bench import scaled
    from bench.run import cpu_seconds, loads, peak_rss_mb, run_peak_rss_mb, run_sync
    from bench.setup import child_path, scaled_limiter, serve_graph

    logs.setup("warning")
    work = Path(tempfile.mkdtemp(prefix="azbench-zd"))
    fake = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.zendesk", str(scale), f"per-minute={PER_MINUTE}"]
        + ([] if bulk else ["no-bulk"]),
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    port = int(fake.stdout.readline())  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
    servers = [fake]
    try:
        graph, where = serve_graph(users, work)
        servers.append(graph)
        for name, value in (("zendesk-token", "token"), ("secret", DEMO_SECRET)):
            write_private(work / name, value.encode())
        # The run's process takes the scaled limiter from bench/child/sitecustomize.py.
        limits = {KIND: int(PER_MINUTE * HEADROOM)}
        os.environ.update(scaled.environment(base, limits, scale))
        child_path()
        target = {
            "kind": "zendesk",
            "zendesk": {
                "base_url": base,
                "email": "admin@acme.example",
                "api_token_file": "zendesk-token",
                "plan": PLAN,
                "rate_headroom": HEADROOM,
            },
        }
        config = tomli_w.dumps({"target": target, "mapping": MAPPING}) + tenant_toml(
            "bench", secret_file="secret", **{k: where[k] for k in where if k != "ca"}
        )
        write_private(work / "azsyncd.toml", config.encode())
        scaled_limiter(base, limits, scale)
        daemon = Daemon(
            config_file.load(work / "azsyncd.toml"), state_dir=work / "state", sync_process=True
        )
        cpu = cpu_seconds()
        run, wall = run_sync(daemon)
        cpu = cpu_seconds() - cpu
        run_peak = run_peak_rss_mb(daemon)  # its own VmHWM, sent over its pipe at its end
        counted = httpx.get(
            f"{base}/api/v2/__stats__", auth=("admin@acme.example/token", "token")
        ).json()
        daemon.stop(20)
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    budget = int(PER_MINUTE * HEADROOM)
    calls = int(counted["calls"]) - 1  # the stats call itself
    rate_floor = floor_seconds(calls, budget)
    job_floor = counted["job_busy_s"] / counted["job_workers"]
    floor = max(rate_floor, job_floor)
    zendesk_wall = wall * scale
    return {
        "kind": "zendesk",
        "mode": "bulk" if bulk else "single (bulk refused)",
        "users": users,
        "scale": scale,
        "plan": PLAN,
        "per_minute": PER_MINUTE,
        "budget_per_minute": budget,
        "status": run.status,
        "new": run.counts["new"],
        "failed": run.counts["failed"],
        "wall_s": zendesk_wall,
        "real_wall_s": wall,
        "calls": calls,
        "jobs": counted["jobs"],
        "job_polls": counted["job_polls"],
        "single_posts": counted["single_posts"],
        "busiest_minute": counted["busiest_minute"],
        "throttled": counted.get("throttled", 0),
        "duplicates": counted["duplicates"],
        "users_in_zendesk": counted["users"],
        "rate_floor_s": rate_floor,
        "job_floor_s": job_floor,
        "floor_s": floor,
        "ratio": zendesk_wall / floor if floor else 0.0,
        "cpu_s": cpu,
        "peak_rss_mb": peak_rss_mb(),
        "run_peak_rss_mb": run_peak,
        "load_1m": loads(),
    }


def summary(p: dict[str, Any]) -> str:
    return (
        f"zendesk {p['mode']} {p['users']:,} users: {p['new']:,} new in {p['wall_s'] / 60:.1f}"
        f" Zendesk min ({p['real_wall_s']:.0f} s real); floor {p['floor_s'] / 60:.1f} min"
        f" (calls {p['rate_floor_s'] / 60:.1f}, jobs {p['job_floor_s'] / 60:.1f}); ratio"
        f" {p['ratio']:.2f}x; {p['calls']:,} calls ({p['jobs']} jobs, {p['job_polls']} polls),"
        f" busiest minute {p['busiest_minute']} of {p['budget_per_minute']}, 429s"
        f" {p['throttled']}, duplicates {p['duplicates']}; load {p['load_1m']:.1f}"
    )


def fresh(users: int, scale: float, bulk: bool) -> dict[str, Any]:
    args = ["--one", str(users), "--scale", str(scale)] + ([] if bulk else ["--no-bulk"])
    out = subprocess.run(
        [sys.executable, "-m", "bench.zendesk", *args], capture_output=True, text=True, cwd=ROOT
    )
    if out.returncode:
        raise SystemExit(f"bench.zendesk {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000", help="bulk-job points")
    parser.add_argument("--single", default="10000", help="points with bulk refused (403)")
    parser.add_argument(
        "--scale", type=float, default=5.0, help="bulk points: one minute lasts 60/scale s"
    )
    parser.add_argument(
        "--single-scale", type=float, default=20.0, help="points with bulk refused: the same"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "zendesk.json")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--no-bulk", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(point(args.one, args.scale, not args.no_bulk)))
        return
    sizes = lambda text: [int(s) for s in text.split(",") if s]  # noqa: E731
    points = []
    for users, bulk in [(n, True) for n in sizes(args.sizes)] + [
        (n, False) for n in sizes(args.single)
    ]:
        found = fresh(users, args.scale if bulk else args.single_scale, bulk)
        points.append(found)
        print(json.dumps(found), summary(found), sep="\n", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"zendesk": points}, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
