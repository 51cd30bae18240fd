"""The azsync TUI: every admin task, through the daemon's control socket only."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, Static, TabbedContent, TabPane

from azsyncd.control.client import Client, Status, SyncOutcome
from tui.api import Failure, attempt
from tui.screens.plan import PlanScreen
from tui.widgets.contacts_panel import ContactsPanel
from tui.widgets.lifecycle_panel import LifecyclePanel
from tui.widgets.log_panel import LogPanel
from tui.widgets.mapping_panel import MappingPanel
from tui.widgets.panel import Panel
from tui.widgets.settings_panel import SettingsPanel
from tui.widgets.sync_panel import SyncPanel
from tui.widgets.tenants_panel import TenantsPanel
from tui.widgets.users_panel import UsersPanel

REFRESH_SECONDS = 2.0
TABS = [
    ("sync", "Sync"),
    ("tenants", "Tenants"),
    ("mapping", "Mapping"),
    ("users", "Users"),
    ("settings", "Settings"),
    ("log", "Log"),
    ("contacts", "Contacts"),
    ("leavers", "Leavers"),
]


class AzsyncApp(App[None]):
    TITLE = "azsync"
    CSS_PATH = "app.tcss"
    BINDINGS = [
        Binding("s", "sync", "Sync now"),
        Binding("d", "dry_run", "Dry run"),
        Binding("r", "refresh", "Refresh"),
        Binding("q", "quit", "Quit"),
        *(
            Binding(str(n), f"show_tab('{tab}')", label, show=False)
            for n, (tab, label) in enumerate(TABS, 1)
        ),
    ]

    def __init__(self, socket: str | None = None, client: Client | None = None) -> None:
        super().__init__()
        self.client = client or Client(socket, timeout=10)
        self.reachable = True

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="banner")
        panels = {
            "sync": SyncPanel,
            "tenants": TenantsPanel,
            "mapping": MappingPanel,
            "users": UsersPanel,
            "settings": SettingsPanel,
            "log": LogPanel,
            "contacts": ContactsPanel,
            "leavers": LifecyclePanel,
        }
        with TabbedContent(id="tabs"):
            for n, (tab, label) in enumerate(TABS, 1):
                with TabPane(f"{n} {label}", id=tab):
                    yield panels[tab](id=f"{tab}-panel")
        yield Footer()

    def on_mount(self) -> None:
        self.poll_status()
        self.set_interval(REFRESH_SECONDS, self.poll_status)

    def on_unmount(self) -> None:
        self.client.close()

    def current_panel(self) -> Panel | None:
        active = self.query_one(TabbedContent).active
        return self.query_one(f"#{active}-panel", Panel) if active else None

    def on_tabbed_content_tab_activated(self, _: TabbedContent.TabActivated) -> None:
        panel = self.current_panel()
        if panel is not None:
            panel.reload()
            panel.focus_first()

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_refresh(self) -> None:
        self.poll_status()
        panel = self.current_panel()
        if panel is not None:
            panel.reload()

    @work(thread=True, exclusive=True, group="status")
    def poll_status(self) -> None:
        status = attempt(self.client, Client.status)
        if not isinstance(status, Failure):
            self.call_from_thread(self.show_status, status)
        elif status.unreachable:
            self.call_from_thread(self.show_unreachable, status)

    def _banner(self) -> Static | None:
        # None while the app closes: a status poll may still answer after its screen is gone.
        return next(self.query("#banner").results(Static), None)

    def show_unreachable(self, failure: Failure) -> None:
        self.reachable = False
        banner = self._banner()
        if banner is None:
            return
        banner.update(f"{failure.text}  (retrying every {REFRESH_SECONDS:.0f} s)")
        banner.add_class("shown")

    def show_status(self, status: Status) -> None:
        if not self.query("#banner"):
            return  # an answer that arrives while the app is closing
        came_back = not self.reachable
        self.reachable = True
        banner = self._banner()
        if banner is None:
            return
        banner.remove_class("shown")
        self.query_one(SyncPanel).show_status(status)
        if came_back:
            self.notify("Connected to azsyncd again")
            panel = self.current_panel()
            if panel is not None:
                panel.reload()

    def action_sync(self) -> None:
        self.start_sync(dry_run=False)

    def action_dry_run(self) -> None:
        self.start_sync(dry_run=True)

    @work(thread=True, group="sync")
    def start_sync(self, dry_run: bool) -> None:
        if dry_run:
            self.call_from_thread(self.notify, "Dry run: planning, nothing will be written…")
        result: object = attempt(
            self.client,
            (lambda c: c.sync_and_wait(dry_run=True, timeout=120))
            if dry_run
            else (lambda c: c.start_sync()),
        )
        if isinstance(result, Failure):
            self.call_from_thread(self.notify, result.text, severity="error", timeout=10)
        elif isinstance(result, int):
            self.call_from_thread(self.notify, f"Sync started: run {result}")
        elif isinstance(result, SyncOutcome) and result.run and result.plan:
            self.call_from_thread(self.push_screen, PlanScreen(result.run, result.plan))
        self.call_from_thread(self.poll_status)

    @work(thread=True, group="alerts")
    def test_alert(self) -> None:
        result = attempt(self.client, lambda c: c.test_alerts())
        if isinstance(result, Failure):
            self.call_from_thread(self.notify, result.text, severity="error", timeout=10)
            return
        failed = any(v != "sent" for v in result.channels.values())
        text = "Test alert: " + "; ".join(f"{k} {v}" for k, v in result.channels.items())
        self.call_from_thread(
            self.notify, text, severity="error" if failed else "information", timeout=10
        )

    @work(thread=True, group="alerts")
    def show_alerts(self) -> None:
        result = attempt(self.client, lambda c: c.alerts())
        if isinstance(result, Failure):
            self.call_from_thread(self.notify, result.text, severity="error", timeout=10)
            return
        if not result.enabled:
            text = "Alerts are off: set [alerts] email_to or webhook_url in the configuration file"
        else:
            text = "\n".join(a.title for a in result.alerts) or "No alert is open"
        self.call_from_thread(
            self.notify, text, severity="warning" if result.alerts else "information", timeout=15
        )

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Sync now", "Start a sync of every enabled tenant", self.action_sync)
        yield SystemCommand(
            "Dry run", "Plan a sync and show it; write nothing", self.action_dry_run
        )
        for tab, label in TABS:
            yield SystemCommand(
                f"Show {label}", f"Go to the {label} tab", lambda tab=tab: self.action_show_tab(tab)
            )
        yield SystemCommand(
            "Add tenant", "Add an Entra ID tenant", lambda: self._panel_action("tenants", "add")
        )
        yield SystemCommand(
            "Authorize tenant",
            "Authorize the selected tenant",
            lambda: self._panel_action("tenants", "authorize"),
        )
        yield SystemCommand("Open alerts", "The alerts sent and not yet resolved", self.show_alerts)
        yield SystemCommand(
            "Send a test alert", "A test message on every alert channel", self.test_alert
        )
        yield SystemCommand(
            "Export CSV report",
            "Save the selected run's CSV report",
            lambda: self._panel_action("log", "export"),
        )

    def _panel_action(self, tab: str, action: str) -> None:
        self.action_show_tab(tab)
        getattr(self.query_one(f"#{tab}-panel"), f"action_{action}")()
