"""The preview is the next full run, run dry: it plans what that run plans, step by step,
and writes nothing.

Hypothesis draws two tenants (some addresses in both), a starting configuration, directory
changes and a change to preview (a scope, leaver settings, a contact-group rule, a mapping
change, or several). The preview's plan of each step (its digest) and its counts must be
those of the full run made right after the change is saved. Then: a preview leaves every
table of the state database (the built-in store's contacts included) as it was; it reads
in full even when a delta link is stored; and a sync that starts while a preview runs does
not drop the preview's bookkeeping.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from azsyncd.service.api.routes_preview import preview_of
from azsyncd.service.daemon import Daemon
from azsyncd.state.lifecycle import LifecycleState, RunMatch
from azsyncd.state.models import RunClaim, RunSeen
from azsyncd.state.repository import Claim
from azsyncd.sync.preview import Preview
from tests.engine_setup import make_daemon, sync, tenant_toml
from tests.fakes.directory import FakeTenant, contoso
from tests.unit.test_pipeline_properties import DEPARTMENTS, FABRIKAM, play, user

Edit = Callable[[dict[str, Any]], None]
RULE = {"group": "Support desk", "when": 'department starts with "sup"'}


def preview(daemon: Daemon, *edits: Edit) -> Preview:
    """What POST /v1/preview computes for these edits of the config, in process."""

    def edit(document: dict[str, Any]) -> None:
        for one in edits:
            one(document)

    return preview_of(daemon, daemon.config_store.candidate(edit))


def save(daemon: Daemon, *edits: Edit) -> None:
    for one in edits:
        daemon.config_store.update(one)


def scope(*include: str, exclude: tuple[str, ...] = ()) -> Edit:
    return lambda d: d.update(scope={"include": list(include), "exclude": list(exclude)})


def lifecycle(**values: Any) -> Edit:
    return lambda d: d.setdefault("lifecycle", {}).update(values)


def rule(d: dict[str, Any]) -> None:
    d["contact_groups"] = [*d.get("contact_groups", []), RULE]


def upper_department(d: dict[str, Any]) -> None:
    d["mapping"]["custom_fields"]["Department"] = "upper(department)"


def kept_department(d: dict[str, Any]) -> None:
    rule = {"value": "upper(department)", "apply": "on_create"}
    d["mapping"]["custom_fields"]["Department"] = rule


CHANGES: dict[str, Edit] = {
    "sales only": scope('department = "Sales"'),
    "no disabled": scope(exclude=("accountEnabled = false",)),
    "leavers off now": lifecycle(on_removed="disable_login", on_disabled="disable_login"),
    "leavers kept": lifecycle(on_removed="keep", on_disabled="keep"),
    "rule": rule,
    "upper department": upper_department,
    "department on create": kept_department,
}


@dataclass
class Script:
    users: list[tuple[bool, str]]
    shared: list[int]
    on_removed: str
    rule: bool
    changes: list[tuple[str, int, str]] = field(default_factory=list)  # after the first run
    edits: list[str] = field(default_factory=list)  # the change previewed, then saved


scripts = st.builds(
    Script,
    users=st.lists(st.tuples(st.booleans(), st.sampled_from(DEPARTMENTS)), min_size=2, max_size=6),
    shared=st.lists(st.integers(0, 5), max_size=2, unique=True),
    on_removed=st.sampled_from(["keep", "disable_login"]),
    rule=st.booleans(),
    changes=st.lists(
        st.tuples(
            st.sampled_from(["disable", "enable", "remove", "department", "address", "hire"]),
            st.integers(0, 7),
            st.sampled_from(DEPARTMENTS),
        ),
        max_size=4,
    ),
    edits=st.lists(st.sampled_from(sorted(CHANGES)), min_size=1, max_size=3, unique=True),
)


def directories(script: Script) -> tuple[FakeTenant, FakeTenant]:
    contoso_ = FakeTenant()
    fabrikam = FakeTenant(
        *FABRIKAM, login="https://login.fabrikam.test", graph="https://graph.fabrikam.test"
    )
    for i, (enabled, department) in enumerate(script.users):
        contoso_.add_user(user(i, "contoso", enabled, department))
    fabrikam.add_user(user(0, "fabrikam", True, "Sales"))
    for i in script.shared:
        if i < len(script.users):
            fabrikam.add_user(user(10 + i, "fabrikam", True, "Support", f"p{i}@contoso.example"))
    return contoso_, fabrikam


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scripts)
def test_a_preview_plans_what_the_next_full_run_does(script: Script) -> None:
    contoso_, fabrikam = directories(script)
    tenants = tenant_toml() + tenant_toml(
        "fabrikam", tenant_id=FABRIKAM[1], login=fabrikam.login, graph=fabrikam.graph
    )
    extra = f'\n[lifecycle]\non_removed = "{script.on_removed}"\ngrace_days = 0\n'
    if script.rule:
        extra += '\n[[contact_groups]]\ngroup = "Sales desk"\nwhen = \'department = "Sales"\'\n'
    with tempfile.TemporaryDirectory() as home:
        daemon = make_daemon(
            Path(home), contoso_, fabrikam, tenants_toml=tenants, skip_empty=True, extra=extra
        )
        try:
            sync(daemon)
            for what, i, department in script.changes:
                play(contoso_, what, i, department)
            edits = [CHANGES[name] for name in script.edits]
            found = preview(daemon, *edits)
            save(daemon, *edits)
            run = sync(daemon, full=True)
        finally:
            daemon.state.close()
    assert found.digests == run.counts["steps"], "the preview plans another run"
    counts = found.counts
    assert counts["create"] == run.counts["new"]
    assert counts["update"] == run.counts["updated"]
    assert counts["unchanged"] == run.counts["unchanged"]
    assert counts["fail"] == run.counts["failed"]
    assert counts["out_of_scope"] == run.counts["skipped"]
    assert counts["returned"] == run.counts["returned"] + run.counts["failed_returned"]
    if script.on_removed == "disable_login" or "leavers off now" in script.edits:
        assert counts["leaver"] >= run.counts["left"] + run.counts["failed_left"]


def dump(database: Path) -> list[str]:
    """Every row of every table, as SQL text."""
    with sqlite3.connect(database) as connection:
        return list(connection.iterdump())


def test_a_preview_writes_nothing(tmp_path: Path) -> None:
    directory = contoso(users=40)
    daemon = make_daemon(
        tmp_path,
        directory,
        skip_empty=True,
        extra='[lifecycle]\non_removed = "disable_login"\ngrace_days = 0\n'
        '[[contact_groups]]\ngroup = "Sales desk"\nwhen = \'department = "Sales"\'\n',
    )
    sync(daemon)
    gone = next(iter(directory.users))
    directory.remove_user(gone)  # a leaver, planned and not acted on
    config = (tmp_path / "azsyncd.toml").read_text()
    before = dump(tmp_path / "state" / "state.db")
    found = preview(
        daemon,
        scope("has license"),
        upper_department,
        lambda d: d["contact_groups"].append(RULE),
    )
    counts = found.counts
    assert counts["update"] and counts["leaver"] > 1 and counts["group_change"]
    assert counts["out_of_scope"] and found.sample
    assert dump(tmp_path / "state" / "state.db") == before  # no run, record, row or contact
    assert (tmp_path / "azsyncd.toml").read_text() == config
    daemon.state.close()


def test_a_change_of_leaver_settings_is_previewed_from_a_full_read(tmp_path: Path) -> None:
    directory = contoso(users=30)
    daemon = make_daemon(tmp_path, directory, skip_empty=True)
    first = sync(daemon)
    assert sync(daemon).counts["tenants"]["contoso"]["read"] == "delta"  # a link is stored
    found = preview(daemon, lifecycle(on_removed="disable_login"))
    in_scope = first.counts["new"] + first.counts["failed"]
    assert found.tenants[0].users == 30
    assert found.counts["unchanged"] + found.counts["fail"] == in_scope
    daemon.state.close()


def test_a_sync_starting_during_a_preview_keeps_its_bookkeeping(tmp_path: Path) -> None:
    daemon = make_daemon(tmp_path, contoso(users=5))
    state, lifecycle_ = daemon.state, LifecycleState(daemon.state.db)
    preview_id = -12345
    for run in (preview_id, 7):
        state.see_users(run, "contoso", ["a", "b"])
        state.claim(run, {f"x{run}@contoso.example": Claim("contoso", "a", "a@contoso", True)})
        lifecycle_.note_matches(run, "contoso", [("a", "Sales desk")])
    state.forget_dead_runs_users(8)  # run 8 starts; run 7 died
    for table in (RunSeen, RunClaim, RunMatch):
        assert {row.run for row in table.select()} == {preview_id}
    state.forget_previews()  # the next preview starts
    for table in (RunSeen, RunClaim, RunMatch):
        assert table.select().count() == 0
    daemon.state.close()


def test_directory_text_in_a_preview_is_inert(tmp_path: Path) -> None:
    directory = contoso(users=3)
    trap = "\x1b]0;owned\x07\x1b[2J"
    for i, principal in enumerate((f"trap0{trap}@contoso.example", "eve1@contoso.example")):
        directory.add_user(
            {
                **user(30 + i, "contoso", True, "Sales"),
                "userPrincipalName": principal,  # the address: the first fails, naming it
                "givenName": f"Eve{trap}",
                "displayName": f"Eve{trap}",
            }
        )
    daemon = make_daemon(tmp_path, directory, skip_empty=True)
    found = preview(daemon, upper_department).as_dict()
    daemon.state.close()
    assert found["counts"]["create"] and found["counts"]["fail"]
    shown = [str(v) for v in _strings(found)]
    assert any("Eve" in text for text in shown) and any("trap0" in text for text in shown)
    assert not [text for text in shown if any(ord(c) < 32 or ord(c) == 127 for c in text)]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []
