"""azsync benchmarks: run on demand (python -m bench.run), never in the test suite.

Every size runs in a fresh process (``--one``), so its peak RSS (the kernel's VmHWM of that
process) is that sync's alone. Results go to ``bench/results/results.json``; ``bench.report``
renders the figures of docs/performance.md from it.

- mapping + planning speed on one core (CPU time);
- HappyFox points: a first sync of N users into a fake HappyFox in its own process that
  enforces 500 GET / 300 POST a minute and the 10-minute 429 lock on a time-scaled clock
  (one minute lasts 60/scale s), against the floor those limits allow (``bench.floor``); a
  no-change resync over a delta and over a full read (its wall and CPU time); GET /v1/status
  latency during the first sync; py-spy profiles of the first sync and of the full-read
  resync (``bench/results/profile-*.txt``);
- Freshservice points: a first sync of N users into a fake Freshservice in its own process
  that enforces a plan's calls a minute (all, and listing requesters) on a time-scaled clock,
  against the floor those limits allow (``bench.floor``: one write a requester, no bulk
  call), and a no-change resync over a delta;
- the machine's 1-minute load average with each point: on a shared machine, read the
  figures with it;
- built-in store points: a first sync of N users into the built-in store (planning and
  memory, no rate limit), up to 1,000,000 users; with ``--leavers P``, then a full read with
  P% of the users gone, their logins turned off, and that resync's own peak RSS.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.floor import floor_of_budgets, floor_seconds
from bench.report import orm_share

ROOT = Path(__file__).resolve().parent.parent
IDLE_SECONDS = 10.0  # status sampled with the daemon idle, as the machine's own baseline
RESULTS = ROOT / "bench" / "results"


def peak_rss_mb() -> float:
    """This process's own high-water mark; unlike ru_maxrss, not inherited from a parent."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def cpu_seconds() -> float:
    """CPU time of this process and of its children that ended (a sync run's process)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def run_peak_rss_mb(daemon: Any) -> float:
    """The last run's own peak RSS, as its process read it (VmHWM) at its end and sent over
    its pipe. Not RUSAGE_CHILDREN's ru_maxrss: on Linux a spawned child's starts at its
    parent's RSS, so it gives the daemon's size whenever the run is smaller."""
    return float(daemon.last_run_peak_kb()) / 1024


def loads() -> float:
    """The machine's 1-minute load average now: the figures of a point read with it."""
    return os.getloadavg()[0]


def summary(point: dict[str, Any]) -> str:
    """The point's figures a reader looks for first, in one line."""
    text = (
        f"{point['kind']} {point['users']:,} users: first sync {point['wall_s']:.1f} s, "
        f"status p50 {point['status_p50_ms']:.1f} / p99 {point['status_p99_ms']:.1f} ms "
        f"(idle p99 {point['idle_p99_ms']:.1f} ms)"
    )
    if "floor_s" in point and point["kind"] == "freshservice":
        text += f", {point['ratio']:.3f}x the floor, {point['throttled']} answered 429"
    if "full_resync_wall_s" in point:
        text += (
            f"; full-read resync {point['full_resync_wall_s']:.1f} s "
            f"({point['full_resync_cpu_s']:.1f} s CPU), {point['full_resync_posts']} POSTs"
        )
    return text + f"; load {point['load_1m']:.2f}"


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


