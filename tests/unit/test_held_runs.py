"""Held runs: [sync.thresholds] stop a run before it writes; an admin approves or discards it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from azsyncd.config.model import Config
from azsyncd.service.api import create_app
from azsyncd.service.daemon import Daemon
from azsyncd.state.lifecycle import LifecycleState
from azsyncd.state.models import MirrorEntry
from azsyncd.targets.local.table import Contact
from tests.engine_setup import make_daemon, sync, tenant_toml
from tests.fakes.directory import FakeTenant, contoso

GROUP = "a0000003-0000-4000-b000-000000000000"


def held_daemon(tmp_path: Path, directory: FakeTenant, thresholds: str, **kw: Any) -> Daemon:
    return make_daemon(
        tmp_path, directory, skip_empty=True, extra=f"\n[sync.thresholds]\n{thresholds}\n", **kw
    )


def test_a_run_over_the_create_threshold_writes_nothing_and_is_approved(tmp_path: Path) -> None:
    directory = contoso(users=12)
    daemon = held_daemon(tmp_path, directory, "create = 5")
    held = sync(daemon)
    creates = held.counts["plan"]["contoso"]["create"]
    assert held.status == "held" and f"{creates} create (threshold 5, at most 5)" in held.message
    assert creates > 5 and Contact.select().count() == 0 and MirrorEntry.select().count() == 0
    assert daemon.state.delta_link("contoso", "any") is None
    plan = daemon.state.records(held.id, status="success")
    assert len(plan) == creates and {r.result for r in plan} == {"Would create"}

    api = TestClient(create_app(daemon))
    answer = api.post(f"/v1/runs/{held.id}/approve", json={}).json()
    applied = answer["run"]
    assert applied["status"] in ("succeeded", "partial") and applied["counts"]["new"] == creates
    assert Contact.select().count() == creates
    after = daemon.state.run(held.id)
    assert after is not None and after.status == "approved"
    assert f"applied by run {applied['id']}" in after.message
    # Approved once: a second approval is refused with the reason.
    again = api.post(f"/v1/runs/{held.id}/approve", json={})
    assert again.status_code == 409 and "is approved, not held" in again.json()["error"]["message"]
    # Within the threshold: the next change is written at once.
    directory.update_user("00000000-0000-4000-a000-000000000000", department="Support")
    assert sync(daemon).counts["updated"] == 1


def test_a_discarded_run_writes_nothing_and_cannot_be_approved(tmp_path: Path) -> None:
    daemon = held_daemon(tmp_path, contoso(users=8), 'create = "50%"')
    held = sync(daemon)
    assert held.status == "held" and "of 0 contact(s)" in held.message
    api = TestClient(create_app(daemon))
    assert api.post(f"/v1/runs/{held.id}/discard").json()["status"] == "discarded"
    refused = api.post(f"/v1/runs/{held.id}/approve", json={})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_held"
    assert Contact.select().count() == 0
    # A run that is not held is not discarded either; an unknown run is a 404.
    assert api.post("/v1/runs/999/discard").status_code == 404


def test_a_plan_the_directory_moved_under_is_refused_and_planned_again(tmp_path: Path) -> None:
    directory = contoso(users=10)
    daemon = held_daemon(tmp_path, directory, "create = 3")
    held = sync(daemon)
    directory.update_user("00000000-0000-4000-a000-000000000000", givenName="Someone")
    api = TestClient(create_app(daemon))
    refused = api.post(f"/v1/runs/{held.id}/approve", json={})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "plan_moved"
    assert Contact.select().count() == 0
    new_id = refused.json()["error"]["run_id"]
    old, new = daemon.state.run(held.id), daemon.state.run(new_id)
    assert old is not None and old.status == "superseded" and str(new_id) in old.message
    assert new is not None and new.status == "held"
    # The new plan, unchanged since, is applied.
    ok = api.post(f"/v1/runs/{new_id}/approve", json={}).json()["run"]
    assert ok["counts"]["new"] == Contact.select().count() > 3
    assert any(c.name.startswith("Someone ") for c in Contact.select())


def test_a_config_change_that_shrinks_the_scope_counts_as_leavers(tmp_path: Path) -> None:
    directory = contoso(users=20)
    daemon = held_daemon(tmp_path, directory, "disable = 2")
    assert sync(daemon).status in ("succeeded", "partial")
    # The admin narrows the scope to one group: every user outside it leaves at once.
    (tmp_path / "azsyncd.toml").write_text(
        (tmp_path / "azsyncd.toml")
        .read_text()
        .replace(tenant_toml(), tenant_toml(extra=f'users = "groups"\ngroups = ["{GROUP}"]'))
    )
    assert daemon.config_store.reload()
    held = sync(daemon)
    assert held.status == "held" and " disable (threshold 2, at most 2)" in held.message
    assert held.counts["plan"]["contoso"]["disable"] > 2


class FailingSecondPage(FakeTenant):
    """Graph throttles every request for the second page of users, until told otherwise."""

    failing = False

    def _graph(self, request: httpx.Request) -> httpx.Response:
        if self.failing and "skiptoken" in str(request.url):
            return httpx.Response(429, headers={"Retry-After": "0"}, json={"error": {}})
        return super()._graph(request)


LEAVERS_NOW = '[lifecycle]\non_removed = "disable_login"\ngrace_days = 0\n'


@pytest.mark.parametrize("thresholds", ["disable = 0", ""])
def test_an_incomplete_read_never_counts_users_as_leaving(tmp_path: Path, thresholds: str) -> None:
    """Throttled on its second page, the read fails: nobody leaves, held or not, even with
    leavers acted on at once."""
    directory = FailingSecondPage(page_size=5)
    from azsyncd.demo.directory import populate

    populate(directory, users=12)
    daemon = held_daemon(tmp_path, directory, thresholds + "\n" + LEAVERS_NOW)
    first = sync(daemon).counts["new"]
    directory.expired_tokens.update(f"v{v}" for v in range(100))  # force a full read
    directory.failing = True
    run = sync(daemon)
    assert run.status == "failed" and run.counts["removed"] == run.counts["left"] == 0
    assert "plan" not in run.counts and Contact.select().count() == first
    assert Contact.select().where(Contact.login_enabled == False).count() == 0  # noqa: E712
    known = LifecycleState(daemon.state.db).leavers("contoso").values()
    assert not [row for row in known if row.gone_since or row.acted]  # nobody seen leaving
    assert not [r for r in daemon.state.records(run.id) if r.type == "Leaver"]
    # The same read, complete, is held for its leavers (or acts on them, unguarded).
    directory.failing = False
    directory.remove_user(next(iter(directory.users)))
    after = sync(daemon)
    assert after.counts["removed"] == 1
    if thresholds:
        assert after.status == "held" and after.counts["plan"]["contoso"]["disable"] == 1
    else:
        assert after.counts["left"] == 1


@pytest.mark.parametrize(
    ("value", "complaint"),
    [('"x"', "is not a threshold"), ('"150%"', "is not a threshold"), ("-1", "is not a threshold")],
)
def test_a_bad_threshold_names_the_fix(value: str, complaint: str) -> None:
    import tomllib

    from pydantic import ValidationError

    with pytest.raises(ValidationError) as found:
        Config.model_validate(tomllib.loads(f"[sync.thresholds]\ncreate = {value}\n"))
    assert complaint in str(found.value) and '"10%"' in str(found.value)


def test_a_percentage_is_of_the_tenant_s_contacts() -> None:
    thresholds = Config.model_validate({"sync": {"thresholds": {"update": "10%"}}}).sync.thresholds
    assert thresholds.limit("update", 95) == 9 and thresholds.limit("create", 95) is None
    assert not Config().sync.thresholds.active


def test_each_planned_change_counts_once_toward_its_threshold_and_moves_the_digest() -> None:
    from azsyncd.sync.step import StepPlan

    plan = StepPlan("leavers")
    for user in ("u1", "u2", "u3"):
        plan.change("disable", ["contoso", user, "off"])
    plan.change("", ["contoso", "u4", "on"])  # no threshold counts a login given back
    plan.change("group_changes", ["contoso", "u1", "Leavers", "+"])
    assert plan.counts == {"disable": 3, "group_changes": 1}
    before = plan.digest.hexdigest()
    plan.change("group_changes", ["contoso", "u4", "Leavers", "-"])
    assert plan.digest.hexdigest() != before


def test_a_newer_held_run_supersedes_the_older_one(tmp_path: Path) -> None:
    daemon = held_daemon(tmp_path, contoso(users=6), "create = 1")
    first, second = sync(daemon), sync(daemon)
    assert second.status == "held"
    older = daemon.state.run(first.id)
    assert older is not None and older.status == "superseded"
    assert f"run {second.id} holds a newer plan" in older.message
    refused = TestClient(create_app(daemon)).post(f"/v1/runs/{first.id}/approve", json={})
    assert refused.status_code == 409 and Contact.select().count() == 0


def planned_writes(users: range, email: str = "{}@contoso.example") -> list[Any]:
    from azsyncd.sync.planner import Action, ActionKind
    from azsyncd.targets.base import ContactWrite, Phone

    return [
        Action(
            ActionKind.CREATE,
            "contoso",
            f"user-{i:07d}",
            email.format(i),
            write=ContactWrite(
                email.format(i),
                f"Person Number {i}",
                [Phone("m", f"+1 555 {i:07d}")],
                {"Department": "Customer Success", "Office": f"Building {i % 40}"},
            ),
            changes=[f'Department: "" -> "Customer Success" ({i})'],
        )
        for i in users
    ]


class Collected:
    def __init__(self) -> None:
        self.actions: list[Any] = []
        self.sizes: list[int] = []

    def begin_tenant(self, name: str, label: str) -> None:
        pass

    def apply(self, actions: list[Any]) -> None:
        self.actions.extend(actions)
        self.sizes.append(len(actions))

    def drain(self) -> None:
        pass


def kept_by(build: Any) -> tuple[int, Any]:
    """The bytes that ``build()`` allocates and still holds once it returns, and its result."""
    import gc
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        built = build()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - base, built
    finally:
        tracemalloc.stop()


def test_a_guarded_plan_waits_in_a_file_not_in_memory_and_comes_back_whole() -> None:
    from azsyncd.sync.held import PlanBuffer

    users, chunk = 20_000, 500

    def planned() -> PlanBuffer:
        buffer = PlanBuffer()
        buffer.begin_tenant("contoso", "Contoso")
        for start in range(0, users, chunk):
            buffer.apply(planned_writes(range(start, start + chunk)))
        return buffer

    in_memory, _ = kept_by(lambda: planned_writes(range(users)))
    kept, buffer = kept_by(planned)
    # Held in memory, 20,000 planned writes take about 25 MB; what stays is the last (at most
    # 2,000) actions, the tally, the disabled users and the digest's sum.
    assert kept < in_memory / 5, f"{kept / 1e6:.1f} of {in_memory / 1e6:.1f} MB kept"
    assert buffer.tally().counts["new"] == users and len(buffer.actions) == users

    replayed = Collected()
    buffer.replay(replayed)
    assert [a.user_id for a in replayed.actions] == [f"user-{i:07d}" for i in range(users)]
    assert replayed.actions[12_345].write.phones[0].number == "+1 555 0012345"
    assert max(replayed.sizes) <= 1000  # the executor's chunks
    buffer.close()


def test_the_contacts_plan_digest_does_not_depend_on_the_order_but_on_every_change() -> None:
    from azsyncd.sync.step import StepPlan
    from azsyncd.sync.steps.contacts import counted

    def digested(*parts: list[Any]) -> str:
        plan = StepPlan("contacts")
        for part in parts:
            for action in part:
                counted(plan, action)
        return plan.digest.hexdigest()

    forwards = digested(*(planned_writes(range(s, s + 500)) for s in range(0, 5000, 500)))
    backwards = digested(*(planned_writes(range(s, s + 500)) for s in range(4500, -1, -500)))
    moved = digested(planned_writes(range(5000), "{}@fabrikam.example"))
    assert forwards == backwards != moved
