"""azsync benchmarks: run on demand (python -m bench.run), never in CI. Prints a table.

- mapping + planning speed on one core;
- a first sync of N users into a fake HappyFox that enforces 500 GET / 300 POST a minute
  and the 10-minute 429 lock, time-scaled (one minute lasts 60/scale seconds), against the
  floor those limits allow; the calls made against the minimum; a no-change resync;
- peak RSS of the syncing process; GET /v1/status latency while a sync runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def mapping_speed(users: int) -> float:
    from azsyncd.config.model import Mapping
    from azsyncd.sync.mapping import Mapper
    from azsyncd.sync.planner import decide
    from azsyncd.targets.fields import Choice, FieldDef
    from tests.fakes.directory import numbered_user

    fields = [
        FieldDef("1", "Department", "text"),
        FieldDef("2", "Employee ID", "number"),
        FieldDef(
            "3", "Office", "dropdown", choices=(Choice("31", "Berlin"), Choice("32", "London"))
        ),
        FieldDef("4", "Title", "text"),
    ]
    mapper = Mapper(
        Mapping(
            name="{givenName} {surname}",
            phones={"w": "businessPhones[0]", "mo": "mobilePhone"},
            custom_fields={
                "Department": "department",
                "Employee ID": "employeeId",
                "Office": "officeLocation",
                "Title": "jobTitle",
            },
        ),
        fields,
    )
    names = {f.id: f.name for f in fields}
    data = [numbered_user(i) for i in range(users)]
    start = time.process_time()
    for u in data:
        decide("t", u["id"], mapper.map(u), None, overwrite=True, field_names=names)
    return users / (time.process_time() - start)


def one_size(users: int, scale: float) -> dict[str, float]:
    """Runs in its own process, so that peak RSS is this sync's alone."""
    import httpx

    from azsyncd import logs
    from azsyncd.service.server import bind_control_socket, control_server
    from bench import setup

    logs.setup("warning")
    bench = setup.start(users, scale)
    daemon, work = bench.daemon, bench.work
    sock_path = work / "s.sock"
    sock = bind_control_socket(sock_path, 0o600)
    api = control_server(daemon)
    threading.Thread(target=api.run, kwargs={"sockets": [sock]}, daemon=True).start()
    client = httpx.Client(
        transport=httpx.HTTPTransport(uds=str(sock_path)), base_url="http://azsyncd"
    )
    while True:
        try:
            client.get("/v1/status")
            break
        except httpx.TransportError:
            time.sleep(0.05)
    stats = bench.stats

    latencies = []
    start = time.monotonic()
    run_id = daemon.start_sync("manual")
    while daemon.runner.current is not None:
        t0 = time.perf_counter()
        client.get("/v1/status")
        latencies.append(time.perf_counter() - t0)
        time.sleep(0.05)
    wall = time.monotonic() - start
    run = daemon.state.run(run_id)
    first = stats()
    writes_min = math.ceil(users / 100)
    floor = (2 * writes_min + 1) / 300 * 60 / scale  # writes + group marks + the group's creation
    start = time.monotonic()
    rerun = daemon.state.run(daemon.start_sync("manual"))  # type: ignore[arg-type]
    daemon.runner.wait()
    rerun_wall = time.monotonic() - start
    rerun = daemon.state.run(rerun.id)  # type: ignore[union-attr]
    second = stats()
    bench.close()
    api.should_exit = True
    return {
        "users": users,
        "status": run.status,
        "new": run.counts["new"],  # type: ignore[union-attr]
        "wall_s": wall,
        "floor_s": floor,
        "ratio": wall / floor,
        "post_users": first["post_users"],
        "writes_min": writes_min,
        "post_other": first["post_other"],
        "gets": first["gets"],
        "locked": first["locked"],
        "contacts": first["contacts"],
        "resync_wall_s": rerun_wall,
        "resync_writes": second["post_users"] - first["post_users"],
        "resync_calls": second["calls"] - first["calls"],
        "resync_unchanged": rerun.counts["unchanged"],  # type: ignore[union-attr]
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "status_p50_ms": statistics.median(latencies) * 1000 if latencies else 0,
        "status_p99_ms": (sorted(latencies)[int(len(latencies) * 0.99)] * 1000) if latencies else 0,
        "status_samples": len(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument(
        "--scale",
        type=float,
        default=3.0,
        help=(
            "time scale: one HappyFox minute lasts 60/scale s (3: a 100,000-user first sync takes "
            "~2.5 min)"
        ),
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one, args.scale)))
        return
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, {os.uname().machine}")
    speed = mapping_speed(100_000)
    print(f"mapping + planning: {speed:,.0f} users/s on one core (target >= 20,000)")
    print()
    header = (
        "users",
        "wall s",
        "floor s",
        "ratio",
        "POST users/",
        "min",
        "other POST",
        "GET",
        "429 lock",
        "resync writes",
        "resync calls",
        "peak RSS MB",
        "status p50 ms",
        "p99 ms",
    )
    print(" | ".join(header))
    for size in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run(
            [sys.executable, "-m", "bench.run", "--one", str(size), "--scale", str(args.scale)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            " | ".join(
                str(x)
                for x in (
                    r["users"],
                    f"{r['wall_s']:.1f}",
                    f"{r['floor_s']:.1f}",
                    f"{r['ratio']:.3f}",
                    r["post_users"],
                    r["writes_min"],
                    r["post_other"],
                    r["gets"],
                    "yes" if r["locked"] else "no",
                    r["resync_writes"],
                    r["resync_calls"],
                    f"{r['peak_rss_mb']:.0f}",
                    f"{r['status_p50_ms']:.1f}",
                    f"{r['status_p99_ms']:.1f}",
                )
            )
        )
        if r["new"] != r["users"] or r["contacts"] != r["users"]:
            print(
                f"  !! {r['new']} new, {r['contacts']} contacts in HappyFox for {r['users']} "
                "users "
                f"({r['status']})"
            )


if __name__ == "__main__":
    main()
