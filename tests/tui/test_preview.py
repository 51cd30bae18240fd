"""Preview before save (issue 24, point 4): p on Mapping, Users, Joiners & leavers (and the rule
dialog) and Settings shows what the next full run would do with the unsaved edits, saving
nothing; saving a change whose preview fails many contacts asks first, naming the top reason,
and No keeps the edits.

One live daemon on a real Unix socket for the module, its 20 users synced once; the tests
leave its settings as they found them (the last one saves, then puts the mapping back).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select

from azsyncd.control.client import Client
from tests.tui.driving import answer, drive, on_screen, settle, text, until
from tests.tui.tui_daemon import LiveDaemon, module_daemon
from tui.app import AzsyncApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.preview import PreviewScreen
from tui.screens.rule_form import RuleForm
from tui.widgets.fields import OnOff

pytestmark = pytest.mark.slow

USERS = 20
FAX = "faxNumber: empty in the directory"  # the top reason of the mistake


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDaemon]:
    with module_daemon(tmp_path_factory, users=USERS, syncs=1) as daemon:
        yield daemon


def shown(app: AzsyncApp) -> str:
    """The preview on screen, once the daemon has answered ("" before)."""
    screen = app.screen
    if not isinstance(screen, PreviewScreen) or screen.busy:
        return ""
    found = text(screen.query_one("#preview-text"))
    return "" if found.startswith("Previewing") else found


async def preview(pilot: Pilot[Any]) -> str:
    """Press p where the focus is; the preview once it is shown, closed again with Esc."""
    app: AzsyncApp = pilot.app  # type: ignore[assignment]
    await pilot.press("p")
    await until(pilot, lambda: on_screen(app, PreviewScreen), what="the preview")
    await until(pilot, lambda: shown(app), what="the preview's answer", timeout=90)
    found = shown(app)
    title = text(app.screen.query_one("#dialog-title"))
    await pilot.press("escape")
    await until(pilot, lambda: not isinstance(app.screen, PreviewScreen))
    await settle(pilot)
    return title + "\n" + found


async def the_fax_mistake(pilot: Pilot[Any], app: AzsyncApp) -> None:
    """Main phone <- faxNumber with empty phones not skipped: every contact fails."""
    await pilot.press("escape", "3")
    await settle(pilot)
    panel = app.query_one("#mapping-panel")
    panel.query_one("#phone-m", Select).value = "faxNumber"
    switch = panel.query_one("#skip_empty_phones", OnOff)
    switch.value = False
    app.screen.set_focus(switch)  # p in a text field is a letter
    await until(pilot, lambda: "mapping" in app.unsaved, what="the unsaved edits")


def test_p_previews_the_mappings_edits_and_saves_nothing(live: LiveDaemon) -> None:
    before = live.config.read_text()
    runs = len(live.daemon.state.runs(100, 0))
    app = AzsyncApp(socket=str(live.socket))

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("3")
        await settle(pilot)
        # Nothing edited: the mapping as saved, nothing fails.
        app.screen.set_focus(app.query_one("#mapping-panel #skip_empty_phones"))
        as_saved = await preview(pilot)
        # One user fails already (an employee id that is no number).
        assert "Mapping as saved" in as_saved and f"{USERS - 1} unchanged, 1 failed" in as_saved
        assert "Saving asks first" not in as_saved
        await the_fax_mistake(pilot, app)
        found = await preview(pilot)
        assert "your edits on Mapping" in found
        assert f"{USERS} failed" in found, found
        assert FAX in found and "Top reasons for failing" in found
        assert "Saving asks first" in found and "top reason" in found
        assert f"Tenant contoso: {USERS} users, {USERS - 1} contacts" in found
        # The edits are still on the tab, unsaved.
        assert app.query_one("#mapping-panel #phone-m", Select).value == "faxNumber"
        assert "mapping" in app.unsaved
        # In a text field p is a letter, not the preview.
        name = app.query_one("#mapping-panel #name", Input)
        app.screen.set_focus(name)
        await pilot.press("p")
        await settle(pilot)
        assert name.value.endswith("p") and not isinstance(app.screen, PreviewScreen)
        name.value = name.value[:-1]

    drive(app, scenario)
    assert live.config.read_text() == before
    assert len(live.daemon.state.runs(100, 0)) == runs  # a preview is no run


def test_p_previews_users_leavers_settings_and_a_new_rule(live: LiveDaemon) -> None:
    before = live.config.read_text()
    app = AzsyncApp(socket=str(live.socket))

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("4")
        await settle(pilot)
        users = app.query_one("#users-panel")
        switch = users.query_one("#exclude_disabled", OnOff)
        switch.value = not switch.value
        app.screen.set_focus(switch)
        found = await preview(pilot)
        assert "your edits on Users" in found and "Tenant contoso:" in found

        await pilot.press("escape", "9")
        await settle(pilot)
        leavers = app.query_one("#leavers-panel")
        leavers.query_one("#on_disabled", Select).value = "disable_login"
        app.screen.set_focus(leavers.query_one("#on_disabled"))
        found = await preview(pilot)
        assert "your edits on Joiners & leavers" in found and "Tenant contoso:" in found

        await pilot.press("escape", "5")
        await settle(pilot)
        settings = app.query_one("#settings-panel")
        settings.query_one("#threshold-create", Input).value = "5"
        app.screen.set_focus(settings.query_one("#enabled"))
        found = await preview(pilot)
        assert "your edits on Settings" in found and f"{USERS - 1} unchanged" in found

        await pilot.press("escape", "9")
        await settle(pilot)
        await pilot.press("escape", "a")
        await until(pilot, lambda: on_screen(app, RuleForm), what="the rule form")
        await settle(pilot)
        form = app.screen
        form.query_one("#group", Input).value = "Sales desk"
        form.query_one("#when", Input).value = 'department = "Sales"'
        form.set_focus(form.query_one("#access_tickets"))
        found = await preview(pilot)
        assert "the rules with this one added" in found and "group change" in found, found
        assert isinstance(app.screen, RuleForm), "the dialog stays, with what was typed"
        assert form.query_one("#group", Input).value == "Sales desk"

    drive(app, scenario, size=(120, 40))
    assert live.config.read_text() == before


def test_saving_a_change_whose_preview_fails_asks_first_naming_the_top_reason(
    live: LiveDaemon,
) -> None:
    before = live.config.read_text()
    app = AzsyncApp(socket=str(live.socket))

    def question() -> str:
        screen = app.screen
        return text(screen.query_one("#question")) if isinstance(screen, ConfirmScreen) else ""

    async def scenario(pilot: Pilot[Any]) -> None:
        await the_fax_mistake(pilot, app)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "Save anyway?" in question(), what="the question", timeout=90)
        assert FAX in question() and f"fail {USERS} of {USERS}" in question(), question()
        await answer(pilot, "n")  # the default: not saved, the edits kept
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await settle(pilot)
        assert live.config.read_text() == before
        panel = app.query_one("#mapping-panel")
        assert panel.query_one("#phone-m", Select).value == "faxNumber"
        assert not panel.query_one("#skip_empty_phones", OnOff).value
        assert "mapping" in app.unsaved
        assert "Your edits are kept" in text(panel.query_one("#form-status"))
        # Asked again, a deliberate yes saves it.
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "Save anyway?" in question(), what="asked again", timeout=90)
        await answer(pilot, "y")
        await until(pilot, lambda: "faxNumber" in live.config.read_text(), what="saved", timeout=90)
        await until(pilot, lambda: "mapping" not in app.unsaved, what="the edits saved")

    try:
        drive(app, scenario)
        assert live.daemon.config.mapping.phones.get("m") == "faxNumber"
    finally:  # the module's daemon as it was
        with Client(live.socket) as client:
            client.update_settings(
                force=True, mapping={"phones": {"m": None}, "skip_empty_phones": True}
            )
