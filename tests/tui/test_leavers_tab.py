"""The Joiners & leavers tab (9) against a real daemon on a temporary Unix socket: the leaver
settings as a form, contact-group rules added in a dialog and removed after asking, the upcoming
starts and the leavers known.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select

from azsyncd.state.fields import utcnow
from azsyncd.state.joiners import JoinerState
from azsyncd.state.lifecycle import Leaver, LifecycleState
from tests.tui.driving import drive, settle, text, until, visible
from tests.tui.tui_daemon import tui_on
from tui.screens.confirm import ConfirmScreen
from tui.screens.help import HelpScreen
from tui.screens.rule_form import RuleForm
from tui.widgets.fields import Row
from tui.widgets.lifecycle_panel import LifecyclePanel

pytestmark = pytest.mark.slow


async def leavers_tab(pilot: Pilot[Any]) -> LifecyclePanel:
    await pilot.press("9")
    await settle(pilot)
    panel = pilot.app.query_one(LifecyclePanel)
    assert pilot.app.current_panel() is panel  # type: ignore[attr-defined]
    return panel


def error_of(row: Row) -> str:
    return text(row.query_one(".field-error"))


def test_the_settings_form_opens_focused_fits_80x24_and_shows_a_refusal(tmp_path: Path) -> None:
    with tui_on(tmp_path, users=3) as (live, app):

        async def scenario(pilot: Pilot[Any]) -> None:
            panel = await leavers_tab(pilot)
            assert app.focused is panel.query_one("#on_removed", Select)
            for row in panel.query(Row):  # every label stays beside its control
                panel.screen.set_focus(row.control)
                await pilot.pause()
                assert visible(row.control) and visible(row.query_one(".field-label")), row.id
                assert text(row.query_one(".field-label")) == row.label
            panel.query_one("#on_disabled", Select).value = "disable_login"
            panel.query_one("#grace_days", Input).value = "-2"
            await pilot.press("ctrl+s")
            row = panel.query_one("#row-grace_days", Row)
            await until(pilot, lambda: error_of(row) != "", what="the grace days' error")
            assert "greater than or equal to 0" in error_of(row)
            assert live.daemon.config.lifecycle.on_disabled == "keep"  # nothing half-saved
            panel.query_one("#on_disabled", Select).value = "disable_login"
            panel.query_one("#grace_days", Input).value = "5"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: live.daemon.config.lifecycle.grace_days == 5)
            await until(pilot, lambda: "Saved" in text(panel.query_one("#form-status")))
            assert error_of(row) == ""

        drive(app, scenario, size=(80, 24))
        assert live.daemon.config.lifecycle.on_disabled == "disable_login"


def test_a_rule_is_added_in_a_dialog_and_removed_only_after_yes(tmp_path: Path) -> None:
    with tui_on(tmp_path, users=3) as (live, app):

        async def scenario(pilot: Pilot[Any]) -> None:
            panel = await leavers_tab(pilot)
            rules = panel.query_one("#rule-table", DataTable)
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, RuleForm), what="the rule form")
            form = app.screen
            assert app.focused is form.query_one("#group", Input)
            await pilot.press(*"Sales desk")
            form.query_one("#when", Input).value = 'departmnt = "Sales"'
            await pilot.press("ctrl+s")
            when_row = form.query_one("#row-when", Row)
            await until(pilot, lambda: error_of(when_row) != "", what="the condition's error")
            assert 'did you mean "department"' in error_of(when_row)
            assert form.query_one("#group", Input).value == "Sales desk"  # nothing lost
            assert live.daemon.config.contact_groups == []
            form.query_one("#when", Input).value = 'department starts with "Sales"'
            await pilot.press("ctrl+s")
            await until(pilot, lambda: not isinstance(app.screen, RuleForm))
            await until(pilot, lambda: rules.row_count == 1)
            (rule,) = live.daemon.config.contact_groups
            assert (rule.group, rule.when) == ("Sales desk", 'department starts with "Sales"')

            panel.screen.set_focus(rules)
            await pilot.press("delete")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert "Sales desk" in text(app.screen.query_one("#question"))
            await pilot.press("n")  # No keeps it
            await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
            await settle(pilot)
            assert len(live.daemon.config.contact_groups) == 1 and rules.row_count == 1
            await pilot.press("delete", "y")
            await until(pilot, lambda: live.daemon.config.contact_groups == [])
            await until(pilot, lambda: rules.row_count == 0)

            # Esc closes an empty dialog at once.
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, RuleForm))
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, RuleForm))

        drive(app, scenario, size=(80, 24))


def test_help_lists_the_tabs_keys_and_the_leavers_known_are_listed(tmp_path: Path) -> None:
    with tui_on(tmp_path, users=3) as (live, app):
        LifecycleState(live.daemon.state.db).save_leavers(
            [
                Leaver(
                    tenant="contoso",
                    object_id="u-gone",
                    email="gone@contoso.example",
                    gone_since=utcnow(),
                    acted=True,
                )
            ]
        )

        async def scenario(pilot: Pilot[Any]) -> None:
            panel = await leavers_tab(pilot)
            leavers = panel.query_one("#leaver-table", DataTable)
            await until(pilot, lambda: leavers.row_count == 1, what="the leaver")
            row = [str(c) for c in leavers.get_row_at(0)]
            assert row[0] == "contoso" and row[1] == "gone@contoso.example" and row[-1] == "off"
            await pilot.press("escape", "question_mark")
            await until(pilot, lambda: isinstance(app.screen, HelpScreen))
            shown = "".join(text(s) for s in app.screen.query("Static"))
            assert "Keys of the Joiners & leavers tab" in shown
            for key in ("Add rule", "Remove rule", "Save", "1-9"):
                assert key in shown, key
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, HelpScreen))

        drive(app, scenario, size=(80, 24))


def test_the_upcoming_starts_are_listed(tmp_path: Path) -> None:
    """A joiner whose contact waits and one too early for a contact, soonest first."""
    with tui_on(tmp_path, users=3) as (live, app):
        JoinerState(live.daemon.state.db).note(
            {
                "tenant": "contoso",
                "object_id": f"u-{n}",
                "email": f"{n}@contoso.example",
                "name": n.title(),
                "hire_date": day,
                "created_run": 1,
                "created": created,
                "user": {},
            }
            for n, day, created in (("fay", "2031-03-20", False), ("jo", "2031-03-04", True))
        )

        async def scenario(pilot: Pilot[Any]) -> None:
            panel = await leavers_tab(pilot)
            joiners = panel.query_one("#joiner-table", DataTable)
            await until(pilot, lambda: joiners.row_count == 2, what="the joiners")
            first, second = ([str(c) for c in joiners.get_row_at(i)] for i in range(2))
            assert first[1:] == ["jo@contoso.example", "2031-03-04", "ready, login off"]
            assert second[1:] == ["fay@contoso.example", "2031-03-20", "from 2031-03-20"]
            title = text(panel.query_one("#joiners-title"))
            assert "off (create_before_hire_days = 0" in title

        drive(app, scenario, size=(80, 24))
