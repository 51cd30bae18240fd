"""What every screen looks like, at 80x24 and 120x40 (pytest-textual-snapshot)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.tui.canned_daemon import canned_client
from tui.app import AzsyncApp

TABS = ["1", "2", "3", "4", "5", "6", "7"]


def app() -> AzsyncApp:
    return AzsyncApp(client=canned_client())


def settle(key: str) -> Any:
    """Open the tab, then wait until the screen stops changing: a busy machine delays the
    workers that fill it, so no fixed pause is long enough."""

    async def run_before(pilot: Any) -> None:
        await pilot.press(key)
        previous, stable = None, 0
        deadline = time.monotonic() + 30
        while stable < 3 and time.monotonic() < deadline:
            await pilot.app.workers.wait_for_complete()
            pilot.app.screen.set_focus(None)  # no blinking cursor in the picture
            await pilot.pause(0.05)
            shot = pilot.app.export_screenshot()
            stable = stable + 1 if shot == previous else 0
            previous = shot

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("tab", TABS)
def test_screen(snap_compare: Any, tab: str, size: tuple[int, int]) -> None:
    assert snap_compare(app(), terminal_size=size, run_before=settle(tab))
