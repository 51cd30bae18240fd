"""Idle ticks cost almost nothing: a tick whose delta is empty is read by the daemon itself,
and no run process is started; a tick with a change starts one. The daemon runs the way
``azsyncd demo`` does (each run in its own process, the directory served on a socket); the
clock is faked. What the daemon's process and its children spent is read from /proc."""

from __future__ import annotations

import os
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from azsyncd.demo.api import person
from azsyncd.demo.run import demo_daemon
from azsyncd.service.daemon import Daemon
from tests.helpers import FakeClock, wait_for

pytestmark = pytest.mark.slow
TICKS = 10
HZ = os.sysconf("SC_CLK_TCK")


def cpu() -> tuple[float, float]:
    """This process's CPU (seconds) and that of its children that ended (the run processes),
    from /proc/self/stat: utime + stime, cutime + cstime."""
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / HZ
    children = (int(fields[13]) + int(fields[14])) / HZ
    return own, children


def tick(daemon: Daemon, clock: FakeClock) -> None:
    idle = daemon.ticks.book.counts().get("contoso", {})
    done = sum(idle.values())
    clock.now = min(daemon.scheduler.next_ticks().values())
    daemon.scheduler.wake()
    wait_for(
        lambda: (
            sum(daemon.ticks.book.counts().get("contoso", {}).values()) > done
            and daemon.runner.current is None
        ),
        60,
        "the tick was booked",
    )


def test_idle_ticks_start_no_process_and_a_change_starts_one(tmp_path: Path) -> None:
    clock = FakeClock(datetime.now(UTC))
    daemon, directory = demo_daemon(tmp_path / "demo", clock)
    # Rules on Entra groups need a run at every tick (a user delta does not show a group's
    # members changing): the demo's without its rule on one.
    config = tomllib.loads(daemon.config_path.read_text())
    config["contact_groups"] = [r for r in config["contact_groups"] if "entra_group" not in r]
    daemon.config_path.write_text(tomli_w.dumps(config))
    daemon.config_store.reload()
    try:
        daemon.start()  # the first sync, in a process of its own
        wait_for(
            lambda: bool(daemon.state.runs()) and daemon.runner.current is None,
            120,
            "the first sync ended",
        )
        (first,) = daemon.state.runs()
        assert first.status in ("succeeded", "partial") and first.counts["new"] > 100
        link = daemon.state.tenant("contoso").last_checked_at
        graph_calls: list[str] = []
        answer = directory._graph

        def counted(request: Any) -> Any:  # the daemon's own reads, in this process
            graph_calls.append(str(request.url))
            return answer(request)

        directory._graph = counted  # type: ignore[method-assign]
        own, children = cpu()
        for _ in range(TICKS):
            tick(daemon, clock)
        own_spent, children_spent = (a - b for a, b in zip(cpu(), (own, children), strict=True))
        counts = daemon.ticks.book.counts()["contoso"]
        assert counts["idle"] == TICKS and counts["recorded"] == 0
        assert children_spent == 0, "an idle tick started a run's process"
        # One delta call each, from the daemon; the link and the check's time are kept.
        assert len(graph_calls) == TICKS and all("delta" in url for url in graph_calls)
        assert daemon.state.tenant("contoso").last_checked_at > link
        assert own_spent < 0.1 * TICKS, f"{own_spent:.2f} s of CPU for {TICKS} idle ticks"
        assert [r.id for r in daemon.state.runs()] == [first.id]  # idle ticks are not kept

        directory.add_user(person(directory, "Ada Lovelace", "Research"))
        tick(daemon, clock)
        assert cpu()[1] > children_spent + children  # the change had its run's process
        latest = daemon.state.runs()[0]  # newest first
        assert latest.trigger == "tick" and latest.counts["new"] == 1
    finally:
        daemon.stop(20)
