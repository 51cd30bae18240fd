"""Driving the TUI in tests: wait for a state (never a time), type bursts, read the screen."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from textual import events
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input

from tests.helpers import Deadline
from tui.app import AzsyncApp
from tui.screens.modal import Modal
from tui.screens.tenant_form import TenantForm

# Workers whose end the screen waits for (the sign-in poll runs until the sign-in ends).
BUSY = {"panel-load", "records", "group-search", "form-save", "status", "sync", "tenant-form"}


def text(widget: Widget) -> str:
    """What a widget shows, as plain text."""
    return str(widget.render())


def on_screen(app: Any, kind: type[Any]) -> bool:
    """A ``kind`` screen is on top and built (composed and mounted): its widgets are there.
    A pushed screen is the app's screen before it has any."""
    return isinstance(app.screen, kind) and app.screen.is_mounted


def quiet(app: AzsyncApp) -> bool:
    """Nothing is being read, shown, held or built."""
    panel = app.current_panel()
    return (
        (app.last_status is not None or not app.reachable)
        and panel is not None
        and panel.settled
        and not app._holds
        and not app._held
        and not any(w.is_running and w.group in BUSY for w in app.workers)
        and (not isinstance(app.screen, Modal) or app.screen.is_mounted)
        and getattr(app.screen, "answerable", True)  # a question takes keys only once shown
    )


async def until(
    pilot: Pilot[Any], check: Callable[[], object], timeout: float = 30, what: str = ""
) -> None:
    """Wait until ``check()`` is true, polling; fail with ``what`` after ``timeout`` seconds
    (as an idle machine takes them: the deadline stretches with the load, ``Deadline``)."""
    deadline = Deadline(timeout)
    last: Exception | None = None
    while not deadline.passed():
        try:
            if check():
                return
        except Exception as exc:  # the widget may not exist yet
            last = exc
        # Not Pilot.pause: that has each widget of the screen run a callback and repaints
        # the screen, every 20 ms of a wait (a form has some 200 widgets). The app runs in
        # this event loop meanwhile and refreshes its screen on its own timer.
        await asyncio.sleep(0.02)
    raise AssertionError(
        f"the screen never showed {what or 'what was expected'} within {deadline} ({last!r})"
    )


async def settle(pilot: Pilot[Any], timeout: float = 30) -> None:
    """Wait until the screen is quiet, and still quiet once the messages queued meanwhile ran."""
    app: AzsyncApp = pilot.app  # type: ignore[assignment]
    for _ in range(2):
        await pilot.pause()
        await until(pilot, lambda: quiet(app), timeout, "a quiet screen")


def key_event(key: str) -> events.Key:
    names = {"\t": "tab", "\r": "enter", "\x1b": "escape", " ": "space", "/": "slash"}
    names.update({"{": "left_curly_bracket", "}": "right_curly_bracket", "?": "question_mark"})
    names.update({".": "full_stop", "-": "minus", "@": "at", "_": "underscore"})
    if len(key) > 1:
        return events.Key(key, None)
    return events.Key(names.get(key, key), key if key.isprintable() else None)


async def burst(pilot: Pilot[Any], keys: Iterable[str]) -> None:
    """Keys as a slow link delivers them: all at once, before the app has handled any."""
    for key in keys:
        pilot.app.post_message(key_event(key))
    await pilot.pause()


def drive(
    app: AzsyncApp,
    scenario: Callable[[Pilot[Any]], Awaitable[None]],
    size: tuple[int, int] = (80, 24),
) -> None:
    """Run ``scenario`` against the app at ``size``; an exception in the app fails the test."""

    async def run() -> None:
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await scenario(pilot)
            await settle(pilot)

    asyncio.run(run())
    assert app._exception is None, app._exception


def visible(widget: Widget) -> bool:
    """The whole widget is on screen and drawn: not scrolled away, clipped or covered."""
    region, screen = widget.region, widget.screen
    if not (widget.display and region.area > 0 and screen.region.contains_region(region)):
        return False
    try:
        drawn, _ = screen.get_widget_at(region.x, region.y)
    except Exception:  # nothing is drawn there
        return False
    return drawn is widget or widget in drawn.ancestors


async def open_tenant_form(pilot: Pilot[Any], **values: str) -> TenantForm:
    """The add-tenant form from the Tenants tab, with ``values`` typed into its fields."""
    await pilot.press("2", "a")
    await until(pilot, lambda: on_screen(pilot.app, TenantForm), what="the tenant form")
    form: TenantForm = pilot.app.screen  # type: ignore[assignment]
    for key, value in values.items():
        form.query_one(f"#{key}", Input).value = value
    return form


async def answer(pilot: Pilot[Any], key: str) -> None:
    """Press ``key`` in the question on screen once it takes answers: a key typed before the
    question was shown is dropped, so a test waits for the state an admin would see."""
    screen = pilot.app.screen
    await until(pilot, lambda: getattr(screen, "answerable", True), what="a question on screen")
    await pilot.press(key)
