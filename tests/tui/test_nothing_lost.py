"""Nothing typed is lost (issue 24, point 3), and the help desk's own settings are drawn from
what the daemon says about them, so a target the TUI has never heard of needs no change in it.

One live daemon on a real Unix socket for the module, writing to a target registered by the
tests only (``tests/fakes/memory_target.py``): the TUI knows nothing of it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

from azsyncd.targets import registry
from tests.fakes import memory_target
from tests.tui.driving import drive, on_screen, settle, text, until
from tests.tui.tui_daemon import TENANT, LiveDaemon, live_daemon
from tui.app import AzsyncApp
from tui.screens.rule_form import RuleForm
from tui.widgets.fields import OnOff, Row

pytestmark = pytest.mark.slow

MEMORY = '[target]\nkind = "memory"\n[target.memory]\nbook = "nothing-lost"\ntoken_file = "token"\n'


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDaemon]:
    home = tmp_path_factory.mktemp("lost")
    umask = os.umask(0o077)
    (home / "token").write_text("t0ken")
    try:
        with (
            registry.registered(memory_target.TARGET),
            live_daemon(home, TENANT + MEMORY, users=5) as daemon,
        ):
            yield daemon
    finally:
        os.umask(umask)
        memory_target.BOOKS.clear()


def error_of(row: Row) -> str:
    return text(row.query_one(".field-error"))


async def refused(pilot: Pilot[Any], panel: Any, *rows: str) -> None:
    """Save, and wait for the daemon's refusal beside each of ``rows``."""
    await pilot.press("ctrl+s")
    for row in rows:
        found = panel.query_one(f"#{row}", Row)
        await until(pilot, lambda found=found: error_of(found) != "", what=f"the error by {row}")
    await until(pilot, lambda: "Your edits are kept" in text(panel.query_one("#form-status")))


def test_a_refused_save_keeps_every_value_on_every_tab(live: LiveDaemon) -> None:
    before = live.config.read_text()
    app = AzsyncApp(socket=str(live.socket))

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("5")
        await settle(pilot)
        settings = app.query_one("#settings-panel")
        typed = {
            "time": "noon",
            "threshold-create": "lots",
            "threshold-update": "15%",
            "subject": "Welcome, {name}",
            "target-calls_per_minute": "0",
            "target-book": "other-book",
        }
        for key, value in typed.items():
            settings.query_one(f"#{key}", Input).value = value
        settings.query_one("#welcome_enabled", OnOff).value = True
        await refused(pilot, settings, "row-time", "row-threshold-create")
        assert "HH:MM" in error_of(settings.query_one("#row-time", Row))
        assert "percentage" in error_of(settings.query_one("#row-threshold-create", Row))
        assert {k: settings.query_one(f"#{k}", Input).value for k in typed} == typed
        assert settings.query_one("#welcome_enabled", OnOff).value
        assert "settings" in app.unsaved
        # Correct the two: the target's key is checked next, its error beside it.
        settings.query_one("#time", Input).value = "06:00"
        settings.query_one("#threshold-create", Input).value = "40"
        await refused(pilot, settings, "row-target-calls_per_minute")
        assert "greater than or equal to 1" in error_of(
            settings.query_one("#row-target-calls_per_minute", Row)
        )
        assert settings.query_one("#target-book", Input).value == "other-book"
        # Leaving the tab and coming back keeps them too.
        await pilot.press("escape", "1", "5")
        await settle(pilot)
        assert settings.query_one("#threshold-update", Input).value == "15%"

        await pilot.press("escape", "4")
        await settle(pilot)
        users = app.query_one("#users-panel")
        users.query_one("#users", Select).value = "groups"
        users.query_one("#exclude_disabled", OnOff).value = True
        await refused(pilot, users, "row-search")
        assert "at least one group" in error_of(users.query_one("#row-search", Row))
        assert users.query_one("#users", Select).value == "groups"
        assert users.query_one("#exclude_disabled", OnOff).value

        await pilot.press("escape", "9")
        await settle(pilot)
        leavers = app.query_one("#leavers-panel")
        leavers.query_one("#on_disabled", Select).value = "disable_login"
        leavers.query_one("#grace_days", Input).value = "-2"
        await refused(pilot, leavers, "row-grace_days")
        assert leavers.query_one("#grace_days", Input).value == "-2"
        assert leavers.query_one("#on_disabled", Select).value == "disable_login"

        await pilot.press("escape", "a")
        await until(pilot, lambda: on_screen(app, RuleForm), what="the rule form")
        await settle(pilot)
        form = app.screen
        form.query_one("#group", Input).value = "Sales desk"
        form.query_one("#when", Input).value = "department is Sales"
        await pilot.press("ctrl+s")
        when = form.query_one("#row-when", Row)
        await until(pilot, lambda: error_of(when) != "", what="the rule's error")
        assert form.query_one("#group", Input).value == "Sales desk"
        assert form.query_one("#when", Input).value == "department is Sales"

    drive(app, scenario, size=(120, 40))
    assert live.config.read_text() == before


