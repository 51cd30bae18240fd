from __future__ import annotations

import threading
from pathlib import Path

import pytest

from azsyncd.state import State, open_database
from azsyncd.sync.runner import AlreadyRunning, Outcome, RunContext, SyncRunner
from tests.helpers import within


@pytest.fixture
def state(tmp_path: Path) -> State:
    return State(open_database("", tmp_path))


class SlowJob:
    """Works in steps with a safe point between each, until released."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, ctx: RunContext) -> Outcome:
        self.started.set()
        for step in range(1000):
            ctx.checkpoint()
            ctx.report(phase="working", done=step)
            if self.release.wait(0.01):
                return Outcome("succeeded", "", {"new": step})
        return Outcome("failed", "never released")


def test_never_two_runs_at_once(state: State) -> None:
    job = SlowJob()
    runner = SyncRunner(state, job)
    first = runner.start("manual")
    assert job.started.wait(within(5))
    with pytest.raises(AlreadyRunning) as caught:
        runner.start("scheduled")
    assert caught.value.run_id == first
    assert runner.current is not None and runner.current.run_id == first
    job.release.set()
    assert runner.wait(within(5))
    run = state.run(first)
    assert run is not None and run.status == "succeeded" and run.counts["new"] >= 0
    assert runner.start("manual") == first + 1
    assert runner.wait(within(5))


def test_shutdown_stops_at_a_safe_point_and_records_interrupted(state: State) -> None:
    job = SlowJob()
    runner = SyncRunner(state, job)
    run_id = runner.start("scheduled")
    assert job.started.wait(within(5))
    assert runner.shutdown(deadline=5)
    run = state.run(run_id)
    assert run is not None and run.status == "interrupted"
    assert "safe point" in run.message
    assert any("interrupted" in line.message for line in state.log_lines(run_id))


def test_a_run_handed_over_stops_and_is_left_to_the_daemon_taking_the_lead(state: State) -> None:
    job = SlowJob()
    finished: list[bool] = []
    runner = SyncRunner(state, job, on_finish=lambda p, o, recorded: finished.append(recorded))
    run_id = runner.start("tick")
    assert job.started.wait(within(5))
    assert runner.hand_over(deadline=5)
    assert runner.current is None and finished == [False]
    run = state.run(run_id)  # kept, even a tick's, and still running: not this daemon's now
    assert run is not None and run.status == "running" and run.finished_at is None
    assert "lost the lead" in state.log_lines(run_id)[-1].message
    assert state.mark_interrupted("taken over") == [run_id]  # what the new active one does


def test_a_crashing_job_is_recorded_as_failed_not_lost(state: State) -> None:
    def job(ctx: RunContext) -> Outcome:
        ctx.log("about to fail")
        raise RuntimeError("boom")

    runner = SyncRunner(state, job)
    run_id = runner.start("manual")
    assert runner.wait(within(5))
    run = state.run(run_id)
    assert run is not None and run.status == "failed" and "RuntimeError: boom" in run.message
    assert [line.message for line in state.log_lines(run_id)][:2] == [
        "sync started (manual)",
        "about to fail",
    ]


def test_history_is_pruned_after_each_run(state: State) -> None:
    runner = SyncRunner(state, lambda ctx: Outcome("succeeded"), history=lambda: 2)
    for _ in range(4):
        runner.start("manual")
        assert runner.wait(within(5))
    assert len(state.runs()) == 2
