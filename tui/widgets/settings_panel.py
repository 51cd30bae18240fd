"""The Settings tab: contact sync on/off, the schedule and time zone, the welcome email."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Label, Static, Switch

from azsyncd.control.client import Settings, Status
from tui.api import Failure
from tui.text import when
from tui.widgets.panel import Panel


class SettingsPanel(Panel):
    DEFAULT_CSS = """
    SettingsPanel Horizontal { height: auto; }
    SettingsPanel Label { width: 28; padding: 1 1 0 0; }
    SettingsPanel Input { width: 30; }
    SettingsPanel #time, SettingsPanel #interval { width: 11; }
    SettingsPanel Label.inline { width: 24; padding: 1 1 0 2; }
    """
    BINDINGS = [Binding("ctrl+s", "save", "Save settings")]

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label("Contact sync")
            yield Switch(False, id="enabled")
        yield Static(
            "On: a sync at once, then daily at this time, and changes at each interval.",
            classes="hint",
        )
        with Horizontal():
            yield Label("Daily at (HH:MM)")
            yield Input("00:00", id="time")
            yield Label("changes every (0=off)", classes="inline")
            yield Input("", id="interval", placeholder="5m")
        with Horizontal():
            yield Label("Time zone (IANA)")
            yield Input("UTC", id="timezone")
        with Horizontal():
            yield Label("Welcome email to new contacts")
            yield Switch(False, id="welcome")
        yield Static("", id="smtp", classes="hint")
        yield Static("", id="next-run")
        yield Static("", id="settings-errors", classes="error")
        yield Static("[dim]Ctrl+S[/dim] save", classes="hint")

    @work(thread=True, exclusive=True, group="settings")
    def load(self) -> None:
        settings = self.fetch(lambda c: c.settings())
        status = self.fetch(lambda c: c.status())
        if settings is not None and status is not None:
            self.app.call_from_thread(self.show, settings, status)

    def show(self, settings: Settings, status: Status) -> None:
        self.query_one("#enabled", Switch).value = settings.schedule.enabled
        self.query_one("#time", Input).value = settings.schedule.time
        self.query_one("#interval", Input).value = settings.schedule.interval
        self.query_one("#timezone", Input).value = settings.account.timezone
        mail = settings.welcome_email
        self.query_one("#welcome", Switch).value = mail.enabled
        smtp = (
            f"SMTP: {mail.smtp_host}:{mail.smtp_port} ({mail.tls})"
            if mail.smtp_host
            else (
                "SMTP is not configured: set [welcome_email] smtp_host and from_address in the "
                "configuration file"
            )
        )
        self.query_one("#smtp", Static).update(smtp)
        self.query_one("#next-run", Static).update(f"Next run: {when(status.next_run)} UTC")

    def action_save(self) -> None:
        self.save(
            {
                "schedule": {
                    "enabled": self.query_one("#enabled", Switch).value,
                    "time": self.query_one("#time", Input).value,
                    "interval": self.query_one("#interval", Input).value,
                },
                "account": {"timezone": self.query_one("#timezone", Input).value},
                "welcome_email": {"enabled": self.query_one("#welcome", Switch).value},
            }
        )

    @work(thread=True, exclusive=True, group="settings-save")
    def save(self, body: dict[str, Any]) -> None:
        answer = self.attempt(lambda c: c.update_settings(**body))
        problems = answer.problems if isinstance(answer, Failure) else []
        text = "\n".join(f"{p.key}: {p.message}" for p in problems)
        self.app.call_from_thread(self.query_one("#settings-errors", Static).update, text)
        self.say(answer, "Settings saved")
        if not isinstance(answer, Failure):
            self.app.call_from_thread(self.reload)
