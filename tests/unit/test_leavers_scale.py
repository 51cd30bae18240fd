"""Leavers at scale: a full read's leavers come from a join in the state database (the mirror
against the run's seen users), and the leavers' step looks up only the contacts it names.
Nothing on the way holds a set of every user read or every contact written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from azsyncd.state import lifecycle
from azsyncd.state.lifecycle import LifecycleState, Managed, RunMatch
from azsyncd.state.models import DeltaLink
from azsyncd.sync import leavers, read
from azsyncd.targets.local.table import Contact
from tests.engine_setup import make_daemon, sync
from tests.fakes.directory import contoso

USERS = 1000
ON = '[lifecycle]\non_removed = "disable_login"\ngrace_days = 0\n'


class Watched:
    """What the leavers' step asked of the state database, and what it kept across chunks."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, db: Any) -> None:
        self.lookups: list[int] = []  # ids asked for in each contact lookup
        self.unseen: set[str] = set()
        self.kept = 0  # users of the read kept for the leavers' step, over all chunks
        self.planned: list[int] = []  # contacts handed to the plan
        self.mirror_reads: list[str] = []  # every statement that reads the mirror
        managed, unseen = LifecycleState.managed, LifecycleState.unseen_managed
        noted, plan = leavers.noted, leavers.plan

        def spy_managed(
            state: LifecycleState, tenant: str, ids: Any, run_id: int
        ) -> dict[str, Managed]:
            ids = list(ids)
            self.lookups.append(len(ids))
            return managed(state, tenant, ids, run_id)

        def spy_unseen(state: LifecycleState, run_id: int, tenant: str) -> dict[str, Managed]:
            found = unseen(state, run_id, tenant)
            self.unseen |= set(found)
            return found

        def spy_noted(users: Any, known: Any) -> dict[str, bool]:
            found = noted(users, known)
            self.kept += len(found)
            return found

        def spy_plan(*args: Any) -> Any:
            self.planned.append(len(args[2]))
            return plan(*args)

        execute = db.execute_sql

        def spy_sql(sql: str, *args: Any, **kwargs: Any) -> Any:
            if sql.lstrip().upper().startswith("SELECT") and '"contact_binding"' in sql:
                self.mirror_reads.append(sql)
            return execute(sql, *args, **kwargs)

        monkeypatch.setattr(LifecycleState, "managed", spy_managed)
        monkeypatch.setattr(LifecycleState, "unseen_managed", spy_unseen)
        monkeypatch.setattr(leavers, "noted", spy_noted)
        monkeypatch.setattr(leavers, "plan", spy_plan)
        monkeypatch.setattr(db, "execute_sql", spy_sql)


def test_one_percent_leavers_of_a_full_read_come_from_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(read, "CHUNK", 100)  # the read spans ten chunks
    directory = contoso(users=USERS)
    daemon = make_daemon(tmp_path, directory, skip_empty=True, extra=ON)
    sync(daemon)
    disabled = sum(1 for u in directory.users.values() if u.get("accountEnabled") is False)
    written = {c.source_object_id for c in Contact.select() if c.login_enabled}
    gone = sorted(written)[:: len(written) // 10][:10]  # 1%, spread over the chunks
    for object_id in gone:
        directory.remove_user(object_id)
    DeltaLink.delete().execute()  # a full read: leavers are those it does not bring
    watched = Watched(monkeypatch, daemon.state.db)

    run = sync(daemon)

    assert run.counts["left"] == 10 and run.counts["removed"] == 10
    off = {c.source_object_id for c in Contact.select().where(Contact.login_enabled == False)}  # noqa: E712
    assert set(gone) <= off
    assert watched.unseen == set(gone)  # the join named exactly the users who left
    # Kept across chunks: the disabled accounts read (and known leavers), not the read.
    assert watched.kept <= disabled < USERS // 10
    # Looked up by id: only those, never the tenant's every contact.
    assert sum(watched.lookups) <= disabled and len(watched.planned) == 1
    assert 10 <= watched.planned[0] <= 10 + sum(watched.lookups)
    # Every read of the mirror is bounded: by ids, by a page, or the join itself.
    assert watched.mirror_reads
    unbounded = [
        sql for sql in watched.mirror_reads if not any(k in sql for k in (" IN (", "LIMIT"))
    ]
    assert unbounded == []


def test_a_delta_read_looks_up_only_the_users_it_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = contoso(users=200)
    daemon = make_daemon(tmp_path, directory, skip_empty=True, extra=ON)
    sync(daemon)
    leaving = next(c.source_object_id for c in Contact.select() if c.login_enabled)
    directory.remove_user(leaving)
    known = len(LifecycleState(daemon.state.db).all_leavers())  # disabled, kept under "keep"
    watched = Watched(monkeypatch, daemon.state.db)

    run = sync(daemon)  # over the delta link: one removal

    assert run.counts["left"] == 1
    assert watched.unseen == set()  # no join: the delta names its removals
    assert watched.kept == 0  # the delta brought no user the step needs
    assert watched.lookups == [known + 1] and 1 <= watched.planned[0] <= known + 1


def test_rule_groups_are_judged_a_page_of_contacts_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lifecycle, "PAGE", 40)
    pages: list[int] = []
    managed_pages = LifecycleState.managed_pages

    def spy(state: LifecycleState, tenant: str, run_id: int) -> Iterator[dict[str, Managed]]:
        for page in managed_pages(state, tenant, run_id):
            pages.append(len(page))
            yield page

    monkeypatch.setattr(LifecycleState, "managed_pages", spy)
    directory = contoso(users=300)
    rule = '[[contact_groups]]\ngroup = "Sales desk"\nwhen = \'department starts with "sal"\'\n'
    daemon = make_daemon(tmp_path, directory, skip_empty=True, extra=rule)
    first = sync(daemon)
    sales = {
        c.email
        for c in Contact.select()
        if directory.users[c.source_object_id]["department"] == "Sales"
    }
    assert sales and {c.email for c in Contact.select() if "Sales desk" in c.groups} == sales
    assert first.counts["grouped"] == len(sales)
    assert len(pages) > 5 and max(pages) <= 40  # every contact, a page at a time
    assert sum(pages) == Contact.select().count()
    assert RunMatch.select().count() == 0  # the matches left with the run
    mover = next(c for c in Contact.select() if c.email in sales)
    directory.update_user(mover.source_object_id, department="Legal")
    again = sync(daemon)
    assert again.counts["ungrouped"] == 1 and again.counts["grouped"] == 0
    assert Contact.get(Contact.email == mover.email).groups == {}
