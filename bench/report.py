"""The performance page's figures, rendered from bench.run's JSON output.

python -m bench.report [bench/results/results.json] rewrites the part of docs/performance.md
between the bench markers; nothing there is typed by hand.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
# The frame every sync thread's stack starts at: on the daemon's runner thread, or in the
# run's own process.
# (Profiles taken before the service's folders kept the worker at azsyncd/service/worker.py.)
SYNC_THREAD = (
    "_work (azsyncd/sync/runner.py",
    "run (azsyncd/service/runs/worker.py",
    "run (azsyncd/service/worker.py",
)
# peewee frames that are the database driver running SQL, not the ORM building it
DRIVER = ("Database._execute_cursor (peewee.py", "Database.commit (peewee.py")


def _in_sync(stack: str) -> bool:
    return any(frame in stack for frame in SYNC_THREAD)


def orm_share(raw: str) -> dict[str, Any]:
    """From py-spy's collapsed stacks, the sync thread's samples: how many had a peewee frame
    (the ORM plus the database running its SQL), and how many were the ORM's own Python work
    (a peewee frame, but not ending in the driver's execute or commit)."""
    total = peewee = orm = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not _in_sync(stack):
            continue
        total += int(count)
        if "(peewee.py:" in stack:
            peewee += int(count)
            if not stack.rsplit(";", 1)[-1].startswith(DRIVER):
                orm += int(count)
    return {
        "sync_samples": total,
        "peewee_share": peewee / total if total else 0.0,
        "orm_share": orm / total if total else 0.0,
    }


# Where a full-read resync's sync thread spends its time: the first of these frames in a
# stack names its part ("other" when none is there).
RESYNC_PARTS = (
    ("reading Graph", ("DirectorySource._users",)),
    ("mapping", ("Planning._mapped",)),
    (
        "state lookups",
        ("State.mirror", "State.failing", "State.see_users", "State.claims", "State.seen_among"),
    ),
    ("recording", ("Executor.",)),
)


def resync_parts(raw: str) -> dict[str, float]:
    """From py-spy's collapsed stacks, the share of the sync thread's samples in each part
    of a resync, "other" last."""
    counts = dict.fromkeys([name for name, _ in RESYNC_PARTS] + ["other"], 0)
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not _in_sync(stack):
            continue
        frames = stack.split(";")
        part = next(
            (name for frame in frames for name, marks in RESYNC_PARTS if frame.startswith(marks)),
            "other",
        )
        counts[part] += int(count)
    total = sum(counts.values())
    return {name: n / total for name, n in counts.items()} if total else {}


def profile_of(point: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The shares from the profile kept next to the results, when this point has one."""
    path = folder / f"profile-{point['kind']}-{point['users']}.txt"
    return orm_share(path.read_text()) if path.exists() else {}


def _ratios(point: dict[str, Any]) -> str:
    if not point["floor_budget_s"]:
        return "- (every POST fits the first window: the floor is 0)"
    ratio = f"{point['ratio']:.3f}x" if point["floor_s"] else "-"
    return f"{ratio} / {point['ratio_budget']:.3f}x"


def _status(point: dict[str, Any]) -> str:
    during = f"{point['status_p50_ms']:.1f} / {point['status_p99_ms']:.1f}"
    if "idle_p99_ms" not in point:
        return during
    load = f"; load {point['load_1m']:.1f}" if "load_1m" in point else ""
    return f"{during} (idle: {point['idle_p50_ms']:.1f} / {point['idle_p99_ms']:.1f}{load})"


def _rss(point: dict[str, Any]) -> str:
    """The daemon's peak RSS, and its run's process's when the run had one."""
    ran = point.get("run_peak_rss_mb")
    run = f" / {ran:.0f}" if ran else " / -"
    return f"{point['peak_rss_mb']:.0f}{run}"


def _share(point: dict[str, Any], folder: Path) -> str:
    shares = profile_of(point, folder)
    if not shares.get("sync_samples"):
        return "-"
    return (
        f"{shares['orm_share']:.0%} ORM, {shares['peewee_share']:.0%} with SQL "
        f"({shares['sync_samples']:,} samples)"
    )


def render(results: dict[str, Any], folder: Path) -> str:
    """The figures in Markdown; ``folder`` holds the results and their profiles."""
    m = results["machine"]
    lines = [
        f"Measured on {m['cores']} cores ({m['arch']}), Python {m['python']}; each point in a "
        "fresh process. Peak RSS is that process's own high-water mark (VmHWM). "
        "`GET /v1/status` is sampled every 50 ms from a separate process during the first sync, "
        "and for 10 s before it with the daemon idle (the machine's own baseline); "
        "load is the machine's 1-minute load average at the end of the point.",
        "",
        "Mapping + planning on one core (CPU time): "
        f"{results['mapping_users_per_s']:,.0f} users/s.",
        "",
        "First sync into the built-in store (planning, state writes and memory; no rate limit"
        + (
            "; each run in its own process, Graph served by another on loopback HTTPS"
            if any(p.get("sync_process") for p in results["local"])
            else ""
        )
        + "):",
        "",
        "| users | wall s | users/s | peak RSS MB (daemon / run) | status p50 / p99 ms "
        "| ORM share of sync thread |",
        "| ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    local = {p["users"]: p for p in results["local"]}
    for p in results["local"]:
        lines.append(
            f"| {p['users']:,} | {p['wall_s']:.1f} | {p['users_per_s']:,.0f} | "
            f"{_rss(p)} | {_status(p)} | "
            f"{_share(p, folder)} |"
        )
    if 100_000 in local and 1_000_000 in local:
        key = "run_peak_rss_mb" if local[100_000].get("run_peak_rss_mb") else "peak_rss_mb"
        growth = local[1_000_000][key] / local[100_000][key] - 1
        whose = "the run's process" if key == "run_peak_rss_mb" else "the process"
        lines += ["", f"Peak RSS growth of {whose} from 100,000 to 1,000,000 users: {growth:+.1%}."]
    if results["happyfox"]:
        p0 = results["happyfox"][0]
        lines += [
            "",
            "First sync into the fake HappyFox (its own process, 300 POST / 500 GET a minute, "
            f"429 lock; clock scaled {p0['scale']:g}x, so a minute lasts {60 / p0['scale']:g} s; "
            f"azsync's limiter uses {p0['headroom']:.0%} of the limit, "
            f"{p0['budget_per_minute']} POST a minute). "
            + (
                "Each run in its own process, as `azsyncd run` does it, Graph served by "
                "another on loopback HTTPS. "
                if p0.get("sync_process")
                else ""
            )
            + "Floors in scaled seconds:",
            "",
            f"Contacts are marked with {_mark(p0)}.",
            "",
            "| users | POSTs (contacts + marks) | GETs | floor at 300/min | floor at budget "
            "| wall s | ratio to 300 / to budget | 429 | peak RSS MB (daemon / run) "
            "| status p50 / p99 ms "
            "| ORM share |",
            "| ---: | --- | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | --- |",
        ]
        for p in results["happyfox"]:
            lines.append(
                f"| {p['users']:,}{_scaled(p, p0)} "
                f"| {p['posts']:,} ({p['post_users']:,} + {p['post_other']:,}) "
                f"| {p['gets']} | {p['floor_s']:.1f} | {p['floor_budget_s']:.1f} | "
                f"{p['wall_s']:.1f} | {_ratios(p)} | "
                f"{'yes' if p['locked'] else 'no'} | {_rss(p)} | "
                f"{_status(p)} | {_share(p, folder)} |"
            )
        spans = [p for p in results["happyfox"] if p.get("post_span_s") and p["floor_budget_s"]]
        if spans:
            lines += [
                "",
                "From the first POST to the last (on the fake's clock): "
                + "; ".join(
                    f"{p['users']:,} users {p['post_span_s']:.1f} s, "
                    f"{p['post_span_s'] / p['floor_budget_s']:.3f}x the floor at budget"
                    for p in spans
                )
                + ". The rest of the wall time is the run's start (its process, the token, the "
                "first chunk planned) and end (the last writes recorded).",
            ]
        happy = {p["users"]: p for p in results["happyfox"]}
        if 100_000 in happy and 1_000_000 in happy and happy[100_000].get("run_peak_rss_mb"):
            growth = happy[1_000_000]["run_peak_rss_mb"] / happy[100_000]["run_peak_rss_mb"] - 1
            lines += [
                "",
                "Peak RSS growth of the run's process from 100,000 to 1,000,000 users (its own "
                f"VmHWM, sent over its pipe at its end): {growth:+.1%}.",
            ]
        lines += [
            "",
            "No-change resync after it (HappyFox):",
            "",
            "| users | over a delta: users read, calls, wall s | over a full read: users "
            "unchanged, POSTs, calls, wall s |",
            "| ---: | --- | --- |",
        ]
        for p in results["happyfox"]:
            cpu = f" ({p['full_resync_cpu_s']:.1f} s CPU)" if "full_resync_cpu_s" in p else ""
            lines.append(
                f"| {p['users']:,} | {p['delta_resync_users']}, {p['delta_resync_calls']}, "
                f"{p['delta_resync_wall_s']:.1f} | {p['full_resync_unchanged']:,}, "
                f"{p['full_resync_posts']}, {p['full_resync_calls']}, "
                f"{p['full_resync_wall_s']:.1f}{cpu} |"
            )
        for p in results["happyfox"]:
            profile = folder / f"profile-happyfox-{p['users']}-full-resync.txt"
            if profile.exists():
                parts = resync_parts(profile.read_text())
                lines += [
                    "",
                    f"Where the sync's time went in the full-read resync of "
                    f"{p['users']:,} users (py-spy): "
                    + ", ".join(f"{name} {share:.0%}" for name, share in parts.items())
                    + ".",
                ]
    lines += _freshservice(results.get("freshservice") or [], folder)
    idle = results.get("idle_ticks")
    if idle:
        lines += [
            "",
            f"Idle incremental ticks ({idle['idle_ticks']} in a row, no change in the directory; "
            "the daemon's /proc/<pid>/stat read from outside before and after): "
            f"{idle['idle_tick_cpu_s'] * 1000:.0f} ms of CPU each in the daemon, "
            f"{idle['idle_tick_children_cpu_s'] * 1000:.0f} ms in runs' processes "
            f"({idle['idle_tick_processes']} started), {idle['idle_tick_graph_calls']} Graph "
            f"calls in all (load {idle['idle_tick_load_1m']:.1f}).",
        ]
    return "\n".join(lines)


def _freshservice(points: list[dict[str, Any]], folder: Path) -> list[str]:
    """The Freshservice rows: one call a requester under a plan's two budgets."""
    if not points:
        return []
    p0 = points[0]
    lines = [
        "",
        f"First sync into the fake Freshservice (its own process, {p0['plan']} plan: "
        f"{p0['per_minute']} calls a minute, of which {p0['list_per_minute']} listing "
        f"requesters; 429 past either; clock scaled {p0['scale']:g}x, so a minute lasts "
        f"{60 / p0['scale']:g} s; azsync's limiter uses {p0['headroom']:.0%} of each, "
        f"{p0['budget_per_minute']} calls a minute). There is no bulk call: one POST a "
        "requester, so the floor is the calls at the plan's rate, the fullest budget's "
        "(`bench.floor.floor_of_budgets`, the same formula as HappyFox's). Each run in its "
        "own process, Graph served by another on loopback HTTPS. Floors in scaled seconds:",
        "",
        "| users | calls (creates, listings) | floor at plan | floor at budget | wall s "
        "| ratio to plan / to budget | busiest minute (listings) | 429 | peak RSS MB "
        "(daemon / run) | status p50 / p99 ms | delta resync: calls, wall s |",
        "| ---: | --- | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | --- |",
    ]
    for p in points:
        lines.append(
            f"| {p['users']:,} | {p['calls']:,} ({p['creates']:,}, {p['lists']:,}) "
            f"| {p['floor_s']:.1f} | {p['floor_budget_s']:.1f} | {p['wall_s']:.1f} "
            f"| {_ratios(p)} | {p['busiest_minute']} ({p['busiest_list_minute']}) "
            f"| {p['throttled']} | {_rss(p)} | {_status(p)} "
            f"| {p['delta_resync_calls']}, {p['delta_resync_wall_s']:.1f} |"
        )
    del folder
    return lines


def _scaled(point: dict[str, Any], first: dict[str, Any]) -> str:
    """A row on another clock scale than the table's says so."""
    if point["scale"] == first["scale"]:
        return ""
    return f" (clock scaled {point['scale']:g}x)"


def _mark(point: dict[str, Any]) -> str:
    if point.get("mark", "contact_group") == "custom_field":
        return 'a custom field sent in each contact\'s own write (`mark = "custom_field"`)'
    return 'a contact group (`mark = "contact_group"`: a POST per 100 contacts)'


PAGE = ROOT / "docs" / "performance.md"


def figures(page: Path) -> str:
    """The generated block of ``page``, between the markers."""
    text = page.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{page} has no {BEGIN} ... {END} block; add one where the figures go")
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n")


def update_page(page: Path, results: dict[str, Any], folder: Path) -> None:
    figures(page)  # the markers are there
    head, rest = page.read_text().split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    page.write_text(f"{head}{BEGIN}\n{render(results, folder)}\n{END}{tail}")


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench/results/results.json"
    update_page(PAGE, json.loads(source.read_text()), source.parent)


if __name__ == "__main__":
    main()
