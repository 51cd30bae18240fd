"""Keys typed ahead never answer a question, and text fields take every printable key
(issue 24, points 1 and 2). Each burst posts every key before the app handles any, as a slow
link delivers them. One live daemon on a real Unix socket serves the module: if the TUI works,
no test here changes it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from textual import events
from textual.app import App
from textual.command import CommandInput, CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input, TabbedContent, TextArea

from tests.tui.driving import answer, burst, drive, on_screen, settle, text, until
from tests.tui.tui_daemon import TENANT, LiveDaemon, live_daemon
from tui.app import TABS, AzsyncApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.path import PathScreen
from tui.screens.tenant_form import TenantForm
from tui.widgets.fields import OnOff

pytestmark = pytest.mark.slow

LABELS = {tab: label for tab, label, _ in TABS}
HELD = TENANT + "\n[sync.thresholds]\ncreate = 3\n"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDaemon]:
    """A daemon with Contoso and one held run (20 new contacts, above the threshold of 3)."""
    umask = os.umask(0o077)
    try:
        with live_daemon(tmp_path_factory.mktemp("typed"), HELD, users=20) as daemon:
            held = daemon.sync()
            assert daemon.daemon.state.run(held).status == "held"  # type: ignore[union-attr]
            yield daemon
    finally:
        os.umask(umask)


def runs_of(live: LiveDaemon) -> list[tuple[int, str]]:
    return [(r.id, r.status) for r in live.daemon.state.runs(100, 0)]


def question(app: AzsyncApp) -> str:
    return text(app.screen.query_one("#question")) if isinstance(app.screen, ConfirmScreen) else ""


def test_typing_sync_on_the_sync_tab_asks_and_the_typed_y_does_not_answer(
    live: LiveDaemon,
) -> None:
    before = runs_of(live)
    app = AzsyncApp(socket=str(live.socket))

    async def scenario(pilot: Pilot[Any]) -> None:
        await burst(pilot, "sync")
        await until(pilot, lambda: on_screen(app, ConfirmScreen), what="Sync now?")
        await settle(pilot)
        assert "Sync now?" in question(app), "the question waits for a deliberate answer"
        assert runs_of(live) == before and live.daemon.runner.current is None
        await answer(pilot, "n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))

    drive(app, scenario)
    assert runs_of(live) == before


def test_typing_a_template_one_tab_away_from_its_field_starts_nothing(live: LiveDaemon) -> None:
    before = runs_of(live)
    name_before = live.daemon.config.mapping.name
    app = AzsyncApp(socket=str(live.socket))

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("3")
        await settle(pilot)
        switch = app.query_one("#mapping-panel #guest_email_from_mail", OnOff)
        app.screen.set_focus(switch)  # one Tab before the name field
        await pilot.pause()
        await burst(pilot, "{displayName}")
        await settle(pilot)
        assert runs_of(live) == before and live.daemon.runner.current is None
        # d asks before a dry run; every key after it was typed before the question showed.
        assert "Dry run" in question(app)
        await answer(pilot, "escape")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await settle(pilot)
        assert runs_of(live) == before
        assert app.query_one("#mapping-panel #name", Input).value == name_before

    drive(app, scenario)
    assert runs_of(live) == before


def test_every_confirming_key_with_a_typed_ahead_y_waits_for_the_admin(live: LiveDaemon) -> None:
    before = runs_of(live)
    app = AzsyncApp(socket=str(live.socket))

    async def scenario(pilot: Pilot[Any]) -> None:
        for tab, keys, asked in [
            ("2", ["e", "y"], "Disable contoso?"),
            ("2", ["z", "y", "enter"], "Authorize contoso now?"),
            ("2", ["delete", "y"], "Delete tenant contoso?"),
            ("2", ["backspace", "y", "y"], "Delete tenant contoso?"),
            ("6", ["a", "y"], "Apply the plan of run"),
            ("6", ["D", "y"], "Discard the plan of run"),
            ("1", ["s", "enter", "y"], "Sync now?"),
        ]:
            await pilot.press("escape", tab)
            await settle(pilot)
            await burst(pilot, keys)
            await until(pilot, lambda: on_screen(app, ConfirmScreen), what=asked)
            await settle(pilot)
            assert asked in question(app), (keys, question(app))
            await answer(pilot, "n")
            await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
            await settle(pilot)
            tenant = live.daemon.config.tenant("contoso")
            assert tenant is not None and tenant.enabled, keys
            assert runs_of(live) == before, keys

    drive(app, scenario, size=(120, 40))


def test_a_deliberate_yes_still_answers(live: LiveDaemon) -> None:
    app = AzsyncApp(socket=str(live.socket))

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("e")
        await until(pilot, lambda: "Disable contoso?" in question(app))
        await answer(pilot, "y")
        await until(pilot, lambda: not live.daemon.config.tenants[0].enabled, what="disabled")
        await settle(pilot)
        await pilot.press("e")
        await until(pilot, lambda: "Enable contoso?" in question(app))
        await answer(pilot, "y")
        await until(pilot, lambda: live.daemon.config.tenants[0].enabled, what="enabled")

    drive(app, scenario)


# Text fields own every printable key.

URL = "https://support.contoso.example/help/?q=a/b&s=d#r1"


def test_a_slash_and_every_printable_key_reach_the_focused_field(live: LiveDaemon) -> None:
    app = AzsyncApp(socket=str(live.socket))

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("5")
        await settle(pilot)
        zone = app.query_one("#settings-panel #timezone", Input)
        zone.value = ""
        app.screen.set_focus(zone)
        await burst(pilot, "Europe/Berlin")
        await settle(pilot)
        assert zone.value == "Europe/Berlin"
        portal = app.query_one("#settings-panel #portal_url", Input)
        portal.value = ""
        app.screen.set_focus(portal)
        await burst(pilot, URL)
        await settle(pilot)
        assert portal.value == URL
        # Digits, ?, q, s, d and r are keys of the app elsewhere; in a field they are text.
        subject = app.query_one("#settings-panel #subject", Input)
        subject.value = ""
        app.screen.set_focus(subject)
        await burst(pilot, "1?2/3 qsdr 0")
        app.post_message(events.Paste("/pasted?"))
        await settle(pilot)
        assert subject.value == "1?2/3 qsdr 0/pasted?"
        assert app.query_one(TabbedContent).active == "settings"
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape", "1")  # out of the field, a digit is a tab again
        await settle(pilot)
        assert app.query_one(TabbedContent).active == "sync" and app.unsaved == {"settings"}

    drive(app, scenario)


def test_the_search_field_and_a_pem_box_take_a_slash(live: LiveDaemon) -> None:
    app = AzsyncApp(socket=str(live.socket))

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("7")
        await settle(pilot)
        search = app.query_one("#contact-search", Input)
        assert app.focused is search
        await burst(pilot, "a/b")
        await settle(pilot)
        assert search.value == "a/b"
        await pilot.press("escape", "2", "a")
        await until(pilot, lambda: on_screen(app, TenantForm))
        await settle(pilot)
        form = app.screen
        form.query_one("#kind").value = "pem"  # type: ignore[attr-defined]
        await pilot.pause()
        box = form.query_one("#certificate_pem", TextArea)
        form.set_focus(box)
        await burst(pilot, "MII/ab+c=?\r1/2")
        await settle(pilot)
        assert box.text == "MII/ab+c=?\n1/2"

    drive(app, scenario)


def palette_titles(app: AzsyncApp) -> list[str]:
    """The app's own commands (Textual's, such as the theme picker, are not its to test)."""
    textuals = {c.title for c in App.get_system_commands(app, app.screen)}
    return [c.title for c in app.get_system_commands(app.screen) if c.title not in textuals]


async def run_from_palette(pilot: Pilot[Any], title: str) -> None:
    app: AzsyncApp = pilot.app  # type: ignore[assignment]
    await pilot.press("ctrl+p")
    await until(pilot, lambda: on_screen(app, CommandPalette), what="the palette")
    await pilot.pause()
    app.screen.query_one(CommandInput).value = title
    await until(
        pilot,
        lambda: title in str(app.screen.query_one("CommandList").get_option_at_index(0).prompt),
        what=f"{title} listed first",
    )
    await pilot.press("enter")
    await until(pilot, lambda: not isinstance(app.screen, CommandPalette), what=f"{title} ran")
    await settle(pilot)


def test_every_palette_command_runs_with_enter(live: LiveDaemon) -> None:
    app = AzsyncApp(socket=str(live.socket))
    before = runs_of(live)

    def said(words: str) -> bool:
        return any(words in str(n.message) for n in app._notifications)

    async def closes(pilot: Pilot[Any], key: str = "escape") -> None:
        await answer(pilot, key)
        await until(pilot, lambda: not app.screen.is_modal)
        await settle(pilot)

    async def scenario(pilot: Pilot[Any]) -> None:
        ran: list[str] = []
        for title in palette_titles(app):
            await run_from_palette(pilot, title)
            ran.append(title)
            screen, active = app.screen, app.query_one(TabbedContent).active
            if title.startswith("Show "):
                assert title == f"Show {LABELS[active]}", title
            elif title in ("Sync now", "Dry run", "Full sync", "Authorize tenant"):
                assert isinstance(screen, ConfirmScreen), title
                await closes(pilot, "n")
            elif title == "Add tenant":
                assert isinstance(screen, TenantForm)
                await closes(pilot)
            elif title == "Export CSV report":
                assert isinstance(screen, PathScreen)
                await closes(pilot)
            elif title == "Check a user":
                assert type(screen).__name__ == "CheckUserScreen"
                await closes(pilot)
            elif title == "Open alerts":
                assert active == "alerts"
            elif title == "Preview the edits":  # the Sync tab has none: it says where
                await until(pilot, lambda: said("no preview"), what="where to preview")
            elif title == "Send a test alert":
                await until(pilot, lambda: said("alert"), what="the test alert's answer")
            if app.screen.is_modal:
                await closes(pilot)
        assert {"Sync now", "Open alerts", "Send a test alert", "Check a user"} <= set(ran)
        assert "Preview the edits" in ran

    drive(app, scenario, size=(120, 40))
    assert runs_of(live) == before
