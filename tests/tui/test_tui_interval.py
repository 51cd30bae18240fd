"""The Settings tab edits the incremental interval; the Sync tab shows the next tick."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Static, Switch

from tests.tui.tui_daemon import live_daemon
from tui.app import AzsyncApp

pytestmark = pytest.mark.slow


async def until(pilot: Any, check: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the screen never showed what was expected"
        await pilot.pause(0.05)


def test_set_the_interval_in_settings_and_see_the_next_tick(tmp_path: Path) -> None:
    with live_daemon(tmp_path) as live:
        app = AzsyncApp(socket=str(live.socket))

        async def scenario(pilot: Any) -> None:
            await pilot.press("5")
            interval = app.query_one("#interval", Input)
            await until(pilot, lambda: app.query_one("#time", Input).value == "00:00")
            interval.value = "5 minutes"
            await pilot.press("ctrl+s")
            errors = app.query_one("#settings-errors", Static)
            await until(pilot, lambda: "schedule.interval" in str(errors.render()))
            assert 'did you mean "5m"?' in str(errors.render())
            assert live.daemon.config.schedule.interval == ""  # nothing was saved
            interval.value = "5m"
            app.query_one("#enabled", Switch).value = True
            await pilot.press("ctrl+s")
            await until(pilot, lambda: live.daemon.config.schedule.interval == "5m")
            await pilot.press("1")
            status = app.query_one("#status-text", Static)
            await until(
                pilot, lambda: "Incremental: every 5m   next tick: " in str(status.render())
            )

        async def run() -> None:
            async with app.run_test(size=(80, 24)) as pilot:
                await scenario(pilot)

        asyncio.run(run())
        assert 'interval = "5m"' in live.config.read_text()
