"""Bulk writes of the state database, on SQLite and on a throwaway PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from azsyncd.state import State, bulk
from azsyncd.state.database import open_database
from azsyncd.state.models import FailingUser, MirrorEntry, RunClaim, RunSeen, SyncRecord
from azsyncd.state.repository import Claim, RecordRow


@pytest.fixture(params=["sqlite", "postgresql"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[State]:
    url = "" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    state = State(open_database(url, tmp_path))
    for table in (MirrorEntry, RunSeen, RunClaim, SyncRecord, FailingUser):
        table.delete().execute()  # the PostgreSQL database is shared by the module's tests
    yield state
    state.close()


def mirror_row(i: int, **values: str) -> dict[str, str]:
    row = {"email": f"u{i}@x.test", "target_id": str(i), "tenant": "t", "object_id": f"o{i}"}
    return {**row, "fingerprint": "f1", **values}


def test_remember_upserts_in_one_statement_and_keeps_the_welcome_state(state: State) -> None:
    state.remember([mirror_row(i, fingerprint="pending", target_id="") for i in range(3)])
    state.welcome_due([("u0@x.test", "Ann Lee"), ("u1@x.test", "Bo Ek")], run_id=4)
    assert state.claim_welcome("u0@x.test")
    state.remember([mirror_row(i) for i in range(3)])
    rows = state.mirror(f"u{i}@x.test" for i in range(3))
    assert {e: (r.fingerprint, r.target_id) for e, r in rows.items()} == {
        f"u{i}@x.test": ("f1", str(i)) for i in range(3)
    }
    kept = {
        r.email: (r.welcome_state, r.welcome_name, r.welcome_run, r.welcome_sent_at is not None)
        for r in MirrorEntry.select()
    }
    assert kept == {
        "u0@x.test": ("sending", "Ann Lee", 4, True),
        "u1@x.test": ("due", "Bo Ek", 4, False),
        "u2@x.test": ("", "", None, False),
    }
    entry = state.mirror_entry("u0@x.test")  # the whole row, as a resend reads it
    assert entry is not None and entry.welcome_state == "sending"


def failing_row(i: int, **values: object) -> dict[str, object]:
    row = {"tenant": "t", "object_id": f"o{i}", "email": f"u{i}@x.test", "reason": "no phone"}
    user = {"id": f"o{i}", "displayName": "Ünï 'x\"", "businessPhones": []}
    return {**row, "user": user, "since_run": 3, "refused": "", "existed": False, **values}


def test_failing_users_upsert_in_one_statement_and_keep_their_first_run(
    state: State, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "MAX_PARAMETERS", 40)  # 4 rows a statement: several statements
    state.keep_failures([failing_row(i) for i in range(10)])
    state.keep_failures(
        [failing_row(1, since_run=9, reason="refused: Type", refused="a:b", existed=True)]
    )
    rows = state.failing("t")
    assert len(rows) == 10 and rows["o0"].user == failing_row(0)["user"]
    again = rows["o1"]
    assert (again.since_run, again.reason, again.refused, again.existed) == (
        3,
        "refused: Type",
        "a:b",
        True,
    )
    assert again.updated_at >= rows["o0"].updated_at


def test_values_are_parameters_never_sql(state: State) -> None:
    nasty = "x'); DROP TABLE syncrecord; --\"ünï\x7f"
    run_id = state.start_run("manual")
    state.add_records(run_id, [RecordRow("t", nasty, "a@x.test", "New", "failed", nasty, nasty)])
    [record] = state.records(run_id)
    assert (record.user_id, record.result, record.changed_fields) == (nasty, nasty, nasty)


def test_many_rows_split_under_the_parameter_limit(
    state: State, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "MAX_PARAMETERS", 60)  # 10 mirror rows a statement
    state.remember([mirror_row(i) for i in range(95)])
    assert MirrorEntry.select().count() == 95
    assert state.see_users(1, "t", [f"o{i}" for i in range(95)]) == 95


def test_seen_users_count_once_and_give_the_unseen_mirrored(state: State) -> None:
    state.remember([mirror_row(i) for i in range(5)] + [mirror_row(9, tenant="other")])
    assert state.see_users(7, "t", ["o0", "o1", "o1"]) == 2  # a repeat in one call counts once
    assert state.see_users(7, "t", ["o1", "o2"]) == 1  # and across calls
    assert state.see_users(8, "t", ["o3"]) == 1  # another run's users are its own
    assert state.unseen_mirrored(7, "t") == 2  # o3 and o4; the other tenant's row is not ours
    state.claim(7, {"a@x.test": Claim("t", "oa", "a@t"), "b@x.test": Claim("t", "ob", "b@t")})
    state.claim(7, {"a@x.test": Claim("t", "oa2", "a2@t", True)})  # the first claim stays
    assert state.claims(7, ["a@x.test", "c@x.test"]) == {"a@x.test": Claim("t", "oa", "a@t")}
    assert state.claims(8, ["a@x.test"]) == {}
    state.forget_run_users(7)
    assert {r.run for r in RunSeen.select()} == {8} and RunClaim.select().count() == 0


def test_a_run_drops_only_its_own_bookkeeping_and_what_dead_runs_left(state: State) -> None:
    """Two daemons on one state: the one that lost the lead ends its run while the one that
    took over runs the next. Neither may drop what the other's run uses."""
    dead, stepping_down = (state.start_run("manual") for _ in range(2))
    for run in (dead, stepping_down):
        state.see_users(run, "t", ["o1"])
        state.claim(run, {"a@x.test": Claim("t", "oa", "a@t")})
    state.mark_interrupted("cut off")  # what the daemon taking over records first
    resume = state.start_run("resume")
    state.see_users(resume, "t", ["o9"])  # left under this id by a run that died (SQLite)
    elsewhere = state.start_run("manual")  # still running
    state.see_users(elsewhere, "t", ["o2"])
    state.forget_dead_runs_users(resume)
    assert {(r.run, r.object_id) for r in RunSeen.select()} == {(elsewhere, "o2")}
    assert RunClaim.select().count() == 0
    assert state.see_users(resume, "t", ["o1", "o3"]) == 2
    state.claim(resume, {"a@x.test": Claim("t", "oa", "a@t")})
    state.forget_run_users(stepping_down)  # its run ends after the next one began
    state.forget_run_users(elsewhere)
    assert state.see_users(resume, "t", ["o1", "o3"]) == 0  # the resumed run's users are kept
    assert state.claims(resume, ["a@x.test"]) == {"a@x.test": Claim("t", "oa", "a@t")}
    assert state.unseen_mirrored(resume, "t") == 0


