"""The screens the snapshot tests take, at 80x24 and 120x40 (pytest-textual-snapshot), and
how each is reached. Three test files take a third of them each, so that test workers share
them out.

Each picture is taken once the screen is quiet (nothing read, shown or held), never after a
fixed time; the daemon's answers are fixed, so the pictures do not depend on the clock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select, TextArea

from tests.tui.canned_daemon import canned_client
from tests.tui.driving import settle, until
from tui.app import AzsyncApp

SIZES = [(80, 24), (120, 40)]
SIZE_IDS = ["80x24", "120x40"]


def app() -> AzsyncApp:
    return AzsyncApp(client=canned_client())


def steps(*keys: str, then: Callable[[Pilot[Any]], Awaitable[None]] | None = None) -> Any:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        if then is not None:
            await then(pilot)
            await settle(pilot)
        for field in pilot.app.screen.query("Input, TextArea"):
            if isinstance(field, Input | TextArea):
                field.cursor_blink = False  # a blinking cursor is in the picture or not
        pilot.app.clear_notifications()  # a toast is there or gone by a clock
        await pilot.pause()

    return run_before


def pick(selector: str, value: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def choose(pilot: Pilot[Any]) -> None:
        pilot.app.screen.query_one(selector, Select).value = value
        await pilot.pause()

    return choose


async def refused_time(pilot: Pilot[Any]) -> None:
    pilot.app.query_one("#time", Input).value = "noon"
    await pilot.press("ctrl+s")
    status = pilot.app.query_one("#settings-panel #form-status")
    await until(pilot, lambda: "Not saved" in str(status.render()))


async def check_grace(pilot: Pilot[Any]) -> None:
    pilot.app.screen.query_one("#who", Input).value = "grace@contoso.example"
    await pilot.press("enter")
    trace = pilot.app.screen.query_one("#trace-text")
    await until(pilot, lambda: "Fails" in str(trace.render()))


async def help_desk_rows(pilot: Pilot[Any]) -> None:
    pilot.app.screen.set_focus(pilot.app.query_one("#target-rate_headroom"))
    await pilot.pause()


async def the_fax_mistake(pilot: Pilot[Any]) -> None:
    """Main phone <- faxNumber, the focus on a list (p in a text field is a letter)."""
    phone = pilot.app.query_one("#mapping-panel #phone-m", Select)
    phone.value = "faxNumber"
    pilot.app.screen.set_focus(phone)
    await until(pilot, lambda: "mapping" in pilot.app.unsaved)  # type: ignore[attr-defined]


async def previewed(pilot: Pilot[Any]) -> None:
    await the_fax_mistake(pilot)
    await pilot.press("p")
    await until(
        pilot, lambda: "Top reasons" in str(pilot.app.screen.query_one("#preview-text").render())
    )


async def save_asks(pilot: Pilot[Any]) -> None:
    await the_fax_mistake(pilot)
    await pilot.press("ctrl+s")
    await until(pilot, lambda: getattr(pilot.app.screen, "answerable", False))


async def an_unsaved_edit(pilot: Pilot[Any]) -> None:
    pilot.app.query_one("#mapping-panel #name", Input).value = "{surname}, {givenName}"
    await until(pilot, lambda: "mapping" in pilot.app.unsaved)  # type: ignore[attr-defined]


CASES: dict[str, Any] = {
    **{f"tab-{n}": steps(str(n % 10)) for n in range(1, 11)},
    "add-tenant-secret": steps("2", "a"),
    "add-tenant-pem": steps("2", "a", then=pick("#kind", "pem")),
    "add-tenant-pfx": steps("2", "a", then=pick("#kind", "pfx")),
    "add-tenant-device-code": steps("2", "a", then=pick("#kind", "device_code")),
    "credential": steps("2", "c"),
    "confirm-sync": steps("s"),
    "export-path": steps("6", "x"),
    "help-log": steps("6", "question_mark"),
    "confirm-dry-run": steps("d"),
    "dry-run-plan": steps("d", "y"),
    "confirm-full-sync": steps("f"),
    "check-user": steps("u", then=check_grace),
    "settings-help-desk": steps("5", then=help_desk_rows),
    "flash-unsaved": steps("3", then=an_unsaved_edit),
    "preview": steps("3", then=previewed),
    "preview-save-asks": steps("3", then=save_asks),
    "sign-in": steps("2", "down", "z", "y"),
    "settings-refused": steps("5", then=refused_time),
    "add-rule": steps("9", "a"),
    "help-leavers": steps("9", "question_mark"),
}


def take(
    snap_compare: Any, case: str, size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir("/tmp")  # the export dialog shows the full path it writes to
    assert snap_compare(app(), terminal_size=size, run_before=CASES[case])
