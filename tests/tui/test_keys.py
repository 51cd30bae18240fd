"""Keys are safe and predictable (issue 16, point 2), against a real daemon on a socket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, Select, TabbedContent

from azsyncd.demo.directory import DEMO_CLIENT, DEMO_TENANT
from tests.tui.driving import answer, burst, drive, on_screen, settle, text, until, visible
from tests.tui.tui_daemon import TENANT, LiveDaemon, live_daemon, module_daemon, tui_on
from tui.app import AzsyncApp
from tui.screens.check_user import CheckUserScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.help import HelpScreen
from tui.screens.path import PathScreen
from tui.screens.plan import PlanScreen
from tui.screens.tenant_form import TenantForm
from tui.widgets.panel import Panel

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDaemon]:
    """One synced daemon for the tests that change nothing in it (a dry run aside)."""
    with module_daemon(tmp_path_factory, syncs=1, users=5) as live:
        yield live


def test_a_bare_letter_never_writes_without_asking(tmp_path: Path) -> None:
    with live_daemon(tmp_path, TENANT, users=10) as live:
        runs_before = len(live.daemon.state.runs(100, 0))
        mapping_before = live.config.read_text()
        app = AzsyncApp(socket=str(live.socket))
        asked: list[str] = []
        push = app.push_screen

        def recording_push(screen: Any, *args: Any, **kwargs: Any) -> Any:
            asked.append(type(screen).__name__)
            return push(screen, *args, **kwargs)

        app.push_screen = recording_push  # type: ignore[method-assign]

        async def scenario(pilot: Pilot[Any]) -> None:
            await pilot.press("3")
            await settle(pilot)
            panel = app.current_panel()
            assert panel is not None
            app.screen.set_focus(panel)  # the name field does not have the focus
            await burst(pilot, "{givenNam} {surname}")
            await settle(pilot)
            assert asked == ["ConfirmScreen"], "s asked first; the keys after it answer nothing"
            assert "Sync now?" in text(app.screen.query_one("#question"))
            assert len(live.daemon.state.runs(100, 0)) == runs_before
            await answer(pilot, "n")
            await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
            await pilot.press("s")
            await until(pilot, lambda: on_screen(app, ConfirmScreen))
            assert "Sync now?" in text(app.screen.query_one("#question"))
            await answer(pilot, "y")
            await until(pilot, lambda: len(live.daemon.state.runs(100, 0)) == runs_before + 1)

        drive(app, scenario)
        assert live.config.read_text() == mapping_before


def test_q_asks_only_when_there_are_unsaved_edits(shared: LiveDaemon) -> None:
    app = AzsyncApp(socket=str(shared.socket))

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("3")
        await settle(pilot)
        app.query_one("#name", Input).value = "{givenName}"
        await until(pilot, lambda: "mapping" in app.unsaved, what="the unsaved marker")
        await pilot.resize_terminal(120, 40)  # wide: the tab's label has the mark
        await until(pilot, lambda: app.wide)
        tabs = app.query_one(TabbedContent)
        assert str(tabs.get_tab("mapping").label) == f"3 Mapping {app.marks.unsaved}"
        assert "Unsaved edits on Mapping (3)" in text(app.query_one("#flash"))
        await pilot.press("escape", "q")
        await until(pilot, lambda: on_screen(app, ConfirmScreen))
        assert "unsaved edits on Mapping" in text(app.screen.query_one("#question"))
        await answer(pilot, "n")
        await pilot.pause()
        assert app.is_running
        app.query_one("#mapping-panel #discard").press()
        await until(pilot, lambda: not app.unsaved)
        await pilot.press("escape", "q")

    drive(app, scenario)
    assert app.return_code == 0


def test_opening_a_tab_focuses_its_first_control(shared: LiveDaemon) -> None:
    app = AzsyncApp(socket=str(shared.socket))

    async def scenario(pilot: Pilot[Any]) -> None:
        for tab in "23456791":
            await pilot.press("escape", tab)
            await settle(pilot)
            panel = app.current_panel()
            assert panel is not None and panel.first_control() is not None
            assert app.focused is panel.first_control(), tab
            assert visible(app.focused), f"tab {tab}: its first control is drawn on screen"

    drive(app, scenario)


def test_esc_leaves_a_text_field_and_then_digits_switch_tabs(shared: LiveDaemon) -> None:
    app = AzsyncApp(socket=str(shared.socket))

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("7")
        await settle(pilot)
        search = app.query_one("#contact-search", Input)
        assert app.focused is search
        await pilot.press("a", "n", "3")  # in a text field, a digit is a digit
        assert search.value == "an3" and app.current_panel() is app.query_one("#contacts-panel")
        await pilot.press("escape")
        assert isinstance(app.focused, Panel)
        await pilot.press("3")
        await settle(pilot)
        assert app.current_panel() is app.query_one("#mapping-panel")
        await pilot.press("7")
        await settle(pilot)
        assert app.focused is search
        # Esc and a digit that arrive together are read as alt+digit: still both keys.
        app.post_message(events.Key("alt+6", "6"))
        await settle(pilot)
        assert app.current_panel() is app.query_one("#log-panel")
        assert search.value == "an3"

    drive(app, scenario)


def test_slash_jumps_to_the_search_and_help_lists_the_tabs_keys(shared: LiveDaemon) -> None:
    app = AzsyncApp(socket=str(shared.socket))

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("6")
        await settle(pilot)
        await pilot.press("slash")
        assert app.focused is app.query_one("#log-panel #search")
        await pilot.press("escape", "question_mark")
        await until(pilot, lambda: on_screen(app, HelpScreen))
        shown = "".join(text(s) for s in app.screen.query("Static"))
        assert "Keys of the Log tab" in shown and "Export CSV" in shown
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen))
        await pilot.press("2", "f1")
        await until(pilot, lambda: on_screen(app, HelpScreen))
        assert "Authorize" in "".join(text(s) for s in app.screen.query("Static"))
        await pilot.press("escape", "1", "slash")
        await until(pilot, lambda: "no search" in str(list(app._notifications)))

    drive(app, scenario)


def test_every_dialog_closes_with_escape(shared: LiveDaemon) -> None:
    app = AzsyncApp(socket=str(shared.socket))

    async def scenario(pilot: Pilot[Any]) -> None:
        for keys, then, kind in [
            (("2", "a"), "", TenantForm),
            (("2", "c"), "", TenantForm),
            (("2", "z"), "", ConfirmScreen),
            (("s",), "", ConfirmScreen),
            (("6", "x"), "", PathScreen),
            (("question_mark",), "", HelpScreen),
            (("f1",), "", HelpScreen),
            (("d",), "", ConfirmScreen),
            (("d",), "y", PlanScreen),  # y once the question is on screen
            (("1", "f"), "", ConfirmScreen),
            (("1", "u"), "", CheckUserScreen),
        ]:
            await pilot.press("escape", *keys)
            if then:
                await answer(pilot, then)
            await until(pilot, lambda kind=kind: isinstance(app.screen, kind), what=kind.__name__)
            await settle(pilot)
            await pilot.press("escape")
            await until(pilot, lambda: not app.screen.is_modal, what=f"{kind.__name__} closed")
        # A form with something typed asks first, so a stray Esc loses nothing.
        await pilot.press("2", "a", "x", "escape")
        await until(pilot, lambda: on_screen(app, ConfirmScreen))
        await answer(pilot, "escape")  # no, keep the form
        await until(pilot, lambda: on_screen(app, TenantForm))
        assert app.screen.query_one("#name", Input).value == "x"
        await pilot.press("escape")
        await answer(pilot, "y")
        await until(pilot, lambda: not app.screen.is_modal)

    drive(app, scenario)


@pytest.mark.parametrize("key", ["backspace", "delete"])
def test_backspace_deletes_where_delete_does(tmp_path: Path, key: str) -> None:
    with tui_on(tmp_path, users=3) as (live, app):

        async def scenario(pilot: Pilot[Any]) -> None:
            await pilot.press("2")
            await settle(pilot)
            await pilot.press(key)
            await until(pilot, lambda: on_screen(app, ConfirmScreen))
            assert "Delete tenant contoso?" in text(app.screen.query_one("#question"))
            await answer(pilot, "n")
            await settle(pilot)
            assert [t.name for t in live.daemon.config.tenants] == ["contoso"]
            await pilot.press(key)
            await answer(pilot, "y")
            await until(pilot, lambda: not live.daemon.config.tenants)

        drive(app, scenario)


def test_keys_typed_ahead_land_in_the_field_that_had_the_focus(shared: LiveDaemon) -> None:
    app = AzsyncApp(socket=str(shared.socket))

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("2")
        await settle(pilot)
        typed = f"afabrikam\tFabrikam Ltd\t{DEMO_TENANT}\t{DEMO_CLIENT}"
        await burst(pilot, typed)  # "a" opens the form; the rest arrives before it exists
        await settle(pilot)
        form = app.screen
        assert isinstance(form, TenantForm)
        values = {k: form.query_one(f"#{k}", Input).value for k in ("name", "display_name")}
        values.update({k: form.query_one(f"#{k}", Input).value for k in ("tenant_id", "client_id")})
        assert values == {
            "name": "fabrikam",
            "display_name": "Fabrikam Ltd",
            "tenant_id": DEMO_TENANT,
            "client_id": DEMO_CLIENT,
        }
        assert app.focused is form.query_one("#client_id")
        # A paste lands where the focus is when it arrives, after the keys before it.
        await burst(pilot, "\t\t\t")  # cloud, sign-in, secret
        app.post_message(events.Paste("s3cret-pasted"))
        await burst(pilot, "\t")
        await settle(pilot)
        assert form.query_one("#secret", Input).value == "s3cret-pasted"
        assert form.query_one("#kind", Select).value == "secret"

    drive(app, scenario)
