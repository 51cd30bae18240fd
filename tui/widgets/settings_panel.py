"""The Settings tab: account and time zone, contact sync and its schedule, the safety rail,
the welcome email with its SMTP settings, the target, and how much history is kept."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from functools import cache
from typing import Any

from textual.app import ComposeResult
from textual.suggester import SuggestFromList
from textual.widgets import Input, Static

from azsyncd.control.client import Client, Settings, Status
from tui.text import esc, local_time
from tui.widgets.fields import OnOff, Row, file_only_row, key_id
from tui.widgets.form_panel import FormPanel

FILE_ONLY = {
    "welcome_email.smtp_host": "SMTP host",
    "welcome_email.smtp_port": "SMTP port",
    "welcome_email.tls": "SMTP security",
    "welcome_email.password_file": "SMTP password file",
    "welcome_email.template_file": "Template file",
    "target.kind": "Help desk",
    "target.happyfox.base_url": "HappyFox URL",
}


@dataclass(frozen=True)
class SettingsData:
    settings: Settings
    status: Status


@cache
def zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def number(text: str, kind: type[int] | type[float]) -> Any:
    """The typed number, or the text as typed so the daemon's error names it."""
    try:
        return kind(text.strip())
    except ValueError:
        return text


def file_only_value(settings: Settings, key: str) -> str:
    node: Any = settings
    for part in key.split("."):
        node = getattr(node, part, None)
    return "" if node is None else str(node)


class SettingsPanel(FormPanel):
    def compose_form(self) -> ComposeResult:
        def text(widget_id: str, placeholder: str = "", **kwargs: Any) -> Input:
            return Input(id=widget_id, placeholder=placeholder, compact=True, **kwargs)

        yield Static("Contact sync", classes="section")
        yield Row(
            "Contact sync",
            OnOff(id="enabled"),
            keys=["schedule.enabled"],
            note="On: a sync runs at once, then every day at the time below",
        )
        yield Row("Daily at (HH:MM)", text("time", "00:00"), keys=["schedule.time"])
        yield Row(
            "Changes every",
            text("interval", "5m"),
            keys=["schedule.interval"],
            note="incremental syncs between the daily ones (5m, 1h); empty or 0 turns them off",
        )
        yield Static("", id="next-run", classes="aside")
        yield Row(
            "Safety rail (min share)",
            text("min_share", "0"),
            keys=["sync.min_share"],
            note="0.8: a tenant whose full read finds fewer than 80% of last time's users "
            "writes nothing that run; 0 turns it off",
        )
        yield Static("Account", classes="section")
        yield Row("Name", text("account_name"), keys=["account.name"])
        yield Row(
            "Time zone (IANA)",
            text(
                "timezone",
                "Europe/Berlin",
                suggester=SuggestFromList(zones(), case_sensitive=False),
            ),
            keys=["account.timezone"],
            note="the daily sync runs at its time in this zone; Right arrow takes a suggestion",
        )
        yield Static("Welcome email to new contacts", classes="section")
        yield Row("Welcome email", OnOff(id="welcome_enabled"), keys=["welcome_email.enabled"])
        yield Row(
            "From address",
            text("from_address", "helpdesk@contoso.example"),
            keys=["welcome_email.from_address"],
        )
        yield Row(
            "Portal URL",
            text("portal_url", "https://support.contoso.example"),
            keys=["welcome_email.portal_url"],
        )
        yield Row("Subject", text("subject"), keys=["welcome_email.subject"])
        yield Row(
            "SMTP user name", text("username", "empty: no login"), keys=["welcome_email.username"]
        )
        # How the SMTP password travels is the file's to say, like the server it goes to.
        for key in ("welcome_email.smtp_host", "welcome_email.smtp_port", "welcome_email.tls"):
            yield file_only_row(FILE_ONLY[key], "", key)
        for key in ("welcome_email.password_file", "welcome_email.template_file"):
            yield file_only_row(FILE_ONLY[key], "", key)
        yield Static("Help desk and history", classes="section")
        for key in ("target.kind", "target.happyfox.base_url"):
            yield file_only_row(FILE_ONLY[key], "", key)
        yield Row("Runs kept in the log", text("history_runs", "30"), keys=["state.history_runs"])
        yield Static("", id="file-note", classes="aside")

    def read(self, client: Client) -> SettingsData:
        return SettingsData(client.settings(), client.status())

    def fill(self, data: SettingsData) -> None:
        settings, status = data.settings, data.status
        inputs = {
            "account_name": settings.account.name,
            "timezone": settings.account.timezone,
            "time": settings.schedule.time,
            "interval": settings.schedule.interval,
            "min_share": str(settings.sync.min_share),
            "from_address": settings.welcome_email.from_address,
            "portal_url": settings.welcome_email.portal_url,
            "subject": settings.welcome_email.subject,
            "username": settings.welcome_email.username,
            "history_runs": str(settings.state.history_runs),
        }
        for widget_id, value in inputs.items():
            self.query_one(f"#{widget_id}", Input).value = value
        self.query_one("#enabled", OnOff).value = settings.schedule.enabled
        self.query_one("#welcome_enabled", OnOff).value = settings.welcome_email.enabled
        for key in FILE_ONLY:
            value = file_only_value(settings, key) or "(not set)"
            self.query_one(f"#file-{key_id(key)}", Static).update(
                f"{esc(value)}  [i](config file)[/i]"
            )
        next_run = local_time(status.next_run, status.timezone) if status.sync_enabled else "-"
        self.query_one("#next-run", Static).update(f"next run: {esc(next_run)}")
        self.query_one("#file-note", Static).update(
            "Settings marked (config file) name files or servers: they are changed in "
            f"{esc(status.config_path)} only; edit it, then reload (azsyncctl reload)."
        )

    def values(self) -> dict[str, Any]:
        if not self.query("#account_name"):
            return {}

        def text(widget_id: str) -> str:
            return self.query_one(f"#{widget_id}", Input).value

        return {
            "account": {"name": text("account_name"), "timezone": text("timezone").strip()},
            "schedule": {
                "enabled": self.query_one("#enabled", OnOff).value,
                "time": text("time").strip(),
                "interval": text("interval").strip(),
            },
            "sync": {"min_share": number(text("min_share"), float)},
            "welcome_email": {
                "enabled": self.query_one("#welcome_enabled", OnOff).value,
                "from_address": text("from_address").strip(),
                "portal_url": text("portal_url").strip(),
                "subject": text("subject"),
                "username": text("username").strip(),
            },
            "state": {"history_runs": number(text("history_runs"), int)},
        }

    def write(self, client: Client, values: dict[str, Any]) -> SettingsData:
        changed = {
            section: body
            for section, body in values.items()
            if self.saved is None or body != self.saved.get(section)
        }
        settings = client.update_settings(**changed)
        return SettingsData(settings, client.status())
