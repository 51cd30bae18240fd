"""The TUI driven with Textual's Pilot against a real daemon on a temporary socket."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Select, SelectionList, Static

from azsyncd.demo.directory import DEMO_CLIENT, DEMO_TENANT
from azsyncd.demo.run import tenant_toml as demo_tenant_toml
from tests.fakes.directory import contoso
from tests.helpers import running_daemon, short_dir
from tests.tui.tui_daemon import live_daemon
from tui.app import AzsyncApp
from tui.screens.forms import AddTenantScreen
from tui.screens.plan import PlanScreen
from tui.screens.sign_in import SignInScreen
from tui.widgets.log_panel import LogPanel

pytestmark = pytest.mark.slow

TENANT = demo_tenant_toml(secret_file="contoso-secret", extra='display_name = "Contoso"')


async def until(pilot: Any, check: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        await pilot.pause(0.05)
    raise AssertionError("the screen never showed what was expected")


def text(widget: Any) -> str:
    return str(widget.render())


def drive(
    app: AzsyncApp, scenario: Callable[[Any], Awaitable[None]], size: tuple[int, int] = (80, 24)
) -> None:
    async def run() -> None:
        async with app.run_test(size=size) as pilot:
            await scenario(pilot)

    asyncio.run(run())


def test_add_and_authorize_a_tenant_with_a_device_code(tmp_path: Path) -> None:
    # A tenant in the global cloud: custom login and Graph URLs are set in the file only.
    directory = contoso(
        users=60, login="https://login.microsoftonline.com", graph="https://graph.microsoft.com"
    )
    with live_daemon(tmp_path, directory=directory) as live:
        live.directory.pending_polls = 2
        app = AzsyncApp(socket=str(live.socket))

        async def scenario(pilot: Any) -> None:
            await pilot.press("2")
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, AddTenantScreen))
            form = app.screen
            for key, value in (
                ("name", "contoso"),
                ("tenant_id", DEMO_TENANT),
                ("client_id", DEMO_CLIENT),
            ):
                form.query_one(f"#{key}", Input).value = value
            form.query_one("#auth", Select).value = "device_code"
            form.query_one("#tenant_id", Input).value = "consumers"
            await pilot.press("ctrl+s")
            await until(
                pilot, lambda: "personal Microsoft accounts" in text(form.query_one("#errors"))
            )
            form.query_one("#tenant_id", Input).value = DEMO_TENANT
            await pilot.press("ctrl+s")
            table = app.query_one("#tenant-table", DataTable)
            await until(pilot, lambda: table.row_count == 1)
            assert table.get_row_at(0)[1].startswith("New")
            await pilot.press("z")
            await until(pilot, lambda: isinstance(app.screen, SignInScreen))
            assert "D E M O - C O D E" in text(app.screen.query_one("#code"))
            assert "microsoft.com/devicelogin" in text(app.screen.query_one("#url"))
            await until(
                pilot, lambda: "Active ✅" in text(app.screen.query_one("#state")), timeout=30
            )
            await pilot.press("escape")
            await until(pilot, lambda: table.get_row_at(0)[1] == "Active ✅")

        drive(app, scenario)
        assert live.daemon.state.tenant("contoso").status == "active"


def test_edit_the_mapping_and_see_a_validation_error_next_to_the_field(tmp_path: Path) -> None:
    with live_daemon(tmp_path, TENANT) as live:
        app = AzsyncApp(socket=str(live.socket))

        async def scenario(pilot: Any) -> None:
            await pilot.press("3")
            await until(pilot, lambda: app.query_one("#name", Input) is not None)
            app.query_one("#name", Input).value = "{givenNme} {surname}"
            await pilot.press("ctrl+s")
            error = app.query_one("#err-mapping-name", Static)
            await until(pilot, lambda: 'unknown directory attribute "givenNme"' in text(error))
            assert 'did you mean "givenName"' in text(error)
            app.query_one("#name", Input).value = "{givenName} {surname}"
            app.query_one("#custom-4", Select).value = "jobTitle"  # Title <- jobTitle
            await pilot.press("ctrl+s")
            await until(pilot, lambda: text(error) == "")

        drive(app, scenario, size=(120, 40))
        mapping = live.daemon.config.mapping
        assert (
            mapping.name == "{givenName} {surname}" and mapping.custom_fields["Title"] == "jobTitle"
        )


def test_pick_groups_with_live_search(tmp_path: Path) -> None:
    with live_daemon(tmp_path, TENANT) as live:
        app = AzsyncApp(socket=str(live.socket))

        async def scenario(pilot: Any) -> None:
            await pilot.press("4")
            await until(pilot, lambda: app.query_one("#tenant", Select).value == "contoso")
            app.query_one("#search", Input).value = "Customer"
            results = app.query_one("#results", SelectionList)
            await until(pilot, lambda: results.option_count == 1)
            results.focus()
            await pilot.press("space")
            await until(pilot, lambda: "Customer facing" in text(app.query_one("#chosen")))
            await pilot.press("ctrl+s")
            await until(pilot, lambda: live.daemon.config.tenants[0].users == "groups")

        drive(app, scenario)
        assert live.daemon.config.tenants[0].groups == ["a0000001-0000-4000-b000-000000000000"]


def test_dry_run_then_sync_with_progress_then_log_and_csv_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with live_daemon(tmp_path, TENANT, users=120) as live:
        app = AzsyncApp(socket=str(live.socket))

        async def scenario(pilot: Any) -> None:
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, PlanScreen), timeout=30)
            plan = app.screen.query_one(DataTable)
            assert plan.row_count > 50 and "nothing was written" in text(
                app.screen.query_one(Static)
            )
            await pilot.press("escape")
            live.directory.delay = 0.3  # slow Graph pages, to watch the progress
            await pilot.press("s")
            label = app.query_one("#progress-label", Static)
            await until(pilot, lambda: "Running: run" in text(label), timeout=30)
            await until(pilot, lambda: text(label) == "Idle.", timeout=60)
            await pilot.press("6")
            table = app.query_one("#record-table", DataTable)
            await until(pilot, lambda: table.row_count == 120)
            assert "manual" in text(app.query_one("#summary"))
            app.query_one("#status", Select).value = "failed"
            await until(pilot, lambda: 0 < table.row_count < 120)
            assert all(table.get_row_at(i)[2] == "Failed" for i in range(table.row_count))
            await pilot.press("x")
            await pilot.press("enter")
            await until(pilot, lambda: any(tmp_path.glob("azsync-run-*.csv")))

        drive(app, scenario)
        report = next(tmp_path.glob("azsync-run-*.csv")).read_text(encoding="utf-8")
        assert report.startswith("\ufeffEmail,Type,Sync Status,Result")
        assert Path(".").resolve() == tmp_path.resolve()


def test_daemon_down_and_back(tmp_path: Path) -> None:
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


def test_a_held_run_is_shown_then_approved_and_another_discarded(tmp_path: Path) -> None:
    with live_daemon(
        tmp_path, TENANT + "\n[sync.thresholds]\ncreate = 3\nupdate = 0\n", users=20
    ) as live:
        held = live.daemon.start_sync("manual")
        assert held is not None and live.daemon.runner.wait(60)
        app = AzsyncApp(socket=str(live.socket))

        async def scenario(pilot: Any) -> None:
            await pilot.press("6")
            summary = app.query_one("#summary", Static)
            await until(pilot, lambda: "press a to apply this plan" in text(summary))
            assert app.query_one("#record-table", DataTable).row_count == 20
            await pilot.press("a")
            await until(pilot, lambda: f"applied by run {held + 1}" in text(summary), 60)
            assert "approved" in text(summary) and "press a" not in text(summary)
            live.directory.update_user(
                "00000000-0000-4000-a000-000000000000",
                givenName="X",
                displayName="X",
                department="X",
            )
            second = live.daemon.start_sync("manual")
            assert second is not None and live.daemon.runner.wait(60)
            runs = app.query_one("#run", Select)
            app.query_one(LogPanel).load()
            await until(pilot, lambda: second in [value for _, value in runs._options])
            runs.value = second
            await until(pilot, lambda: "press a to apply this plan" in text(summary))
            await pilot.press("D")
            await until(pilot, lambda: "discarded" in text(summary))

        drive(app, scenario, size=(120, 40))


def test_open_alerts_and_a_test_alert_from_the_command_palette(tmp_path: Path) -> None:
    from tests.fakes.servers import serve
    from tests.service.test_alerts import Receiver

    hook = Receiver()
    with serve(hook) as port:
        extra = f'\n[alerts]\nwebhook_url = "http://127.0.0.1:{port}/hook"\n'
        with live_daemon(tmp_path, TENANT + extra, users=5) as live:
            app = AzsyncApp(socket=str(live.socket))

            def said(words: str) -> bool:
                return any(words in str(n.message) for n in app._notifications)

            async def scenario(pilot: Any) -> None:
                app.show_alerts()
                await until(pilot, lambda: said("No alert is open"))
                app.test_alert()
                await until(pilot, lambda: said("Test alert: webhook sent"))
                assert [body["event"] for body, _ in hook.posts] == ["test"]

            drive(app, scenario)


def test_leavers_tab_saves_settings_and_rules_and_shows_a_refusal(tmp_path: Path) -> None:
    with live_daemon(tmp_path, TENANT) as live:
        app = AzsyncApp(socket=str(live.socket))

        async def scenario(pilot: Any) -> None:
            await pilot.press("8")
            rules = app.query_one("#rule-table", DataTable)
            await until(pilot, lambda: app.query_one("#grace-days", Input).value == "3")
            app.query_one("#on-disabled", Select).value = "disable_login"
            app.query_one("#grace-days", Input).value = "5"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: live.daemon.config.lifecycle.grace_days == 5)
            app.query_one("#rule-group", Input).value = "Sales desk"
            app.query_one("#rule-when", Input).value = 'departmnt = "Sales"'
            await pilot.press("ctrl+n")
            error = app.query_one("#lifecycle-errors", Static)
            await until(pilot, lambda: 'did you mean "department"' in text(error))
            assert rules.row_count == 0
            app.query_one("#rule-when", Input).value = 'department starts with "Sales"'
            await pilot.press("ctrl+n")
            await until(pilot, lambda: rules.row_count == 1 and text(error) == "")
            rules.focus()
            await pilot.press("delete")
            await until(pilot, lambda: rules.row_count == 0)

        drive(app, scenario, size=(120, 40))
        assert live.daemon.config.lifecycle.on_disabled == "disable_login"
        assert live.daemon.config.contact_groups == []