class Profile:
    """py-spy sampling this process until stopped; the share of the sync thread in the ORM."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.proc = subprocess.Popen(
            # --nonblocking: pausing the process for each sample would add to the latency of
            # the status requests measured meanwhile.
            [
                "py-spy",
                "record",
                "--nonblocking",
                "--subprocesses",  # a sync run's own process
                "-p",
                str(os.getpid()),
                "-f",
                "raw",
                "-o",
                str(out),
                "-r",
                "50",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            executable=str(Path(sys.executable).parent / "py-spy"),
        )

    def stop(self) -> dict[str, Any]:
        self.proc.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
        self.proc.wait(timeout=120)
        return orm_share(self.out.read_text())


def write_secrets(work: Path) -> None:
    from azsyncd.config.secrets import write_private
    from azsyncd.demo.directory import DEMO_SECRET

    for name, value in (("key", "key"), ("code", "code"), ("secret", DEMO_SECRET)):
        write_private(work / name, value.encode())  # azsyncd reads only private secret files


class StatusProbe:
    """GET /v1/status sampled from another process (bench.status_probe) while a sync runs,
    and first for a while with the daemon idle: what the machine alone costs."""

    def __init__(self, daemon: Any, work: Path) -> None:
        import httpx

        from azsyncd.service.socket.server import (
            bind_control_socket,
            control_server,
            settle_process,
        )

        sock_path = work / "s.sock"
        sock = bind_control_socket(sock_path, 0o600)
        self.api = control_server(daemon)
        settle_process()  # as azsyncd's serve() does before serving
        threading.Thread(target=self.api.run, kwargs={"sockets": [sock]}, daemon=True).start()
        client = httpx.Client(transport=httpx.HTTPTransport(uds=str(sock_path)))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                client.get("http://azsyncd/v1/status")
                break
            except httpx.TransportError:
                time.sleep(0.05)
        self.sock_path = sock_path
        self.idle = self._sample(IDLE_SECONDS)  # the same probe with no sync running
        self.proc = self._start()

    def _start(self) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.status_probe", str(self.sock_path)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        proc.stdout.readline()  # type: ignore[union-attr]
        return proc

    def _sample(self, seconds: float) -> list[float]:
        proc = self._start()
        time.sleep(seconds)
        return self._finish(proc)

    @staticmethod
    def _finish(proc: subprocess.Popen[str]) -> list[float]:
        proc.terminate()
        out, _ = proc.communicate(timeout=60)
        latencies: list[float] = json.loads(out.strip().splitlines()[-1])
        return latencies

    def stop(self) -> dict[str, float]:
        during = latency_figures(self._finish(self.proc))
        self.api.should_exit = True
        idle = latency_figures(self.idle)
        return {
            **during,
            "idle_p50_ms": idle["status_p50_ms"],
            "idle_p99_ms": idle["status_p99_ms"],
        }


def latency_figures(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    if not ordered:
        return {"status_samples": 0, "status_p50_ms": 0.0, "status_p99_ms": 0.0}
    return {
        "status_samples": len(ordered),
        "status_p50_ms": statistics.median(ordered) * 1000,
        "status_p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        "status_max_ms": ordered[-1] * 1000,
    }


def run_sync(daemon: Any) -> tuple[Any, float]:
    """One manual sync to its end; the run and its wall time."""
    start = time.monotonic()
    run_id = daemon.start_sync("manual")
    daemon.runner.wait()
    return daemon.state.run(run_id), time.monotonic() - start


def happyfox_size(
    users: int, scale: float, profile: bool, mark: str = "custom_field"
) -> dict[str, Any]:
    """One HappyFox point, in this (fresh) process."""
    from azsyncd import logs
    from azsyncd.state.models import DeltaLink
    from azsyncd.targets.happyfox.client import limits_for
    from bench import setup

    headroom = setup.HEADROOM
    logs.setup("warning")
    bench = setup.start(users, scale, mark=mark)
    daemon, work, stats = bench.daemon, bench.work, bench.stats
    probe = StatusProbe(daemon, work)

    spy = Profile(RESULTS / f"profile-happyfox-{users}.txt") if profile else None
    run, wall = run_sync(daemon)
    run_peak = run_peak_rss_mb(daemon)
    latencies = probe.stop()
    orm = spy.stop() if spy else {}
    first = stats()
    posts = first["post_users"] + first["post_other"]
    budget = limits_for(headroom)["POST"]
    floor = floor_seconds(posts, 300) / scale
    floor_budget = floor_seconds(posts, budget) / scale

    delta, delta_wall = run_sync(daemon)
    after_delta = stats()
    DeltaLink.delete().execute()  # no baseline: the next sync reads every user
    spy = Profile(RESULTS / f"profile-happyfox-{users}-full-resync.txt") if profile else None
    full_cpu = cpu_seconds()
    full, full_wall = run_sync(daemon)
    full_cpu = cpu_seconds() - full_cpu
    full_peak = run_peak_rss_mb(daemon)
    if spy:
        spy.stop()
    after_full = stats()
    graph_calls = bench.graph_calls()
    bench.close()
    return {
        "kind": "happyfox",
        "users": users,
        "scale": scale,
        "mark": mark,
        "headroom": headroom,
        "status": run.status,
        "new": run.counts["new"],
        "wall_s": wall,
        "posts": posts,
        "post_users": first["post_users"],
        "post_other": first["post_other"],
        "writes_min": math.ceil(users / 100),
        "gets": first["gets"],
        "locked": first["locked"],
        "contacts": first["contacts"],
        "floor_s": floor,
        "ratio": wall / floor if floor else 0.0,
        "budget_per_minute": budget,
        "floor_budget_s": floor_budget,
        "ratio_budget": wall / floor_budget if floor_budget else 0.0,
        # From the first POST to the last, in real seconds: the rate limit's part of the
        # wall time; the rest is the run's start (its process, the token, the first chunk
        # planned) and its end (the last writes recorded).
        "post_span_s": (first["last_post"] - first["first_post"]) / scale
        if first.get("first_post") is not None
        else 0.0,
        "delta_resync_wall_s": delta_wall,
        "delta_resync_users": delta.counts["unchanged"] + delta.counts["new"],
        "delta_resync_calls": after_delta["calls"] - first["calls"],
        "full_resync_wall_s": full_wall,
        # the daemon's and its run's process's CPU (not Graph's): less sensitive to load
        "full_resync_cpu_s": full_cpu,
        "full_resync_status": full.status,
        "full_resync_unchanged": full.counts["unchanged"],
        "full_resync_writes": after_full["post_users"] - after_delta["post_users"],
        "full_resync_posts": (after_full["post_users"] + after_full["post_other"])
        - (after_delta["post_users"] + after_delta["post_other"]),
        "full_resync_calls": after_full["calls"] - after_delta["calls"],
        "peak_rss_mb": peak_rss_mb(),
        "run_peak_rss_mb": run_peak,  # the first sync's own, from its process
        "full_resync_run_peak_rss_mb": full_peak,
        "graph_calls": graph_calls,
        "sync_process": True,
        "load_1m": loads(),
        **latencies,
        **orm,
    }


def freshservice_size(users: int, scale: float, plan: str, profile: bool) -> dict[str, Any]:
    """One Freshservice point, in this (fresh) process."""
    import httpx

    from azsyncd import logs
    from azsyncd.targets.freshservice.plans import PLANS
    from bench import setup

    logs.setup("warning")
    bench = setup.start_freshservice(users, scale, plan)
    daemon, work = bench.daemon, bench.work

    def stats() -> dict[str, Any]:
        return dict(httpx.get(f"{bench.base}/__stats__").json())

    probe = StatusProbe(daemon, work)
    spy = Profile(RESULTS / f"profile-freshservice-{users}.txt") if profile else None
    run, wall = run_sync(daemon)
    run_peak = run_peak_rss_mb(daemon)  # the first sync's own, from its process
    latencies = probe.stop()
    orm = spy.stop() if spy else {}
    first = stats()
    total, listing = PLANS[plan]
    budget = {k: max(1, int(v * setup.HEADROOM)) for k, v in (("total", total), ("list", listing))}
    calls = {"total": first["calls"], "list": first["lists"]}
    floor = floor_of_budgets(calls, {"total": total, "list": listing}) / scale
    floor_budget = floor_of_budgets(calls, budget) / scale
    delta, delta_wall = run_sync(daemon)
    after_delta = stats()
    bench.close()
    return {
        "kind": "freshservice",
        "users": users,
        "scale": scale,
        "plan": plan,
        "headroom": setup.HEADROOM,
        "per_minute": total,
        "list_per_minute": listing,
        "budget_per_minute": budget["total"],
        "status": run.status,
        "new": run.counts["new"],
        "failed": run.counts["failed"],
        "wall_s": wall,
        "calls": first["calls"],
        "creates": first["creates"],
        "writes": first["writes"],
        "gets": first["gets"],
        "lists": first["lists"],
        "throttled": first["throttled"],
        "busiest_minute": first["busiest_minute"],
        "busiest_list_minute": first["busiest_list_minute"],
        "requesters": first["requesters"],
        "floor_s": floor,
        "ratio": wall / floor if floor else 0.0,
        "floor_budget_s": floor_budget,
        "ratio_budget": wall / floor_budget if floor_budget else 0.0,
        "delta_resync_wall_s": delta_wall,
        "delta_resync_users": delta.counts["unchanged"] + delta.counts["new"],
        "delta_resync_calls": after_delta["calls"] - first["calls"],
        "peak_rss_mb": peak_rss_mb(),
        "run_peak_rss_mb": run_peak,
        "sync_process": True,
        "load_1m": loads(),
        **latencies,
        **orm,
    }


def reset_peak_rss() -> None:
    """Start this process's VmHWM again from its current size (Linux 4.0+)."""
    Path("/proc/self/clear_refs").write_text("5")


