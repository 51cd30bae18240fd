"""The admin's whole toolbox (issue 24, point 5): check a user, thresholds, full sync.
One live daemon on a real Unix socket for the module, its tests in this order: the checks
write nothing, the thresholds change the file, the full sync writes contacts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from azsyncd.targets.local.table import Contact
from tests.helpers import within
from tests.tui.driving import answer, drive, on_screen, settle, text, until
from tests.tui.tui_daemon import LiveDaemon, module_daemon
from tui.app import AzsyncApp
from tui.screens.check_user import CheckUserScreen
from tui.screens.confirm import ConfirmScreen

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDaemon]:
    # 30 users, 24 names: users 0 and 24 are both called Anna Andersson.
    with module_daemon(tmp_path_factory, users=30) as daemon:
        yield daemon


def test_check_a_user_shows_the_trace_and_writes_nothing(live: LiveDaemon) -> None:
    user = live.directory.users["00000000-0000-4000-a000-000000000010"]
    app = AzsyncApp(socket=str(live.socket))

    async def check(pilot: Pilot[Any], who: str, shown: str) -> str:
        screen = app.screen
        assert isinstance(screen, CheckUserScreen)
        field = screen.query_one("#who", Input)
        field.value = who
        screen.set_focus(field)
        await pilot.press("enter")
        trace = screen.query_one("#trace-text")
        await until(pilot, lambda: shown in text(trace), what=shown, timeout=60)
        return text(trace)

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("u")
        await until(pilot, lambda: on_screen(app, CheckUserScreen), what="the dialog")
        await settle(pilot)
        trace = await check(pilot, user["displayName"], "5. result")
        for step in ("1. fetched: " + user["userPrincipalName"], "2. scope: all users"):
            assert step in trace
        assert f"3. mapped: email {user['userPrincipalName']}" in trace
        assert "4. action: create" in trace and "contoso: Success" in trace
        assert "Would create" in trace
        trace = await check(pilot, "Anna Andersson", "2 users are named")
        assert "give the address or the object id" in trace
        trace = await check(pilot, "nobody@contoso.example", "no user nobody@contoso.example")
        await pilot.press("escape")
        await until(pilot, lambda: not app.screen.is_modal)

    drive(app, scenario)
    with live.daemon.state.db.bind_ctx([Contact]):  # this daemon's store, whatever ran before
        assert Contact.select().count() == 0  # dry runs only
    assert all(r.dry_run for r in live.daemon.state.runs(10, 0))


def test_thresholds_are_edited_in_settings(live: LiveDaemon) -> None:
    app = AzsyncApp(socket=str(live.socket))

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("5")
        await settle(pilot)
        settings = app.query_one("#settings-panel")
        settings.query_one("#threshold-create", Input).value = "25"
        settings.query_one("#threshold-update", Input).value = "10%"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: live.daemon.config.sync.thresholds.create == 25, what="saved")
        assert live.daemon.config.sync.thresholds.update == "10%"
        settings.query_one("#threshold-update", Input).value = ""  # no limit again
        await pilot.press("ctrl+s")
        await until(pilot, lambda: live.daemon.config.sync.thresholds.update is None)
        assert live.daemon.config.sync.thresholds.create == 25

    drive(app, scenario)


def test_full_sync_asks_first_then_reads_and_compares_everything(live: LiveDaemon) -> None:
    before = len(live.daemon.state.runs(100, 0))
    app = AzsyncApp(socket=str(live.socket))

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("f")
        await until(pilot, lambda: on_screen(app, ConfirmScreen), what="the question")
        assert "Full sync now?" in text(app.screen.query_one("#question"))
        await answer(pilot, "n")
        await settle(pilot)
        assert len(live.daemon.state.runs(100, 0)) == before
        await pilot.press("f")
        await answer(pilot, "y")
        await until(pilot, lambda: len(live.daemon.state.runs(100, 0)) == before + 1)

    drive(app, scenario)
    live.daemon.runner.wait(within(60))
    run = live.daemon.state.runs(1, 0)[0]
    assert run.options.get("full") is True and not run.dry_run
