"""The Settings tab: contact sync and its schedule, the safety rail and the thresholds that
hold a run, the account and its time zone, the welcome email, the alerts, the help desk's
own table, and how much history is kept.

The help desk's rows are drawn from what the daemon says about its ``[target.<kind>]``
table (``client.target()``): each key with its value, an input for the ones the socket may
change and the value with "(config file)" for the others. A new target needs no change here.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Hashable
from dataclasses import dataclass
from functools import cache
from typing import Any

from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Input, Select, Static

from azsyncd.control.client import Client, Settings, Status, TargetInfo, TargetKey
from tui.screens.preview import Request
from tui.text import clip, esc, local_time
from tui.widgets.fields import OnOff, Row, choose, file_only_row, key_id
from tui.widgets.form_panel import FormPanel

FILE_ONLY = {
    "welcome_email.smtp_host": "SMTP host",
    "welcome_email.smtp_port": "SMTP port",
    "welcome_email.tls": "SMTP security",
    "welcome_email.password_file": "SMTP password file",
    "welcome_email.template_file": "Template file",
}
ALERTS = {
    "alerts.email_to": "Email to",
    "alerts.webhook_url": "Webhook URL",
    "alerts.secret_file": "Webhook secret file",
    "alerts.stale_hours": "Stale after (hours)",
}
THRESHOLDS = {
    "create": "New contacts",
    "update": "Updated contacts",
    "disable": "Leavers",
    "group_changes": "Group changes",
}


@dataclass(frozen=True)
class SettingsData:
    settings: Settings
    status: Status
    target: TargetInfo


@cache
def zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def number(text: str, kind: type[int] | type[float]) -> Any:
    """The typed number, or the text as typed so the daemon's error names it."""
    try:
        return kind(text.strip())
    except ValueError:
        return text


def limit(text: str) -> Any:
    """A threshold as the daemon takes it: a count, "N%", or None for no limit."""
    text = text.strip()
    if not text:
        return None
    return int(text) if text.isdigit() else text


def shown_limit(value: int | str | None) -> str:
    return "" if value is None else str(value)


def setting_value(settings: Settings, key: str) -> Any:
    node: Any = settings
    for part in key.split("."):
        node = getattr(node, part, None)
    return node


def shown_value(value: Any) -> str:
    if value in (None, "", []):
        return "(not set)"
    if isinstance(value, list):
        inner = ", ".join(str(v) for v in value)
        return inner if all(not isinstance(v, dict) for v in value) else f"{len(value)} entries"
    return str(value)


def editable(key: TargetKey) -> bool:
    return not key.file_only and key.type in ("string", "integer", "number", "boolean", "choice")


def target_text(key: TargetKey, value: Any) -> str:
    return "" if value is None else str(value)