def leavers_point(daemon: Any, tenant: Any, users: int, percent: float) -> dict[str, Any]:
    """A full read after ``percent`` of the users left: the leavers planned and acted on."""
    from azsyncd.state.models import DeltaLink

    gone = int(users * percent / 100)
    tenant.count = users - gone  # the last users of the generated tenant are gone
    DeltaLink.delete().execute()  # a full read: the leavers are the users it does not bring
    reset_peak_rss()
    run, wall = run_sync(daemon)
    return {
        "leavers_percent": percent,
        "leavers_gone": gone,
        "leavers_removed": run.counts["removed"],
        "leavers_left": run.counts["left"],
        "leavers_status": run.status,
        "leavers_wall_s": wall,
        "leavers_peak_rss_mb": peak_rss_mb(),
    }


@dataclass
class LocalBench:
    """A daemon on a generated tenant and the built-in store, built (not started) in this
    process; ``tenant`` is set when the run reads it in this process, ``graph`` when a
    process of its own serves it (runs in their own processes)."""

    work: Path
    daemon: Any
    tenant: Any = None
    graph: subprocess.Popen[str] | None = None

    def close(self) -> None:
        """Stop the daemon and the tenant's server; remove the work directory."""
        self.daemon.stop(20)
        if self.graph is not None:
            self.graph.terminate()
            self.graph.wait(10)
        shutil.rmtree(self.work, ignore_errors=True)


