"""Ticks that did nothing leave no run behind; the ones that did something are kept."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from azsyncd.state import State, open_database
from azsyncd.state.database import LATEST, schema_version
from azsyncd.state.models import DbInfo, RunLog, SyncRecord, TenantState
from azsyncd.state.repository import RecordRow
from azsyncd.sync.runner import Outcome, Progress, RunContext, SyncRunner
from tests.helpers import within


@pytest.fixture
def state(tmp_path: Path) -> State:
    return State(open_database("", tmp_path))


def job_with(outcome: Outcome, records: int = 1) -> object:
    def job(ctx: RunContext) -> Outcome:
        ctx.log("tenant t: reading changes since the last sync")
        ctx.state.add_records(
            ctx.run_id,
            [
                RecordRow("t", f"u{i}", f"u{i}@x.test", "Existing", "unchanged", "No changes")
                for i in range(records)
            ],
        )
        return outcome

    return job


def run_once(state: State, outcome: Outcome, trigger: str = "tick") -> tuple[int, list[bool]]:
    recorded: list[bool] = []
    runner = SyncRunner(
        state,
        job_with(outcome),  # type: ignore[arg-type]
        on_finish=lambda progress, out, kept: recorded.append(kept),
    )
    run_id = runner.start(trigger, options={"tenant": "t"})
    assert runner.wait(within(5))
    return run_id, recorded


IDLE = Outcome("succeeded", "", {"new": 0, "updated": 0, "unchanged": 3, "failed": 0})


def test_an_idle_tick_is_not_kept_nor_its_log_nor_its_records(state: State) -> None:
    kept = state.start_run("manual")
    state.finish_run(kept, "succeeded", counts={"new": 2})
    run_id, recorded = run_once(state, IDLE)
    assert recorded == [False]
    assert state.run(run_id) is None
    assert RunLog.select().where(RunLog.run == run_id).count() == 0
    assert SyncRecord.select().where(SyncRecord.run == run_id).count() == 0
    latest = state.latest_run()
    assert latest is not None and latest.id == kept  # "the last sync" is the one that did something
    assert [r.id for r in state.runs()] == [kept]


@pytest.mark.parametrize(
    "outcome",
    [
        Outcome("succeeded", "", {"new": 1}),
        Outcome("succeeded", "", {"updated": 2}),
        Outcome("partial", "1 contact(s) failed", {"failed": 1}),
        Outcome("failed", "contoso: reading the directory failed", {}),
        Outcome("interrupted", "stopped at a safe point", {}),
        Outcome("succeeded", "", {"left": 1}),
        Outcome("succeeded", "", {"returned": 1}),
        Outcome("succeeded", "", {"grouped": 3}),
        Outcome("succeeded", "", {"ungrouped": 1}),
    ],
    ids=[
        "new",
        "updated",
        "a failure",
        "tenant failed",
        "interrupted",
        "a leaver",
        "a return",
        "group members added",
        "group members removed",
    ],
)
def test_a_tick_that_did_something_is_kept_as_a_run(state: State, outcome: Outcome) -> None:
    run_id, recorded = run_once(state, outcome)
    assert recorded == [True]
    run = state.run(run_id)
    assert run is not None and run.trigger == "tick" and run.status == outcome.status
    assert state.latest_run() == run


def test_other_runs_are_kept_even_when_idle(state: State) -> None:
    run_id, recorded = run_once(state, IDLE, trigger="scheduled")
    assert recorded == [True] and state.run(run_id) is not None


def test_history_counts_only_runs_that_did_something(state: State) -> None:
    runner = SyncRunner(state, job_with(IDLE), history=lambda: 3)  # type: ignore[arg-type]
    busy = SyncRunner(
        state,
        job_with(Outcome("succeeded", "", {"new": 1})),  # type: ignore[arg-type]
        history=lambda: 3,
    )
    kept = []
    for _ in range(3):
        kept.append(busy.start("tick"))
        assert busy.wait(within(5))
        for _ in range(5):
            runner.start("tick")
            assert runner.wait(within(5))
    assert [r.id for r in state.runs()] == kept[::-1]


def test_a_running_tick_is_not_yet_the_last_sync(state: State) -> None:
    done = state.start_run("scheduled")
    state.finish_run(done, "succeeded")
    state.start_run("tick")  # still running: it may yet turn out idle
    latest = state.latest_run()
    assert latest is not None and latest.id == done
    assert [r.id for r in state.runs()] == [done]


def test_an_idle_tick_says_nothing_in_the_journal(
    state: State, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="azsyncd")
    run_once(state, IDLE)
    assert caplog.records == []
    run_once(state, Outcome("succeeded", "", {"new": 1, "updated": 0}))
    assert any("1 new, 0 updated" in r.getMessage() for r in caplog.records)


def test_the_finish_hook_sees_what_was_asked(state: State) -> None:
    seen: list[Progress] = []
    runner = SyncRunner(
        state,
        job_with(IDLE),  # type: ignore[arg-type]
        on_finish=lambda progress, outcome, kept: seen.append(progress),
    )
    runner.start("tick", options={"tenant": "fabrikam"})
    assert runner.wait(within(5))
    assert seen[0].options == {"tenant": "fabrikam"} and "options" not in seen[0].as_dict()


def v1_database(url: str, tmp_path: Path) -> None:
    """A database as the previous release left it: no last_checked_at, schema version 1."""
    state = State(open_database(url, tmp_path))
    state.set_tenant("contoso", status="active", reason="")
    state.db.execute_sql("ALTER TABLE tenantstate DROP COLUMN last_checked_at")
    DbInfo.update(value="1").where(DbInfo.key == "schema_version").execute()
    state.close()


def upgraded(url: str, tmp_path: Path) -> None:
    v1_database(url, tmp_path)
    state = State(open_database(url, tmp_path))
    assert schema_version(state.db) == LATEST >= 3
    assert state.tenant("contoso").status == "active"  # the rows are kept
    assert state.tenant("contoso").last_checked_at is None
    state.set_tenant("contoso", last_checked_at=state.tenant("contoso").updated_at)
    assert TenantState.get(TenantState.name == "contoso").last_checked_at is not None
    state.close()


def test_a_database_of_the_previous_release_is_upgraded(tmp_path: Path) -> None:
    upgraded("", tmp_path)


def test_a_postgresql_database_of_the_previous_release_is_upgraded(
    postgres_url: str, tmp_path: Path
) -> None:
    upgraded(postgres_url, tmp_path)
