"""The log is readable at 80x24, groups are chosen by name, and a fix leads to its setting
(issue 16, points 4, 5 and 6); the whole sync path from the TUI. Against a real daemon."""

from __future__ import annotations

import asyncio
import os
import pwd
import threading
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, OptionList, Select, Static

from azsyncd.control.client import Client
from tests.helpers import running_daemon, short_dir, within
from tests.tui.driving import answer, drive, on_screen, settle, text, until
from tests.tui.tui_daemon import TENANT, live_daemon, tui_on
from tui.app import AzsyncApp
from tui.screens.path import PathScreen
from tui.screens.plan import PlanScreen
from tui.widgets.fields import OnOff

pytestmark = pytest.mark.slow

CUSTOMER_FACING = "a0000001-0000-4000-b000-000000000000"


def test_dry_run_then_sync_with_progress_then_the_log_and_a_filtered_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "azsync-run-2-failed.csv"
    shown: dict[str, int] = {}
    with tui_on(tmp_path, users=120) as (live, app):

        async def scenario(pilot: Pilot[Any]) -> None:
            await pilot.press("d")
            await answer(pilot, "y")
            # The plan once its table is there (a screen is pushed before it is built).
            await until(
                pilot,
                lambda: on_screen(app, PlanScreen) and app.screen.query(DataTable),
                timeout=60,
                what="the plan",
            )
            plan = app.screen.query_one(DataTable)
            await until(pilot, lambda: plan.row_count > 50, what="the plan's rows")
            assert "nothing was written" in text(app.screen.query_one(Static))
            await pilot.press("escape")
            live.directory.delay = 0.3  # slow Graph pages, to watch the progress
            await pilot.press("s")
            await answer(pilot, "y")
            label = app.query_one("#progress-label", Static)
            await until(pilot, lambda: "Running: run" in text(label), timeout=30)
            assert "syncing" in app.sub_title
            await until(pilot, lambda: text(label) == "Idle.", timeout=60)
            await pilot.press("6")
            await settle(pilot)
            table = app.query_one("#record-table", DataTable)
            assert table.row_count == 120 and "manual" in text(app.query_one("#summary"))
            # Run, status and search on one line; a Tenant column; the Result in full below.
            filters = [app.query_one(f"#log-panel #{key}") for key in ("run", "status", "search")]
            assert len({w.region.y for w in filters}) == 1
            assert all(w.region.right <= 80 for w in filters)
            labels = [c.label.plain for c in table.ordered_columns]
            assert labels[:3] == ["Email", "Status", "Tenant"]
            app.query_one("#log-panel #status", Select).value = "failed"
            await until(pilot, lambda: 0 < table.row_count < 120)
            await settle(pilot)
            assert all(str(table.get_row_at(i)[1]) == "Failed" for i in range(table.row_count))
            shown["failed"] = table.row_count
            result = text(app.query_one("#result"))
            record = app.query_one("#log-panel").records[0]  # type: ignore[attr-defined]
            assert record.result in " ".join(result.split()) or record.result in result
            await pilot.press("x")
            await until(pilot, lambda: on_screen(app, PathScreen))
            assert text(app.screen.query_one("#full-path")) == f"writes {target}"
            await pilot.press("enter")
            await until(pilot, lambda: target.exists())
            await until(pilot, lambda: str(target) in str([n.message for n in app._notifications]))

        drive(app, scenario)
        rows = target.read_text(encoding="utf-8-sig").splitlines()
        assert rows[0].startswith("Email,Type,Sync Status,Result,Tenant")
        assert len(rows) == 1 + shown["failed"] and all(",Failed," in row for row in rows[1:])


def test_a_fix_that_says_set_x_leads_to_x(tmp_path: Path) -> None:
    with live_daemon(tmp_path, TENANT, users=30) as live:
        with Client(live.socket) as client:
            client.update_settings(mapping={"skip_empty_phones": False})
        live.sync()
        app = AzsyncApp(socket=str(live.socket))

        async def scenario(pilot: Pilot[Any]) -> None:
            await pilot.press("6")
            await settle(pilot)
            app.query_one("#log-panel #search", Input).value = ""
            app.query_one("#log-panel #status", Select).value = "failed"
            await settle(pilot)
            panel = app.query_one("#log-panel")
            records = panel.records  # type: ignore[attr-defined]
            row = next(i for i, r in enumerate(records) if "mapping.skip_empty_phones" in r.result)
            table = app.query_one("#record-table", DataTable)
            app.screen.set_focus(table)
            table.move_cursor(row=row)
            await pilot.pause()
            assert "g goes to mapping.skip_empty_phones" in text(app.query_one("#result"))
            await pilot.press("g")
            await settle(pilot)
            switch = app.query_one("#mapping-panel #skip_empty_phones", OnOff)
            assert app.focused is switch and not switch.value
            await pilot.press("space", "ctrl+s")
            await until(pilot, lambda: live.daemon.config.mapping.skip_empty_phones)

        drive(app, scenario)