class SettingsPanel(FormPanel):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target = TargetInfo()

    def compose_form(self) -> Any:
        yield Static("Loading the settings…", id="settings-loading")

    def read(self, client: Client) -> SettingsData:
        return SettingsData(client.settings(), client.status(), client.target())

    def layout_of(self, data: SettingsData) -> Hashable:
        keys = tuple(
            (k.key, k.type, editable(k), tuple(map(str, k.choices))) for k in data.target.keys
        )
        return data.target.kind, keys

    # The rows.

    def rows_for(self, data: SettingsData) -> list[Widget]:
        self.target = data.target

        def text(widget_id: str, placeholder: str = "", **kwargs: Any) -> Input:
            return Input(id=widget_id, placeholder=placeholder, compact=True, **kwargs)

        rows: list[Widget] = [
            Static("Contact sync", classes="section"),
            Row(
                "Contact sync",
                OnOff(id="enabled"),
                keys=["schedule.enabled"],
                note="On: a sync runs at once, then every day at the time below",
            ),
            Row("Daily at (HH:MM)", text("time", "e.g. 00:00"), keys=["schedule.time"]),
            Row(
                "Changes every",
                text("interval", "e.g. 5m"),
                keys=["schedule.interval"],
                note="incremental syncs between the daily ones (5m, 1h); empty or 0 turns them off",
            ),
            Static("", id="next-run", classes="aside"),
            Row(
                "Full sync every (days)",
                text("full_every", "e.g. 7"),
                keys=["sync.full_every"],
                note="every user read and compared with the help desk's own contact; 0: never",
            ),
            Static("Safety", classes="section"),
            Row(
                "Safety rail (min share)",
                text("min_share", "e.g. 0.8"),
                keys=["sync.min_share"],
                note="0.8: a tenant whose full read finds fewer than 80% of last time's users "
                "writes nothing that run; 0 turns it off",
            ),
            Static(
                "Hold a run for approval when a tenant's plan has more than (a count, or 10%; "
                "empty: no limit):",
                classes="aside",
            ),
        ]
        rows += [
            Row(label, text(f"threshold-{kind}", "(no limit)"), keys=[f"sync.thresholds.{kind}"])
            for kind, label in THRESHOLDS.items()
        ]
        rows += [
            Static("Account", classes="section"),
            Row("Name", text("account_name"), keys=["account.name"]),
            Row(
                "Time zone (IANA)",
                text(
                    "timezone",
                    "e.g. Europe/Berlin",
                    suggester=SuggestFromList(zones(), case_sensitive=False),
                ),
                keys=["account.timezone"],
                note="every time azsync shows is in this zone; Right arrow takes a suggestion",
            ),
            Static("Welcome email to new contacts", classes="section"),
            Row("Welcome email", OnOff(id="welcome_enabled"), keys=["welcome_email.enabled"]),
            Row(
                "From address",
                text("from_address", "e.g. helpdesk@contoso.example"),
                keys=["welcome_email.from_address"],
            ),
            Row(
                "Portal URL",
                text("portal_url", "e.g. https://support.contoso.example"),
                keys=["welcome_email.portal_url"],
            ),
            Row("Subject", text("subject"), keys=["welcome_email.subject"]),
            Row(
                "SMTP user name",
                text("username", "(empty: no login)"),
                keys=["welcome_email.username"],
            ),
        ]
        rows += [file_only_row(label, "", key) for key, label in FILE_ONLY.items()]
        rows.append(Static("Alerts (the Alerts tab, 0, shows the open ones)", classes="section"))
        rows += [file_only_row(label, "", key) for key, label in ALERTS.items()]
        rows.append(Static(f"Help desk: [target.{esc(data.target.kind)}]", classes="section"))
        rows.append(file_only_row("Help desk", data.target.kind, "target.kind"))
        rows += [self.target_row(key) for key in data.target.keys]
        rows += [
            Static("History", classes="section"),
            Row(
                "Runs kept in the log", text("history_runs", "e.g. 30"), keys=["state.history_runs"]
            ),
            Static("", id="file-note", classes="aside"),
        ]
        return rows

    def target_row(self, key: TargetKey) -> Row:
        where = f"target.{self.target.kind}.{key.key}"
        if not editable(key):
            return file_only_row(key.key, "", where)
        widget_id = f"target-{key_id(key.key)}"
        control: Widget
        if key.type == "boolean":
            control = OnOff(id=widget_id)
        elif key.type == "choice":
            options = [(str(c), c) for c in key.choices]
            control = Select(options, allow_blank=False, compact=True, id=widget_id)
        else:
            default = f"e.g. {key.default}" if key.default not in (None, "") else ""
            control = Input(id=widget_id, placeholder=default, compact=True)
        return Row(key.key, control, keys=[where], note=clip(key.description, 200))

    # The values.

    def fill(self, data: SettingsData) -> None:
        settings = data.settings
        thresholds = settings.sync.thresholds
        inputs = {
            "account_name": settings.account.name,
            "timezone": settings.account.timezone,
            "time": settings.schedule.time,
            "interval": settings.schedule.interval,
            "min_share": str(settings.sync.min_share),
            "full_every": f"{settings.sync.full_every:g}",
            "from_address": settings.welcome_email.from_address,
            "portal_url": settings.welcome_email.portal_url,
            "subject": settings.welcome_email.subject,
            "username": settings.welcome_email.username,
            "history_runs": str(settings.state.history_runs),
            **{
                f"threshold-{kind}": ""
                if getattr(thresholds, kind) is None
                else str(getattr(thresholds, kind))
                for kind in THRESHOLDS
            },
        }
        for widget_id, value in inputs.items():
            self.by_id(widget_id, Input).value = value
        self.by_id("enabled", OnOff).value = settings.schedule.enabled
        self.by_id("welcome_enabled", OnOff).value = settings.welcome_email.enabled
        for key in data.target.keys:
            if not editable(key):
                continue
            control: Widget = self.by_id(f"target-{key_id(key.key)}")
            value = key.value if key.value is not None else key.default
            if isinstance(control, OnOff):
                control.value = bool(value)
            elif isinstance(control, Select):
                choose(control, [(str(c), c) for c in key.choices], value)
            elif isinstance(control, Input):
                control.value = target_text(key, key.value)

    def show_info(self, data: SettingsData) -> None:
        settings, status = data.settings, data.status
        for name in [*FILE_ONLY, *ALERTS]:
            self.file_only(name, setting_value(settings, name))
        for key in data.target.keys:
            if not editable(key):
                self.file_only(f"target.{data.target.kind}.{key.key}", key.value)
        next_run = local_time(status.next_run, status.timezone) if status.sync_enabled else "-"
        self.by_id("next-run", Static).update(f"next run: {esc(next_run)}")
        self.by_id("file-note", Static).update(
            "Settings marked (config file) name files or servers, or are read from the file "
            f"only: they are changed in {esc(status.config_path)}; edit it, then reload "
            "(azsyncctl reload)."
        )

    def file_only(self, key: str, value: Any) -> None:
        found = self.query(f"#file-{key_id(key)}")
        if found:
            found.first(Static).update(f"{esc(shown_value(value))}  [i](config file)[/i]")

    def values(self) -> dict[str, Any]:
        if self.built is None:
            return {}  # the rows are not there yet

        def text(widget_id: str) -> str:
            return self.by_id(widget_id, Input).value

        values: dict[str, Any] = {
            "account": {"name": text("account_name"), "timezone": text("timezone").strip()},
            "schedule": {
                "enabled": self.by_id("enabled", OnOff).value,
                "time": text("time").strip(),
                "interval": text("interval").strip(),
            },
            "sync": {
                "min_share": number(text("min_share"), float),
                "full_every": number(text("full_every"), float),
                "thresholds": {kind: limit(text(f"threshold-{kind}")) for kind in THRESHOLDS},
            },
            "welcome_email": {
                "enabled": self.by_id("welcome_enabled", OnOff).value,
                "from_address": text("from_address").strip(),
                "portal_url": text("portal_url").strip(),
                "subject": text("subject"),
                "username": text("username").strip(),
            },
            "state": {"history_runs": number(text("history_runs"), int)},
        }
        table: dict[str, Any] = {}
        for key in self.target.keys:
            if not editable(key):
                continue
            found: Widget = self.by_id(f"target-{key_id(key.key)}")
            if isinstance(found, OnOff | Select):
                table[key.key] = found.value
            elif isinstance(found, Input):
                typed = found.value.strip()
                kinds = {"integer": int, "number": float}
                table[key.key] = number(typed, kinds[key.type]) if key.type in kinds else typed
        values["target"] = {self.target.kind: table}
        return values

    def changes(self, values: dict[str, Any]) -> dict[str, Any]:
        """The sections (and the target's keys) ``values`` change, as the client's
        ``update_settings`` takes them."""
        saved = self.saved or {}
        changed: dict[str, Any] = {}
        for section, body in values.items():
            if section == "target":
                kind = self.target.kind
                before = saved.get("target", {}).get(kind, {})
                keys = {k: v for k, v in body.get(kind, {}).items() if before.get(k) != v}
                if keys:
                    changed["target"] = {kind: keys}
            elif body != saved.get(section):
                changed[section] = body
        return changed

    def write(self, client: Client, values: dict[str, Any], force: bool = False) -> SettingsData:
        changed = self.changes(values)
        settings = client.update_settings(force=force, **changed) if changed else client.settings()
        return SettingsData(settings, client.status(), client.target())

    def preview_request(self, values: dict[str, Any] | None) -> Request:
        changed = self.changes(values) if values is not None else {}
        return lambda c: c.preview(settings=changed or None)
