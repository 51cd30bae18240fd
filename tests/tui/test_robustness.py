"""The TUI never crashes, and its status is truthful and always visible (issue 16, 1 and 7).

Against a real daemon on a temporary Unix socket; the daemon is stopped and started again
under the TUI.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from azsyncd.demo.run import tenant_toml
from tests.helpers import short_dir
from tests.tui.driving import answer, drive, on_screen, settle, text, until, visible
from tests.tui.tui_daemon import TENANT, live_daemon, tui_on
from tui.app import AzsyncApp
from tui.screens.confirm import ConfirmScreen
from tui.widgets.fields import OnOff
from tui.widgets.hint_bar import HintBar

pytestmark = [pytest.mark.slow, pytest.mark.long]

TABS = "1234567890"


def test_every_tab_refreshed_and_the_daemon_restarted_under_it_three_times(
    tmp_path: Path,
) -> None:
    socket = short_dir() / "azsyncd.sock"
    daemons = ExitStack()
    daemons.enter_context(live_daemon(tmp_path, TENANT, users=30, socket=socket))
    app = AzsyncApp(socket=str(socket))

    async def scenario(pilot: Pilot[Any]) -> None:
        nonlocal daemons
        banner = app.query_one("#banner", Static)
        for round_, under in enumerate("364"):
            # Every tab before the first restart; half of them, in turn, after each other one.
            for tab in TABS if round_ == 0 else TABS[round_ - 1 :: 2]:
                await pilot.press(tab)
                await settle(pilot)
                await pilot.press("escape", "r")  # Esc first: r in a search field is a letter
                await settle(pilot)
            await pilot.press("3", "1", "3")  # fast, as the admin did
            await pilot.press("3", "r")
            await pilot.press(under)
            daemons.close()
            await until(pilot, lambda: banner.has_class("shown"), what="the banner")
            daemons = ExitStack()
            daemons.enter_context(live_daemon(tmp_path, TENANT, users=30, socket=socket))
            await until(pilot, lambda: not banner.has_class("shown"), what="reconnecting")
            await settle(pilot)
            assert app.is_running, f"round {round_}"

    try:
        drive(app, scenario)
    finally:
        daemons.close()
    assert app.return_code is None


def test_the_banner_is_pinned_and_says_how_to_fix(tmp_path: Path) -> None:
    socket = short_dir() / "azsyncd.sock"
    daemons = ExitStack()
    daemons.enter_context(live_daemon(tmp_path, TENANT, users=5, socket=socket))
    app = AzsyncApp(socket=str(socket))

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("3")
        await settle(pilot)
        daemons.close()
        banner = app.query_one("#banner", Static)
        await until(pilot, lambda: "azsyncd is not running" in text(banner), what="the banner")
        assert "systemctl start azsyncd" in text(banner)
        await settle(pilot)  # the layout settles after the banner appears (its width, too)
        where = banner.region
        form = app.query_one("#mapping-panel #form")
        form.scroll_end(animate=False)  # the longest tab, scrolled to its end
        await pilot.press("end", "pagedown")
        await pilot.pause()
        assert banner.region == where and visible(banner)
        assert app.sub_title == "daemon not reachable"
        await pilot.press("5")  # every tab shows it
        await until(pilot, lambda: visible(banner), what="the banner on the Settings tab")

    drive(app, scenario)


@pytest.mark.parametrize("env", [{"NO_COLOR": "1"}, {"TERM": "linux"}], ids=["NO_COLOR", "linux"])
def test_plain_terminals_read_on_off_and_ascii(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with live_daemon(tmp_path, TENANT, users=8) as live:
        live.daemon.runner.wait(0)
        app = AzsyncApp(socket=str(live.socket))

        async def scenario(pilot: Pilot[Any]) -> None:
            await pilot.press("2")
            await settle(pilot)
            table = app.query_one("#tenant-table", DataTable)
            await pilot.press("z")
            await answer(pilot, "y")
            await until(pilot, lambda: str(table.get_row_at(0)[1]) == "Active", what="Active")
            await pilot.press("3")
            await settle(pilot)
            switches = [text(s) for s in app.query("#mapping-panel OnOff").results(OnOff)]
            assert switches and set(switches) <= {"[x] On ", "[ ] Off"}
            await pilot.press("7")
            await settle(pilot)
            count = text(app.query_one("#contact-count"))
            assert "E synced from Entra ID" in count and "Ⓔ" not in count
            screen = "".join(text(w) for w in app.query("Static"))
            assert not {"✅", "Ⓔ", "●"} & set(screen)

        drive(app, scenario)


def test_long_reasons_do_not_push_the_other_columns_off_screen(tmp_path: Path) -> None:
    wrong_secret = tenant_toml("broken", secret_file="wrong-secret")
    (tmp_path / "wrong-secret").write_text("not the secret " * 5)
    with live_daemon(tmp_path, TENANT + wrong_secret, users=4) as live:
        app = AzsyncApp(socket=str(live.socket))

        async def scenario(pilot: Pilot[Any]) -> None:
            await pilot.press("2")
            await settle(pilot)
            await pilot.press("down", "z")
            await answer(pilot, "y")
            table = app.query_one("#tenant-table", DataTable)
            await until(
                pilot,
                lambda: str(table.get_row_at(1)[1]).startswith("Disabled: AADSTS"),
                what="refused",
            )
            await settle(pilot)
            reason = live.daemon.state.tenant("broken").reason
            assert len(reason) > 40
            last_sync = table.columns[table.ordered_columns[2].key]
            assert last_sync.label.plain == "Last sync"
            # Every column fits the table's width; the long reason is cut in its own column.
            widths = [c.get_render_width(table) for c in table.ordered_columns]
            assert sum(widths) <= table.scrollable_content_region.width, widths
            status = table.ordered_columns[1]
            assert status.width < len(reason)
            assert "…" in "".join(s.text for s in table.render_line(2))  # the row, cut
            detail = text(app.query_one("#tenant-text"))
            assert " ".join(reason.split()) in " ".join(detail.split())  # in full, below

        drive(app, scenario)


@pytest.mark.parametrize("size", [(60, 20), (80, 24), (120, 40)], ids=["60x20", "80x24", "120x40"])
def test_the_footer_shows_what_fits_most_important_first(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    with tui_on(tmp_path, users=4) as (_live, app):

        async def scenario(pilot: Pilot[Any]) -> None:
            await pilot.press("2")
            await settle(pilot)
            hints = text(app.query_one(HintBar)).strip()
            assert len(hints) <= size[0] - 2
            assert hints.startswith("a Add") and hints.endswith("? Keys")
            if size[0] >= 120:
                assert "s Sync now" in hints and "q Quit" in hints
            await pilot.press("s")
            await until(pilot, lambda: on_screen(app, ConfirmScreen))
            assert text(app.query_one(HintBar)) == ""  # the dialog says its own keys
            await answer(pilot, "n")

        drive(app, scenario, size=size)