def local_bench(
    users: int, extra: str = "", *, sync_process: bool, clock: Any = None
) -> LocalBench:
    """The built-in store points' daemon, its configuration the demo's plus ``extra``;
    ``clock``: the daemon's (a benchmark that moves time to its next tick)."""
    from azsyncd import logs
    from azsyncd.config import file as config_file
    from azsyncd.service.daemon import Daemon
    from bench.setup import serve_graph
    from tests.engine_setup import DEMO_FIELDS, mapping_toml, tenant_toml
    from tests.fakes.directory import GeneratedTenant

    logs.setup("warning")
    work = Path(tempfile.mkdtemp(prefix="azbench"))
    write_secrets(work)
    tenant, graph, where = None, None, {}
    if sync_process:
        graph, where = serve_graph(users, work)
    else:
        tenant = GeneratedTenant(users)
    located = {k: v for k, v in where.items() if k != "ca"}
    (work / "azsyncd.toml").write_text(
        DEMO_FIELDS + mapping_toml() + tenant_toml("bench", **located) + extra
    )
    daemon = Daemon(
        config_file.load(work / "azsyncd.toml"),
        state_dir=work / "state",
        graph_transport=tenant.transport() if tenant is not None else None,
        sync_process=sync_process,
        **({"clock": clock} if clock is not None else {}),
    )
    return LocalBench(work, daemon, tenant, graph)


def local_size(users: int, profile: bool, leavers: float = 0.0) -> dict[str, Any]:
    """One built-in store point, in this (fresh) process: planning and memory. The run goes to
    its own process, as under ``azsyncd run``, except with ``leavers``: that point changes
    the tenant in this process between two runs."""
    sync_process = not leavers
    lifecycle = '\n[lifecycle]\non_removed = "disable_login"\ngrace_days = 0\n' if leavers else ""
    bench = local_bench(users, lifecycle, sync_process=sync_process)
    daemon = bench.daemon
    probe = StatusProbe(daemon, bench.work)
    spy = Profile(RESULTS / f"profile-local-{users}.txt") if profile else None
    start_cpu = cpu_seconds()
    run, wall = run_sync(daemon)
    cpu = cpu_seconds() - start_cpu
    orm = spy.stop() if spy else {}
    latencies = probe.stop()
    run_peak = run_peak_rss_mb(daemon) if sync_process else 0.0
    point = {
        "kind": "local",
        "users": users,
        "status": run.status,
        "new": run.counts["new"],
        "failed": run.counts["failed"],
        "wall_s": wall,
        "users_per_s": users / wall,
        "cpu_s": cpu,
        "peak_rss_mb": peak_rss_mb(),
        "run_peak_rss_mb": run_peak,
        "sync_process": sync_process,
        "load_1m": loads(),
        **latencies,
        **orm,
    }
    if leavers:
        point.update(leavers_point(daemon, bench.tenant, users, leavers))
    bench.close()
    return point


