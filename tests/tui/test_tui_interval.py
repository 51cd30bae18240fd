"""The Settings tab edits the incremental interval; the Sync tab shows the next tick."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.tui.driving import drive, settle, text, until
from tests.tui.tui_daemon import live_daemon
from tui.app import AzsyncApp
from tui.widgets.fields import OnOff, Row

pytestmark = pytest.mark.slow


def test_set_the_interval_in_settings_and_see_the_next_tick(tmp_path: Path) -> None:
    with live_daemon(tmp_path) as live:
        app = AzsyncApp(socket=str(live.socket))

        async def scenario(pilot: Pilot[Any]) -> None:
            await pilot.press("5")
            await settle(pilot)
            settings = app.query_one("#settings-panel")
            interval = settings.query_one("#interval", Input)
            interval.value = "5 minutes"
            await pilot.press("ctrl+s")
            row = settings.query_one("#row-interval", Row)
            error = row.query_one(".field-error")
            await until(pilot, lambda: 'did you mean "5m"?' in text(error), what="the error")
            assert live.daemon.config.schedule.interval == ""  # nothing was saved
            interval.value = "5m"
            settings.query_one("#enabled", OnOff).value = True
            await pilot.press("ctrl+s")
            await until(pilot, lambda: live.daemon.config.schedule.interval == "5m")
            await settle(pilot)
            await pilot.press("escape", "1")
            await until(
                pilot,
                lambda: (
                    "Incremental: every 5m   next tick: " in text(app.query_one("#status-text"))
                ),
                what="the next tick",
            )

        drive(app, scenario)
        assert 'interval = "5m"' in live.config.read_text()
