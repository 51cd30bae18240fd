"""The benchmark runs: small built-in store points (a first sync, leavers, a preview), in fresh
processes, as ``python -m bench.run`` measures them (the figures are never part of the suite)."""

from __future__ import annotations

from tests.helpers import within


def test_a_local_point_with_leavers_acts_on_exactly_the_users_gone() -> None:
    from bench.run import fresh

    point = fresh(["--one", "400", "--kind", "local", "--leavers", "1"])
    assert point["status"] == "succeeded" and point["new"] == 400
    assert point["leavers_gone"] == point["leavers_removed"] == point["leavers_left"] == 4
    assert point["leavers_status"] == "succeeded"
    assert point["leavers_peak_rss_mb"] > 0 and point["leavers_wall_s"] > 0


def test_a_local_point_runs_the_sync_in_its_own_process_against_a_served_graph() -> None:
    from bench.run import fresh

    point = fresh(["--one", "300", "--kind", "local"])
    assert point["sync_process"] is True
    assert point["status"] == "succeeded" and point["new"] == 300
    # The run's process ended within the point: its peak is counted, apart from the daemon's.
    assert point["run_peak_rss_mb"] > 0 and point["peak_rss_mb"] > 0


def test_the_preview_point_previews_the_change_it_names() -> None:
    import json
    import subprocess
    import sys

    from bench.run import ROOT

    out = subprocess.run(
        [sys.executable, "-m", "bench.preview", "--one", "300"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=within(300),
    )
    point = json.loads(out.stdout.strip().splitlines()[-1])
    assert point["first_sync_new"] == 300
    counts = point["preview_counts"]  # Department in upper case: a third of it already is
    assert counts["update"] + counts["unchanged"] == 300 and counts["update"] > 0
    assert point["dry_run_s"] > 0 and point["preview_s"] > 0
