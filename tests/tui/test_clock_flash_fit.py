"""One clock, what needs action in front of the admin, and a screen that fits (issue 24,
points 6, 7 and 8). Against a live daemon on a real Unix socket: its account in a zone 14
hours ahead of UTC, so a time left in UTC cannot pass for a local one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select, Static, TabbedContent, TextArea
from textual.widgets._tabbed_content import ContentTab

from azsyncd.control.client import Client
from azsyncd.demo.run import tenant_toml
from tests.tui.driving import answer, drive, on_screen, settle, text, until, visible
from tests.tui.tui_daemon import TENANT, LiveDaemon, live_daemon
from tui.app import AzsyncApp
from tui.screens.tenant_form import TenantForm

pytestmark = pytest.mark.slow

ZONE = "Pacific/Kiritimati"  # UTC+14: a local time is never the UTC one, and mostly not its day
BROKEN = tenant_toml("broken", secret_file="wrong-secret")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDaemon]:
    """Contoso synced once, into a held run (6 new > threshold 3); "broken" with a wrong
    secret; the account in ZONE."""
    home = tmp_path_factory.mktemp("clock")
    umask = os.umask(0o077)
    try:
        (home / "wrong-secret").write_text("not the secret")
        extra = TENANT + BROKEN + "\n[sync.thresholds]\ncreate = 3\n"
        with live_daemon(home, extra, users=6) as daemon:
            with Client(daemon.socket) as client:
                client.update_settings(account={"timezone": ZONE})
            held = daemon.sync()
            assert daemon.daemon.state.run(held).status == "held"  # type: ignore[union-attr]
            yield daemon
    finally:
        os.umask(umask)


def local(value: datetime | None, width: int = 16) -> str:
    assert value is not None
    return value.astimezone(ZoneInfo(ZONE)).isoformat()[:width].replace("T", " ")


def test_every_time_is_in_the_accounts_zone_and_named_once_a_screen(live: LiveDaemon) -> None:
    run = live.daemon.state.runs(1, 0)[0]
    app = AzsyncApp(socket=str(live.socket))

    async def scenario(pilot: Pilot[Any]) -> None:
        status = app.query_one("#status-text")
        await until(pilot, lambda: "Last sync" in text(status), what="the status")
        assert text(status).count(f"times in {ZONE}") == 1
        assert f"at {local(run.started_at)}" in text(status)

        await pilot.press("6")
        await settle(pilot)
        options = [str(prompt) for prompt, _ in app.query_one("#log-panel #run", Select)._options]
        assert any(o.startswith(f"{run.id}: {local(run.started_at)[5:]} ") for o in options)
        summary = text(app.query_one("#summary"))
        assert f"{local(run.started_at, 19)} (times in {ZONE})" in summary

        await pilot.press("escape", "5")
        await settle(pilot)
        app.query_one("#settings-panel #subject", Input).value = "Hello"
        await pilot.press("ctrl+s")
        form_status = app.query_one("#settings-panel #form-status")
        await until(pilot, lambda: "Saved at" in text(form_status), what="saved")
        saved = re.search(r"Saved at (\d\d:\d\d:\d\d) \(([^)]+)\)", text(form_status))
        assert saved and saved.group(2) == ZONE
        now = datetime.now(ZoneInfo(ZONE))
        shown = datetime.combine(now.date(), datetime.strptime(saved.group(1), "%H:%M:%S").time())
        assert abs((now.replace(tzinfo=None) - shown).total_seconds()) % 86400 < 120

        await pilot.press("escape", "8")
        await settle(pilot)
        assert text(app.query_one("#audit-zone")) == f"times in {ZONE}"
        with Client(live.socket) as client:
            newest = client.audit(1)[0]
        assert str(app.query_one("#audit-table", DataTable).get_row_at(0)[0]) == local(newest.at)

        await pilot.press("2")
        await settle(pilot)
        table = app.query_one("#tenant-table", DataTable)
        contoso = live.daemon.state.tenant("contoso")
        assert str(table.get_row_at(0)[2]) == (
            local(contoso.last_sync_at) if contoso.last_sync_at else "-"
        )
        assert f"times in {ZONE}" in text(app.query_one("#tenant-text"))

    drive(app, scenario, size=(120, 40))


def test_the_flash_line_names_what_needs_action_with_its_keys(live: LiveDaemon) -> None:
    app = AzsyncApp(socket=str(live.socket))
    held = next(r for r in live.daemon.state.runs(10, 0) if r.status == "held")

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("down", "z")
        await answer(pilot, "y")
        flash = app.query_one("#flash", Static)
        await until(pilot, lambda: "Tenant broken disabled" in text(flash), what="the tenant")
        lines = text(flash).splitlines()
        assert any(
            line.startswith(f"{app.marks.error} Run {held.id} is held [6, then a approves, D")
            for line in lines
        ), lines
        assert any("Tenant broken disabled [2, then z authorizes]: " in line for line in lines)
        # One screen line each, cut rather than wrapped, the keys before the reason.
        assert flash.region.height == len(lines) and visible(flash)
        for tab in "1234567890":  # on every tab
            await pilot.press("escape", tab)
            await settle(pilot)
            assert visible(flash) and f"Run {held.id} is held" in text(flash), tab
        # The Sync tab says the same, with the fix.
        await pilot.press("escape", "1")
        await settle(pilot)
        status = text(app.query_one("#status-text"))
        assert re.search(r"Needs your action \(\d\):", status)
        assert f"Run {held.id} is held: " in status
        assert "keys: 2, then z authorizes; fix: " in status

    drive(app, scenario)


def test_every_tab_fits_at_80_columns_and_tables_use_the_full_width(live: LiveDaemon) -> None:
    app = AzsyncApp(socket=str(live.socket))

    async def scenario(pilot: Pilot[Any]) -> None:
        tabs = list(app.query_one(TabbedContent).query(ContentTab))
        assert len(tabs) == 10
        for tab in tabs:
            assert visible(tab) and tab.region.right <= 80, tab.id
        assert [str(t.label)[0] for t in tabs] == list("1234567890")
        for size in ((80, 24), (120, 40)):
            await pilot.resize_terminal(*size)
            await pilot.press("escape", "6")
            await settle(pilot)
            table = app.query_one("#record-table", DataTable)
            widths = sum(c.get_render_width(table) for c in table.ordered_columns)
            room = table.scrollable_content_region.width
            assert room - 3 <= widths <= room, (size, widths, room)
        await pilot.resize_terminal(120, 40)
        assert str(tabs[0].label) == "1 Sync"  # a space after the digit once there is room

    drive(app, scenario)


def test_placeholders_are_hints_and_pem_boxes_show_lines(live: LiveDaemon) -> None:
    app = AzsyncApp(socket=str(live.socket))

    async def scenario(pilot: Pilot[Any]) -> None:
        hints: list[str] = []
        for tab in "24567890":
            await pilot.press("escape", tab)
            await settle(pilot)
            panel = app.current_panel()
            assert panel is not None
            hints += [str(i.placeholder) for i in panel.query(Input) if i.placeholder]
        await pilot.press("escape", "2", "a")
        await until(pilot, lambda: on_screen(app, TenantForm), what="the form")
        await settle(pilot)
        form = app.screen
        hints += [str(i.placeholder) for i in form.query(Input) if i.placeholder]
        assert len(hints) > 15
        # A hint reads as one without colour: "e.g. ..." or in parentheses.
        assert all(h.startswith(("e.g. ", "(")) for h in hints), hints
        form.query_one("#kind").value = "pem"  # type: ignore[attr-defined]
        await pilot.pause()
        box = form.query_one("#certificate_pem", TextArea)
        form.set_focus(box)
        await until(pilot, lambda: visible(box), what="the PEM box")
        assert box.scrollable_content_region.height >= 5

    drive(app, scenario)
