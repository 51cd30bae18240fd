"""The Alerts tab: the alerts sent and not yet resolved, where each is acted on, where alerts
go, and a test message on every channel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from azsyncd.control.client import Alerts, ApiFailure, Client, Settings
from tui.api import Failure
from tui.text import cell, esc
from tui.widgets.panel import FitTable, Panel, fit_columns

COLUMNS = [("Alert", 0), ("Where to act", 24)]


@dataclass(frozen=True)
class AlertsData:
    alerts: Alerts
    settings: Settings | None  # None: the settings could not be read (a reader's role)


def where_to_act(key: str) -> tuple[str, str]:
    """(the tab, what to do there) for an alert's key."""
    if key.startswith("held-"):
        return "log", f"6, run {key.removeprefix('held-')}: a approves, D discards"
    if key.startswith("tenant-"):
        name = key.removeprefix("tenant-").rsplit("-", 1)[0]
        return "tenants", f"2, tenant {name}: z authorizes"
    if key.startswith("run-"):
        return "log", "6: the run's failed records"
    return "sync", "1: the last sync"


class AlertsPanel(Panel):
    DEFAULT_CSS = """
    AlertsPanel #alert-channels { height: auto; max-height: 3; }
    AlertsPanel #alert-table { height: 1fr; min-height: 3; }
    AlertsPanel #alert-detail { height: 5; border-top: solid $panel; }
    """
    BINDINGS = [
        Binding("t", "test_alert", "Test alert"),
        Binding("g", "go", "Go to it"),
    ]
    KEYS_HELP: ClassVar[list[tuple[str, str]]] = [
        ("Up/Down", "choose an alert; where to act on it is below"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alerts = Alerts()

    def compose(self) -> ComposeResult:
        yield Static("", id="alert-channels")
        yield FitTable(id="alert-table", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="alert-detail"):
            yield Static("", id="alert-text")

    def on_mount(self) -> None:
        fit_columns(self.query_one(DataTable), COLUMNS)

    def first_control(self) -> DataTable[Any]:
        return self.query_one(DataTable)

    def read(self, client: Client) -> AlertsData:
        alerts = client.alerts()
        try:
            settings: Settings | None = client.settings()
        except ApiFailure:  # a reader may not see the settings: the alerts are the point
            settings = None
        return AlertsData(alerts, settings)

    def show(self, data: AlertsData) -> None:
        self.alerts = data.alerts
        self.query_one("#alert-channels", Static).update(self.channels(data))
        table = self.query_one(DataTable)
        table.clear()
        for alert in data.alerts.alerts:
            table.add_row(cell(alert.title), cell(where_to_act(alert.key)[1]), key=alert.key)
        self.show_detail()
        self.refresh_bindings()

    def channels(self, data: AlertsData) -> str:
        settings = data.settings.alerts if data.settings else None
        if not data.alerts.enabled:
            return (
                "Alerts are off: set [alerts] email_to or webhook_url in the configuration file. "
                "Held runs and tenants to authorize still show here and above the tabs."
            ).replace("[alerts]", r"\[alerts]")
        went = []
        if settings is not None and settings.email_to:
            went.append("email to " + ", ".join(settings.email_to))
        if settings is not None and settings.webhook_url:
            went.append(f"webhook {settings.webhook_url}")
        stale = (
            f"; a sync that has not succeeded for {settings.stale_hours} h is an alert"
            if settings is not None and settings.stale_hours
            else ""
        )
        return esc(f"Alerts go to: {'; '.join(went) or 'the configured channels'}{stale}.") + (
            "  [b]t[/b] sends a test."
        )

    def on_data_table_row_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def selected_key(self) -> str | None:
        row = self.query_one(DataTable).cursor_row
        alerts = self.alerts.alerts
        return alerts[row].key if 0 <= row < len(alerts) else None

    def show_detail(self) -> None:
        key = self.selected_key()
        text = "No alert is open."
        if key is not None:
            alert = next(a for a in self.alerts.alerts if a.key == key)
            what = where_to_act(key)[1]
            text = f"[b]{esc(alert.title)}[/b]\nWhere to act: {esc(what)}  ([b]g[/b] goes there)"
        self.query_one("#alert-text", Static).update(text)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "go":
            return self.selected_key() is not None
        return True

    def action_go(self) -> None:
        key = self.selected_key()
        if key is not None:
            self.azsync.action_show_tab(where_to_act(key)[0])

    def action_test_alert(self) -> None:
        self.app.notify("Sending a test alert on every channel…")
        self.send_test()

    @work(thread=True, group="alerts")
    def send_test(self) -> None:
        result = self.attempt(lambda c: c.test_alerts())
        if isinstance(result, Failure):
            self.say(result)
            return
        failed = any(v != "sent" for v in result.channels.values())
        text = "Test alert: " + "; ".join(f"{k} {v}" for k, v in result.channels.items())
        self.on_ui(
            self.app.notify,
            text,
            severity="error" if failed else "information",
            timeout=10,
            markup=False,
        )
