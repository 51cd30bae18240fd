"""Held runs named in the flash line and approved or discarded in the Log tab (each after a
yes), and the Alerts tab. Against a real daemon on a real socket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Select, Static

from tests.tui.driving import answer, drive, on_screen, settle, text, until
from tests.tui.tui_daemon import TENANT, tui_on
from tui.screens.confirm import ConfirmScreen
from tui.widgets.log_panel import LogPanel

pytestmark = pytest.mark.slow


def test_a_held_run_is_approved_after_a_yes_and_another_discarded(tmp_path: Path) -> None:
    extra = TENANT + "\n[sync.thresholds]\ncreate = 3\nupdate = 0\n"
    with tui_on(tmp_path, extra, users=20) as (live, app):
        held = live.sync()
        assert live.daemon.state.run(held).status == "held"  # type: ignore[union-attr]

        async def scenario(pilot: Pilot[Any]) -> None:
            flash = app.query_one("#flash", Static)
            await until(pilot, lambda: f"Run {held} is held" in text(flash), what="the flash")
            assert "[6, then a approves, D discards]" in text(flash) and "create" in text(flash)
            assert f"Run {held} is held" in text(app.query_one("#status-text"))
            await pilot.press("6")
            summary = app.query_one("#summary", Static)
            await until(pilot, lambda: "press a to apply this plan" in text(summary))
            assert app.query_one("#record-table", DataTable).row_count == 20
            await pilot.press("a")
            await until(pilot, lambda: on_screen(app, ConfirmScreen))
            await answer(pilot, "n")  # No: nothing happens
            await settle(pilot)
            assert live.daemon.state.run(held).status == "held"  # type: ignore[union-attr]
            await pilot.press("a")
            await answer(pilot, "y")
            await until(pilot, lambda: f"applied by run {held + 1}" in text(summary), 60)
            assert "press a" not in text(summary)
            await until(pilot, lambda: "is held" not in text(flash), what="the flash gone")
            live.directory.update_user(
                "00000000-0000-4000-a000-000000000000",
                givenName="X",
                displayName="X",
                department="X",
            )
            second = live.sync()
            runs = app.query_one("#run", Select)
            app.query_one(LogPanel).reload()
            await until(pilot, lambda: second in [value for _, value in runs._options])
            await settle(pilot)  # a reload still under way would choose the run it had
            runs.value = second
            await until(pilot, lambda: "press a to apply this plan" in text(summary))
            await pilot.press("D")
            await answer(pilot, "y")
            await until(pilot, lambda: "discarded" in text(summary))
            assert live.daemon.state.run(second).status == "discarded"  # type: ignore[union-attr]

        drive(app, scenario, size=(120, 40))


def test_the_alerts_tab_says_where_alerts_go_and_sends_a_test(tmp_path: Path) -> None:
    from tests.fakes.servers import serve
    from tests.service.test_alerts import Receiver

    hook = Receiver()
    with serve(hook) as port:
        extra = TENANT + f'\n[alerts]\nwebhook_url = "http://127.0.0.1:{port}/hook"\n'
        with tui_on(tmp_path, extra, users=5) as (_, app):

            def said(words: str) -> bool:
                return any(words in str(n.message) for n in app._notifications)

            async def scenario(pilot: Pilot[Any]) -> None:
                await pilot.press("0")
                await settle(pilot)
                channels = text(app.query_one("#alert-channels"))
                assert f"webhook http://127.0.0.1:{port}/hook" in channels
                assert "No alert is open" in text(app.query_one("#alert-text"))
                await pilot.press("t")
                await until(pilot, lambda: said("Test alert: webhook sent"))
                assert [body["event"] for body, _ in hook.posts] == ["test"]

            drive(app, scenario)