def test_a_targets_own_settings_are_shown_and_saved_with_no_tui_change(live: LiveDaemon) -> None:
    app = AzsyncApp(socket=str(live.socket))

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("5")
        await settle(pilot)
        settings = app.query_one("#settings-panel")
        titles = [text(s) for s in settings.query(".section").results(Static)]
        assert "Help desk: [target.memory]" in titles
        assert "memory" in text(settings.query_one("#file-target-kind"))
        token = text(settings.query_one("#file-target-memory-token_file"))
        assert "token" in token and "(config file)" in token
        assert not settings.query("#target-token_file")  # a file is set in the file only
        assert settings.query_one("#target-book", Input).value == "nothing-lost"
        calls = settings.query_one("#target-calls_per_minute", Input)
        assert calls.value == "600"
        calls.value = "90"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "Saved at" in text(settings.query_one("#form-status")))
        table = live.daemon.config.target.settings
        assert table is not None and table.calls_per_minute == 90  # type: ignore[attr-defined]
        assert table.book == "nothing-lost"  # type: ignore[attr-defined]
        assert "calls_per_minute = 90" in live.config.read_text()

    drive(app, scenario, size=(120, 40))


ZENDESK = (
    '[target]\nkind = "zendesk"\n[target.zendesk]\nsubdomain = "acme"\n'
    'email = "admin@acme.example"\napi_token_file = "token"\n'
)


def test_a_built_in_target_written_since_shows_its_table_the_same_way(tmp_path: Path) -> None:
    """Zendesk was added to azsync after the Settings tab: its booleans are switches, its
    plan a list, its host and token file set in the file only, an unset key stays unset."""
    (tmp_path / "token").write_text("t0ken")
    with live_daemon(tmp_path, TENANT + ZENDESK, users=3) as live:
        app = AzsyncApp(socket=str(live.socket))

        async def scenario(pilot: Pilot[Any]) -> None:
            await pilot.press("5")
            await settle(pilot)
            settings = app.query_one("#settings-panel")
            assert "acme  (config file)" in text(
                settings.query_one("#file-target-zendesk-subdomain")
            )
            assert not settings.query("#target-subdomain") and not settings.query(
                "#target-base_url"
            )
            assert settings.query_one("#target-bulk", OnOff).value
            plan = settings.query_one("#target-plan", Select)
            assert plan.value == "team" and "enterprise" in [v for _, v in plan._options]
            assert settings.query_one("#target-calls_per_minute", Input).value == ""
            settings.query_one("#target-verify_email", OnOff).value = True
            plan.value = "enterprise"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "Saved at" in text(settings.query_one("#form-status")))

        drive(app, scenario, size=(120, 40))
        table = live.daemon.config.target.settings
        assert table is not None
        assert (table.verify_email, table.plan) == (True, "enterprise")  # type: ignore[attr-defined]
        assert table.calls_per_minute is None  # type: ignore[attr-defined]
        assert "calls_per_minute" not in live.config.read_text()