def test_lookups_find_exactly_the_keys_asked_across_chunks(
    state: State, monkeypatch: pytest.MonkeyPatch
) -> None:
    from azsyncd.state import repository

    monkeypatch.setattr(repository, "LOOKUP_CHUNK", 7)  # 40 keys: six IN lists
    nasty = "x'); DROP TABLE contact_binding; --\"ü@x.test"
    state.remember([mirror_row(i) for i in range(30)] + [{**mirror_row(99), "email": nasty}])
    asked = [f"u{i}@x.test" for i in range(0, 40, 2)] + [nasty, "u2@x.test"]  # a repeat too
    found = state.mirror(asked)
    assert set(found) == {f"u{i}@x.test" for i in range(0, 30, 2)} | {nasty}
    assert found["u4@x.test"] == ("u4@x.test", "4", "t", "o4", "f1", "")
    assert found[nasty].object_id == "o99"
    assert state.mirror([]) == {}

    state.see_users(3, "t", [f"o{i}" for i in range(20)])
    assert state.seen_among(3, "t", [f"o{i}" for i in range(15, 40)]) == {
        f"o{i}" for i in range(15, 20)
    }
    state.keep_failures(
        [
            {
                "tenant": "t",
                "object_id": f"o{i}",
                "email": f"u{i}@x.test",
                "user": {"id": f"o{i}"},
                "reason": "bad",
                "since_run": 3,
                "refused": "",
                "existed": False,
            }
            for i in range(12)
        ]
    )
    assert set(state.failing("t", [f"o{i}" for i in range(8, 30)])) == {
        f"o{i}" for i in range(8, 12)
    }
    state.forget_failures("t", [f"o{i}" for i in range(0, 12, 3)])
    assert set(state.failing("t")) == {f"o{i}" for i in range(12) if i % 3}
