"""The TUI's saves that the daemon previews, beyond the mapping: enabling a tenant (Tenants,
e) and the Users tab's selection. A save refused for its preview asks first, naming the top
reason; No changes nothing, a deliberate Yes sends it again with force.

A live daemon on a real Unix socket; Contoso starts disabled, with ten guests without a
mailbox that fail whenever they are planned and ten more that are also disabled accounts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from azsyncd.demo.run import tenant_toml
from tests.fakes.directory import FakeTenant
from tests.tui.driving import answer, drive, settle, text, until
from tests.tui.tui_daemon import live_daemon
from tui.app import AzsyncApp
from tui.screens.confirm import ConfirmScreen
from tui.widgets.fields import OnOff

pytestmark = pytest.mark.slow
NO_ADDRESS = "email <- mail"  # the top reason of a guest without a mailbox
TENANT = tenant_toml(
    secret_file="contoso-secret",
    extra='display_name = "Contoso"\nenabled = false\nexclude_disabled = true',
)


def person(i: int, **values: Any) -> dict[str, Any]:
    return {
        "id": f"00000000-0000-4000-a000-{i:012d}",
        "userPrincipalName": f"p{i}@contoso.example",
        "mail": f"p{i}@contoso.example",
        "displayName": f"P {i}",
        "accountEnabled": True,
        "userType": "Member",
        "department": "Sales",
        "employeeId": str(1000 + i),
        **values,
    }


def guest(i: int, enabled: bool) -> dict[str, Any]:
    upn = f"g{i}_partner.example#EXT#@contoso.example"
    return person(i, userPrincipalName=upn, mail=None, userType="Guest", accountEnabled=enabled)


def question(app: AzsyncApp) -> str:
    screen = app.screen
    return text(screen.query_one("#question")) if isinstance(screen, ConfirmScreen) else ""


def test_enabling_a_tenant_and_letting_disabled_accounts_in_ask_before_forcing(
    tmp_path: Path,
) -> None:
    directory = FakeTenant()
    for i in range(10):
        directory.add_user(person(i))
        directory.add_user(guest(100 + i, enabled=True))
        directory.add_user(guest(200 + i, enabled=False))
    with live_daemon(tmp_path, TENANT, directory=directory) as live:
        app = AzsyncApp(socket=str(live.socket))

        def enabled() -> bool:
            tenant = live.daemon.config.tenant("contoso")
            return tenant is not None and tenant.enabled

        async def enable(pilot: Pilot[Any]) -> None:
            await pilot.press("2")
            await settle(pilot)
            await pilot.press("e")
            await until(pilot, lambda: "Enable contoso?" in question(app))
            await answer(pilot, "y")
            await until(pilot, lambda: "anyway?" in question(app), what="asked", timeout=90)
            assert NO_ADDRESS in question(app) and "tenant contoso" in question(app)
            before = live.config.read_text()
            await answer(pilot, "n")  # the default: it stays disabled
            await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
            await settle(pilot)
            assert not enabled() and live.config.read_text() == before
            await pilot.press("e")
            await until(pilot, lambda: "Enable contoso?" in question(app))
            await answer(pilot, "y")
            await until(pilot, lambda: "anyway?" in question(app), what="asked again", timeout=90)
            await answer(pilot, "y")
            await until(pilot, enabled, what="enabled with force", timeout=90)

        drive(app, enable, size=(120, 40))
        live.sync()  # the enabled guests' failures are kept: they fail now

        app = AzsyncApp(socket=str(live.socket))

        async def users(pilot: Pilot[Any]) -> None:
            await pilot.press("4")
            await settle(pilot)
            panel = app.query_one("#users-panel")
            switch = panel.query_one("#exclude_disabled", OnOff)
            assert switch.value
            switch.value = False
            app.screen.set_focus(switch)
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "Save anyway?" in question(app), what="asked", timeout=90)
            assert NO_ADDRESS in question(app) and "10 fail now" in question(app)
            await answer(pilot, "n")
            await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
            await settle(pilot)
            assert "exclude_disabled = true" in live.config.read_text()
            assert not panel.query_one("#exclude_disabled", OnOff).value  # the edit is kept
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "Save anyway?" in question(app), what="again", timeout=90)
            await answer(pilot, "y")
            await until(
                pilot,
                lambda: "exclude_disabled = false" in live.config.read_text(),
                what="saved with force",
                timeout=90,
            )

        drive(app, users, size=(120, 40))