def test_an_answer_for_a_run_no_longer_picked_is_not_shown(tmp_path: Path) -> None:
    """The records of a run asked for first and answered last never replace those of the run
    the admin picked since."""
    with live_daemon(tmp_path, TENANT, users=20) as live:
        first, second = live.sync(), live.sync()
        app = AzsyncApp(socket=str(live.socket))

        async def scenario(pilot: Pilot[Any]) -> None:
            await pilot.press("6")
            await settle(pilot)
            panel: Any = app.query_one("#log-panel")
            summary = app.query_one("#log-panel #summary", Static)
            assert text(summary).startswith(f"Run {second}")
            asked, answer, delivered = threading.Event(), threading.Event(), threading.Event()
            real_attempt, real_on_ui = panel.attempt, panel.on_ui

            def of_first(values: tuple[Any, ...]) -> bool:
                return any(getattr(getattr(v, "run", None), "id", None) == first for v in values)

            def late_for_the_first_run(request: Any) -> Any:
                result = real_attempt(request)
                if of_first((result,)):
                    asked.set()
                    answer.wait(within(30))  # answers once the second run's records are shown
                return result

            def on_ui(callback: Any, *args: Any, **kwargs: Any) -> Any:
                result = real_on_ui(callback, *args, **kwargs)  # returns once it ran
                if of_first(args):
                    delivered.set()
                return result

            panel.attempt, panel.on_ui = late_for_the_first_run, on_ui
            select = app.query_one("#log-panel #run", Select)
            select.value = first
            await until(pilot, asked.is_set, what="the first run's records asked for")
            select.value = second
            await until(pilot, lambda: not panel.pending(), what="the second run shown")
            answer.set()
            await until(pilot, delivered.is_set, what="the first run's late answer")
            await settle(pilot)
            assert text(summary).startswith(f"Run {second}"), text(summary)

        drive(app, scenario)


def test_chosen_groups_are_listed_by_name_before_any_search(tmp_path: Path) -> None:
    chosen = TENANT + f'users = "groups"\ngroups = ["{CUSTOMER_FACING}"]\n'
    with tui_on(tmp_path, chosen, users=10) as (live, app):

        async def scenario(pilot: Pilot[Any]) -> None:
            await pilot.press("4")
            await settle(pilot)
            groups = app.query_one("#group-list", OptionList)
            prompts = [
                str(groups.get_option_at_index(i).prompt) for i in range(groups.option_count)
            ]
            assert prompts[0] == "[x] Customer facing", prompts
            assert all(p.startswith("[ ] ") for p in prompts[1:]) and len(prompts) > 3
            assert "Customer facing" in text(app.query_one("#chosen"))
            app.query_one("#users-panel #search", Input).value = "Fin"
            await settle(pilot)
            prompts = [
                str(groups.get_option_at_index(i).prompt) for i in range(groups.option_count)
            ]
            assert prompts == ["[x] Customer facing", "[ ] Finance"]  # the chosen stay listed
            app.screen.set_focus(groups)
            groups.highlighted = 1
            await pilot.press("enter")
            await until(pilot, lambda: "[x] Finance" in str(groups.get_option_at_index(1).prompt))
            groups.highlighted = 0
            await pilot.press("space")
            await until(
                pilot, lambda: "[ ] Customer facing" in str(groups.get_option_at_index(0).prompt)
            )
            assert "users" in app.unsaved
            await pilot.press("ctrl+s")
            await until(pilot, lambda: live.daemon.config.tenants[0].groups != [CUSTOMER_FACING])

        drive(app, scenario)
        tenant = live.daemon.config.tenants[0]
        assert tenant.users == "groups" and len(tenant.groups) == 1
        assert tenant.groups != [CUSTOMER_FACING]


def test_a_daemon_process_down_and_back(tmp_path: Path) -> None:
    config = tmp_path / "azsyncd.toml"
    config.write_text('[account]\nname = "Pilot Desk"\n')
    sock = short_dir() / "azsyncd.sock"

    async def scenario() -> None:
        with running_daemon(config, socket_path=sock) as daemon:
            app = AzsyncApp(socket=str(sock))
            async with app.run_test(size=(80, 24)) as pilot:
                status = app.query_one("#status-text", Static)
                await until(pilot, lambda: "Pilot Desk" in text(status))
                daemon.stop()
                banner = app.query_one("#banner", Static)
                await until(pilot, lambda: "azsyncd is not running" in text(banner))
                assert banner.has_class("shown") and "systemctl start azsyncd" in text(banner)
                with running_daemon(config, socket_path=sock):
                    await until(pilot, lambda: not banner.has_class("shown"))

    asyncio.run(scenario())


def test_the_audit_tab_lists_each_change_made_in_the_tui_with_the_users_name(
    tmp_path: Path,
) -> None:
    me = pwd.getpwuid(os.getuid()).pw_name
    with tui_on(tmp_path, users=3) as (live, app):

        async def scenario(pilot: Pilot[Any]) -> None:
            await pilot.press("2")
            await settle(pilot)
            await pilot.press("e")
            await answer(pilot, "y")  # disable contoso
            await until(pilot, lambda: not live.daemon.config.tenants[0].enabled)
            await pilot.press("5")
            await settle(pilot)
            app.query_one("#settings-panel #time", Input).value = "23:30"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: live.daemon.config.schedule.time == "23:30")
            await pilot.press("escape", "8")
            await settle(pilot)
            table = app.query_one("#audit-table", DataTable)
            await until(pilot, lambda: table.row_count >= 2, what="two audit entries")
            newest, older = (table.get_row_at(i) for i in (0, 1))
            assert str(newest[1]) == me and str(newest[2]) == "changed settings"
            assert "schedule.time" in str(newest[3]) and "23:30" in str(newest[3])
            assert "00:00" in str(newest[3]) and "->" in str(newest[3])  # old -> new
            assert str(older[1]) == me and str(older[2]) == "disabled tenant contoso"
            detail = text(app.query_one("#audit-text"))
            assert "23:30" in detail and me in detail

        drive(app, scenario)
