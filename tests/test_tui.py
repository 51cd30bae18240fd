"""The TUI driven with Textual's Pilot against a real daemon on a temporary socket."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from tests.helpers import running_daemon, short_dir
from tui.app import AzsyncApp

pytestmark = pytest.mark.slow

TENANT = """
[[tenants]]
name = "contoso"
tenant_id = "contoso.onmicrosoft.com"
client_id = "11111111-2222-3333-4444-555555555555"
auth = "device_code"
"""


async def until(pilot, check: Callable[[], bool], timeout: float = 15) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        await pilot.pause(0.1)
    raise AssertionError("the screen never showed what was expected")


def text_of(app: AzsyncApp, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


def test_status_tenants_sync_and_reconnect(tmp_path: Path) -> None:
    config = tmp_path / "azsyncd.toml"
    config.write_text('[account]\nname = "Pilot Desk"\n' + TENANT)
    sock = short_dir() / "azsyncd.sock"

    async def scenario() -> None:
        with running_daemon(config, socket_path=sock) as daemon:
            app = AzsyncApp(socket=str(sock))
            async with app.run_test(size=(80, 24)) as pilot:
                await until(pilot, lambda: "Pilot Desk" in text_of(app, "#status-text"))
                assert "Contact sync: off" in text_of(app, "#status-text")
                tenants = app.query_one("#tenant-table", DataTable)
                await until(pilot, lambda: tenants.row_count == 1)
                assert tenants.get_row_at(0)[0] == "contoso"

                await pilot.press("s")
                await until(pilot, lambda: "Last sync: run 1" in text_of(app, "#status-text"))

                daemon.stop()
                await until(pilot, lambda: "azsyncd is not running" in text_of(app, "#banner"))
                assert app.query_one("#banner").has_class("shown")

                with running_daemon(config, socket_path=sock):
                    await until(pilot, lambda: not app.query_one("#banner").has_class("shown"))
                    assert "Pilot Desk" in text_of(app, "#status-text")

    asyncio.run(scenario())
