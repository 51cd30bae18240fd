"""Leavers end to end: the engine on the simulated directory, over HTTP to the fake HappyFox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from azsyncd.service.daemon import Daemon
from azsyncd.state.models import DeltaLink
from tests.contract.test_engine_happyfox import happyfox_daemon
from tests.engine_setup import sync
from tests.fakes.directory import FakeTenant, contoso
from tests.fakes.happyfox import FakeHappyFox

LEFT = "Left Microsoft Entra ID: Contoso"
ANN = "00000000-0000-4000-a000-000000000000"


class Days:
    """The daemon's clock, moved on by whole days."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def pass_days(self, days: float) -> None:
        self.now += timedelta(days=days)


def leaver_daemon(
    tmp_path: Path, url: str, directory: FakeTenant, lifecycle: str, days: Days
) -> Daemon:
    daemon = happyfox_daemon(tmp_path, url, directory)
    config = tmp_path / "azsyncd.toml"
    config.write_text(config.read_text() + "\n[lifecycle]\n" + lifecycle)
    daemon.config_store.reload()
    daemon.clock = days
    return daemon


def started(
    tmp_path: Path, happyfox: tuple[FakeHappyFox, str], lifecycle: str, users: int = 10
) -> tuple[FakeHappyFox, FakeTenant, Days, Daemon]:
    """The fake HappyFox, a directory, the clock and a daemon that has synced once."""
    fake, url = happyfox
    directory = contoso(users=users)
    days = Days()
    daemon = leaver_daemon(tmp_path, url, directory, lifecycle, days)
    sync(daemon)
    return fake, directory, days, daemon


def contact(fake: FakeHappyFox, email: str) -> dict[str, Any]:
    return fake.by_email[email]


def records(daemon: Daemon, run_id: int, kind: str) -> list[Any]:
    return [r for r in daemon.state.records(run_id) if r.type == kind]


def test_removed_user_waits_out_grace_then_loses_login_and_comes_back(
    tmp_path: Path, happyfox: tuple[FakeHappyFox, str]
) -> None:
    fake, directory, days, daemon = started(
        tmp_path, happyfox, 'on_removed = "disable_login"\ngrace_days = 3\n', users=30
    )
    ann_email = "anna.andersson0@contoso.example"
    ann = contact(fake, ann_email)
    ann["custom"][4] = "Agent note: VIP"  # a field azsync does not map
    saved = dict(directory.users[ANN])
    directory.remove_user(ANN)

    inside_grace = sync(daemon)
    assert inside_grace.counts["removed"] == 1 and inside_grace.counts["left"] == 0
    assert ann["login"] is True and fake.group(LEFT) == {}
    days.pass_days(2.9)
    assert sync(daemon).counts["left"] == 0 and ann["login"] is True  # delta: nothing new

    days.pass_days(0.2)
    acted = sync(daemon)
    assert acted.counts["left"] == 1 and ann["login"] is False
    assert fake.group(LEFT) == {ann["id"]: False}
    assert ann["custom"][4] == "Agent note: VIP"  # HappyFox's reset did not wipe it
    (row,) = records(daemon, acted.id, "Leaver")
    assert (
        row.status == "success"
        and "grace passed" in row.result
        and "Login turned off" in row.result
    )
    others = [c for c in fake.contacts.values() if c["id"] != ann["id"]]
    assert all(c["login"] for c in others)  # nobody else touched
    assert sync(daemon).counts["left"] == 0  # acted once, not again

    directory.add_user(saved)  # restored from deleted items
    back = sync(daemon)
    assert back.counts["returned"] == 1 and ann["login"] is True and fake.group(LEFT) == {}
    (row,) = records(daemon, back.id, "Returned")
    assert "back in Entra ID" in row.result


def test_a_user_restored_within_grace_is_never_touched(
    tmp_path: Path, happyfox: tuple[FakeHappyFox, str]
) -> None:
    fake, directory, days, daemon = started(tmp_path, happyfox, 'on_removed = "disable_login"\n')
    saved = dict(directory.users[ANN])
    directory.remove_user(ANN)
    sync(daemon)
    days.pass_days(1)
    directory.add_user(saved)
    sync(daemon)
    days.pass_days(10)
    run = sync(daemon)
    assert run.counts["left"] == run.counts["returned"] == 0
    assert fake.by_email["anna.andersson0@contoso.example"]["login"] is True
    assert LEFT not in [g["name"] for g in fake.groups.values()]


def test_disabled_account_acted_on_at_once_and_re_enabled(
    tmp_path: Path, happyfox: tuple[FakeHappyFox, str]
) -> None:
    fake, directory, _, daemon = started(tmp_path, happyfox, 'on_disabled = "disable_login"\n')
    ann = contact(fake, "anna.andersson0@contoso.example")
    directory.update_user(ANN, accountEnabled=False)
    run = sync(daemon)  # no grace for a disabled account
    assert run.counts["left"] == 1 and ann["login"] is False and ann["id"] in fake.group(LEFT)
    (row,) = records(daemon, run.id, "Leaver")
    assert row.result.endswith("account disabled in Entra ID")
    directory.update_user(ANN, accountEnabled=True)
    run = sync(daemon)
    assert run.counts["returned"] == 1 and ann["login"] is True and fake.group(LEFT) == {}


def test_keep_is_todays_behaviour_and_a_failed_read_acts_on_nobody(
    tmp_path: Path, happyfox: tuple[FakeHappyFox, str]
) -> None:
    fake, directory, days, daemon = started(tmp_path, happyfox, "")
    directory.remove_user(ANN)
    days.pass_days(30)
    run = sync(daemon)
    assert run.counts["removed"] == 1 and run.counts["left"] == 0
    assert all(c["login"] for c in fake.contacts.values()) and LEFT not in str(fake.groups)

    # With disable_login on and no grace, a full read that breaks after its first page must
    # not take the users it never reached for leavers.
    config = tmp_path / "azsyncd.toml"
    config.write_text(config.read_text() + 'on_removed = "disable_login"\ngrace_days = 0\n')
    daemon.config_store.reload()
    DeltaLink.delete().execute()  # the next read is a full one
    directory.page_size = 3
    first_page_only = directory._graph

    def broken(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/users") and "$skiptoken" in request.url.params:
            return httpx.Response(503, headers={"Retry-After": "0"}, json={"error": {}})
        return first_page_only(request)

    directory._graph = broken  # type: ignore[method-assign]
    failed = sync(daemon)
    assert failed.status == "failed" and "reading the directory failed" in failed.message
    assert failed.counts.get("left", 0) == 0 and not records(daemon, failed.id, "Leaver")
    assert all(c["login"] for c in fake.contacts.values()) and LEFT not in str(fake.groups)