def fresh(args: list[str]) -> dict[str, Any]:
    """One point in a new process; its last line of output is its JSON."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.run", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if out.returncode:
        raise SystemExit(f"bench.run {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def kept_points(before: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    """``now``'s points, and those of ``before`` at the kinds and sizes ``now`` did not measure."""
    merged = dict(now)
    if "idle_ticks" not in now and "idle_ticks" in before:
        merged["idle_ticks"] = before["idle_ticks"]
    for kind in ("happyfox", "local", "freshservice"):
        measured = {p["users"] for p in now.get(kind, [])}
        kept = [p for p in before.get(kind, []) if p["users"] not in measured]
        merged[kind] = sorted(kept + now.get(kind, []), key=lambda p: p["users"])
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--happyfox", default="10000,100000", help="HappyFox sizes ('' for none)")
    parser.add_argument("--local", default="10000,100000,1000000", help="built-in store sizes")
    parser.add_argument(
        "--freshservice", default="10000,100000", help="Freshservice sizes ('' for none)"
    )
    parser.add_argument(
        "--freshservice-scale",
        type=float,
        default=10.0,
        help="Freshservice clock scale (10: 100,000 users, one call each at Enterprise's 500 a "
        "minute, take ~20 min; a higher scale makes each call's own time a larger share of "
        "the scaled minute than it is against the real service)",
    )
    parser.add_argument(
        "--plan", default="enterprise", help="the Freshservice plan whose limits the fake enforces"
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=3.0,
        help="HappyFox clock scale: one minute lasts 60/scale s (3: 100,000 users take ~2.5 min)",
    )
    parser.add_argument(
        "--mark",
        choices=("custom_field", "contact_group"),
        default="custom_field",
        help="HappyFox points: how synced contacts are marked",
    )
    parser.add_argument(
        "--idle-ticks", type=int, default=10, help="idle ticks measured from /proc (0: none)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "results.json")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--kind", choices=("happyfox", "local", "freshservice"), help=argparse.SUPPRESS
    )
    parser.add_argument("--profile", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--leavers",
        type=float,
        default=0.0,
        help="built-in store points: then a full read with this %% of the users gone (e.g. 1)",
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="keep the points of --out that this run does not measure (e.g. with --local '')",
    )
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.one:
        if args.kind == "local":
            point = local_size(args.one, args.profile, args.leavers)
        elif args.kind == "freshservice":
            point = freshservice_size(args.one, args.freshservice_scale, args.plan, args.profile)
        else:
            point = happyfox_size(args.one, args.scale, args.profile, args.mark)
        print(json.dumps(point))
        return
    sizes = lambda text: [int(s) for s in text.split(",") if s]  # noqa: E731
    results: dict[str, Any] = {
        "machine": {
            "cores": os.cpu_count(),
            "python": sys.version.split()[0],
            "arch": os.uname().machine,
        },
        "mapping_users_per_s": mapping_speed(100_000),
        "happyfox": [],
        "local": [],
        "freshservice": [],
    }
    print(f"mapping + planning: {results['mapping_users_per_s']:,.0f} users/s", flush=True)
    if args.idle_ticks:
        from bench.idle import measure

        results["idle_ticks"] = measure(args.idle_ticks)
        print(json.dumps(results["idle_ticks"]), flush=True)
    for size in sizes(args.local):
        point = fresh(
            ["--one", str(size), "--kind", "local", "--leavers", str(args.leavers)]
            + ["--profile"] * (size == 100_000)
        )
        results["local"].append(point)
        print(json.dumps(point), summary(point), sep="\n", flush=True)
    for size in sizes(args.happyfox):
        point = fresh(
            ["--one", str(size), "--kind", "happyfox", "--scale", str(args.scale)]
            + ["--mark", args.mark]
            + ["--profile"] * (size == 100_000)
        )
        results["happyfox"].append(point)
        print(json.dumps(point), summary(point), sep="\n", flush=True)
    for size in sizes(args.freshservice):
        point = fresh(
            [
                *("--one", str(size), "--kind", "freshservice", "--plan", args.plan),
                *("--freshservice-scale", str(args.freshservice_scale)),
            ]
        )
        results["freshservice"].append(point)
        print(json.dumps(point), summary(point), sep="\n", flush=True)
    if args.update and args.out.exists():
        results = kept_points(json.loads(args.out.read_text()), results)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {args.out}; python -m bench.report {args.out} updates docs/performance.md")


if __name__ == "__main__":
    main()
