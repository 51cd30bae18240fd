"""The azsync TUI: every admin task, through the daemon's control socket only.

Keys are routed as they arrive, not when a widget gets round to them: the app's keys, Tab,
Enter and Esc are priority bindings that act at once, and keys that arrive while a form or
dialog is being built are held and replayed into it in order. So a burst typed ahead or
pasted over a slow link lands in the field that had the focus when each key was typed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual import events, work
from textual.actions import SkipAction
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Header, Input, Select, Static, TabbedContent, TabPane, TextArea

from azsyncd.control.client import Client, Status, SyncOutcome
from tui.api import Failure, attempt, on_ui
from tui.keys import read_esc_digit_as_alt, split_alt_digit
from tui.screens.confirm import ConfirmScreen
from tui.screens.help import HelpScreen
from tui.screens.modal import Modal
from tui.screens.plan import PlanScreen
from tui.text import local_time, marks_for
from tui.widgets.audit_panel import AuditPanel
from tui.widgets.contacts_panel import ContactsPanel
from tui.widgets.hint_bar import HintBar
from tui.widgets.lifecycle_panel import LifecyclePanel
from tui.widgets.log_panel import LogPanel
from tui.widgets.mapping_panel import MappingPanel
from tui.widgets.panel import Panel
from tui.widgets.settings_panel import SettingsPanel
from tui.widgets.sync_panel import SyncPanel
from tui.widgets.tenants_panel import TenantsPanel
from tui.widgets.users_panel import UsersPanel

read_esc_digit_as_alt()

REFRESH_SECONDS = 2.0
HOLD_LIMIT_SECONDS = 3.0  # held keys are let go even if a form never says it is ready
TABS: list[tuple[str, str, type[Panel]]] = [
    ("sync", "Sync", SyncPanel),
    ("tenants", "Tenants", TenantsPanel),
    ("mapping", "Mapping", MappingPanel),
    ("users", "Users", UsersPanel),
    ("settings", "Settings", SettingsPanel),
    ("log", "Log", LogPanel),
    ("contacts", "Contacts", ContactsPanel),
    ("audit", "Audit", AuditPanel),
    ("leavers", "Joiners & leavers", LifecyclePanel),
]
# Where a setting a fix names is set: (tab, widget id); otherwise the key's last part.
SETTING_WIDGETS = {
    "mapping.custom_fields": ("mapping", "custom-0"),
    "mapping.overwrite_custom_fields": ("mapping", "overwrite_custom_fields"),
    "account.name": ("settings", "account_name"),
    "welcome_email.enabled": ("settings", "welcome_enabled"),
}
# Actions of the main screen; a dialog on top turns them off, so its keys reach it.
MAIN_SCREEN_ONLY = {"sync", "dry_run", "refresh", "search", "help", "show_tab", "quit"}


class FocusTabs(TabbedContent):
    """Tabs that follow the focus as it is now, not as a late focus message says it was.

    A key switches tabs at once; the focus message of the field it left arrives later and
    must not switch back.
    """

    def _on_tab_pane_focused(self, event: TabPane.Focused) -> None:
        event.prevent_default()
        event.stop()
        focused = self.app.focused
        pane = event.tab_pane
        if focused is not None and pane.id and pane in focused.ancestors_with_self:
            self.active = pane.id


class AzsyncApp(App[None]):
    TITLE = "azsync"
    CSS_PATH = "app.tcss"
    BINDINGS = [
        Binding("escape", "leave_field", "Leave field", key_display="Esc", priority=True),
        Binding("tab", "next_field", show=False, priority=True),
        Binding("shift+tab", "previous_field", show=False, priority=True),
        Binding("enter", "next_on_enter", show=False, priority=True),
        Binding("s", "sync", "Sync now", priority=True),
        Binding("question_mark,f1", "help", "Keys", key_display="?", priority=True),
        Binding("q,ctrl+q", "quit", "Quit", key_display="q", priority=True),
        Binding("d", "dry_run", "Dry run", priority=True),
        Binding("r", "refresh", "Refresh", priority=True),
        Binding("slash", "search", "Search", key_display="/", priority=True),
        *(
            Binding(str(n), f"show_tab('{tab}')", label, show=False, priority=True)
            for n, (tab, label, _) in enumerate(TABS, 1)
        ),
    ]

    def __init__(self, socket: str | None = None, client: Client | None = None) -> None:
        super().__init__()
        self.client = client or Client(socket, timeout=15)
        self.marks = marks_for()
        self.animation_level = "none"  # nothing moves by itself: calm over SSH, exact snapshots
        self.reachable = True
        self.last_status: Status | None = None
        self.unsaved: set[str] = set()
        self._holds = 0
        self._held: list[events.Event] = []
        self._replaying = False

    def compose(self) -> ComposeResult:
        yield Header(icon="=" if self.marks.dot == "|" else "⭘")
        yield Static(id="banner")
        with FocusTabs(id="tabs"):
            for n, (tab, label, panel) in enumerate(TABS, 1):
                with TabPane(f"{n} {label}", id=tab):
                    yield panel(id=f"{tab}-panel")
        yield HintBar(id="hints")

    def on_mount(self) -> None:
        self.poll_status()
        self.set_interval(REFRESH_SECONDS, self.poll_status)

    def on_unmount(self) -> None:
        self.client.close()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < 78, "narrow")  # shorter label column in forms

    # Where keys go.

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            split = split_alt_digit(event)
            if split is not None:
                for key in split:
                    await self.on_event(key)
                return
        if (
            isinstance(event, events.Key | events.Paste)
            and not event.is_forwarded
            and not self._replaying
            and (self._holds or self._held)
        ):
            self._held.append(event)
            return
        await super().on_event(event)

    def hold_keys(self) -> None:
        """Hold keys until ``release_keys``: what they are for is being built."""
        self._holds += 1
        self.set_timer(HOLD_LIMIT_SECONDS, self._release_stuck)

    def release_keys(self) -> None:
        self._holds = max(0, self._holds - 1)
        if not self._holds and self._held:
            self.call_later(self._replay)

    def _release_stuck(self) -> None:
        if self._holds:
            self._holds = 1
            self.release_keys()

    async def _replay(self) -> None:
        while self._held and not self._holds:
            event = self._held.pop(0)
            self._replaying = True
            try:
                await self.on_event(event)
            finally:
                self._replaying = False

    def push_screen(self, screen: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(screen, Modal):
            self.hold_keys()  # the dialog lets them go once its first field has the focus
        return super().push_screen(screen, *args, **kwargs)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        on_dialog = isinstance(self.screen, ModalScreen)
        in_menu = isinstance(getattr(self.focused, "parent", None), Select)  # an open list
        if action in MAIN_SCREEN_ONLY and (on_dialog or in_menu):
            return False
        if action == "leave_field":
            return not on_dialog and isinstance(self.focused, Input | TextArea)
        return True

    def action_leave_field(self) -> None:
        panel = self.current_panel()
        if panel is None:
            raise SkipAction()
        self.screen.set_focus(panel)

    def action_next_field(self) -> None:
        self.screen.focus_next()

    def action_previous_field(self) -> None:
        self.screen.focus_previous()

    def action_next_on_enter(self) -> None:
        # Enter in a text field goes to the next field, at once; elsewhere it does its usual.
        focused = self.focused
        if not isinstance(focused, Input) or focused.has_class("submit-on-enter"):
            raise SkipAction()
        self.screen.focus_next()

    # Tabs.

    def current_panel(self) -> Panel | None:
        try:
            main = self.screen_stack[0]
            active = main.query_one(TabbedContent).active
            return main.query_one(f"#{active}-panel", Panel)
        except (IndexError, NoMatches):
            return None

    def action_show_tab(self, tab: str) -> None:
        tabs = self.query_one(TabbedContent)
        if tabs.active != tab:
            tabs.active = tab
            self._enter_panel()

    def on_tabbed_content_tab_activated(self, _: TabbedContent.TabActivated) -> None:
        panel = self.current_panel()
        if panel is not None and panel not in (self.focused, *self.focused_ancestors()):
            self._enter_panel()

    def focused_ancestors(self) -> list[Widget]:
        return list(self.focused.ancestors) if self.focused else []  # type: ignore[arg-type]

    def _enter_panel(self) -> None:
        panel = self.current_panel()
        if panel is not None:
            panel.focus_first()
            panel.reload()

    def go_to_setting(self, key: str) -> None:
        """Show the control of a setting a fix names ("set mapping.skip_empty_phones")."""
        section, _, name = key.partition(".")
        default = ("mapping" if section == "mapping" else "settings", name.split(".")[0])
        tab, widget = SETTING_WIDGETS.get(key, default)
        self.action_show_tab(tab)
        panel = self.current_panel()
        if panel is not None:
            panel.focus_when_ready(widget)

    def mark_unsaved(self, panel: Panel, dirty: bool) -> None:
        """The tab's label says when it holds edits not saved yet."""
        tab = str(panel.id).removesuffix("-panel")
        if dirty == (tab in self.unsaved):
            return
        self.unsaved.symmetric_difference_update({tab})
        n, label = next((n, label) for n, (t, label, _) in enumerate(TABS, 1) if t == tab)
        mark = f" {self.marks.unsaved}" if dirty else ""
        self.query_one(TabbedContent).get_tab(tab).label = f"{n} {label}{mark}"

    # The daemon's status, always on screen.

    @work(thread=True, exclusive=True, group="status")
    def poll_status(self) -> None:
        status = attempt(self.client, Client.status)
        if not isinstance(status, Failure):
            on_ui(self, self.show_status, status)
        elif status.unreachable:
            on_ui(self, self.show_unreachable, status)

    def main_widget(self, selector: str) -> Widget | None:
        """A widget of the main screen; None while the app is closing."""
        try:
            return self.screen_stack[0].query_one(selector)
        except (IndexError, NoMatches):
            return None

    def show_unreachable(self, failure: Failure) -> None:
        banner = self.main_widget("#banner")
        if not isinstance(banner, Static):
            return  # closing: the answer came too late
        self.reachable = False
        banner.update(
            f"{self.marks.error} {failure.message}\nfix: {failure.fix}"
            f"  (trying again every {REFRESH_SECONDS:.0f} s)"
        )
        banner.add_class("shown")
        self.sub_title = "daemon not reachable"

    def show_status(self, status: Status) -> None:
        banner, sync = self.main_widget("#banner"), self.main_widget("#sync-panel")
        if banner is None or not isinstance(sync, SyncPanel):
            return  # closing: the answer came too late
        came_back = not self.reachable
        self.reachable = True
        self.last_status = status
        banner.remove_class("shown")
        sync.show_status(status)
        running = status.running
        if running:
            total = f"/{running.total}" if running.total is not None else ""
            state = f"syncing: run {running.run_id}, {running.done}{total}"
        elif status.sync_enabled:
            state = f"next sync {local_time(status.next_run, status.timezone)}"
        else:
            state = "contact sync off"
        self.sub_title = f"{status.account} {self.marks.dot} {state}"
        if came_back:
            self.notify("Connected to azsyncd again")
            panel = self.current_panel()
            if panel is not None:
                panel.reload()

    # Actions of the main screen.

    def action_sync(self) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.start_sync(dry_run=False)

        self.push_screen(
            ConfirmScreen(
                "Sync now?\nContacts in the help desk are created and updated for every "
                "enabled tenant."
            ),
            answered,
        )

    def action_dry_run(self) -> None:
        self.notify("Dry run: planning; nothing is written…")
        self.start_sync(dry_run=True)

    @work(thread=True, group="sync")
    def start_sync(self, dry_run: bool) -> None:
        result: int | SyncOutcome | Failure = attempt(
            self.client,
            (lambda c: c.sync_and_wait(dry_run=True, timeout=120))
            if dry_run
            else (lambda c: c.start_sync()),
        )
        if isinstance(result, Failure):
            on_ui(self, self.notify, result.text, severity="error", timeout=12)
        elif isinstance(result, int):
            on_ui(self, self.notify, f"Sync started: run {result}")
        elif result.run and result.plan:
            on_ui(self, self.push_screen, PlanScreen(result.run, result.plan))
        on_ui(self, self.poll_status)

    def action_refresh(self) -> None:
        self.poll_status()
        panel = self.current_panel()
        if panel is None:
            return
        if not panel.dirty:
            panel.reload()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                panel.discard()
                panel.reload()

        self.push_screen(ConfirmScreen("Forget your unsaved edits and reload?"), answered)

    def action_search(self) -> None:
        panel = self.current_panel()
        if panel is None or panel.SEARCH is None:
            self.notify("This tab has no search", timeout=3)
            return
        self.screen.set_focus(panel.query_one(f"#{panel.SEARCH}"))

    def action_help(self) -> None:
        panel = self.current_panel()
        if panel is not None:
            self.push_screen(HelpScreen(panel, self))

    async def action_quit(self) -> None:
        if not self.unsaved:
            self.exit()
            return
        tabs = ", ".join(label for tab, label, _ in TABS if tab in self.unsaved)

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(ConfirmScreen(f"Quit and lose the unsaved edits on {tabs}?"), answered)

    @work(thread=True, group="alerts")
    def test_alert(self) -> None:
        result = attempt(self.client, lambda c: c.test_alerts())
        if isinstance(result, Failure):
            on_ui(self, self.notify, result.text, severity="error", timeout=10, markup=False)
            return
        failed = any(v != "sent" for v in result.channels.values())
        text = "Test alert: " + "; ".join(f"{k} {v}" for k, v in result.channels.items())
        severity = "error" if failed else "information"
        on_ui(self, self.notify, text, severity=severity, timeout=10, markup=False)

    @work(thread=True, group="alerts")
    def show_alerts(self) -> None:
        result = attempt(self.client, lambda c: c.alerts())
        if isinstance(result, Failure):
            on_ui(self, self.notify, result.text, severity="error", timeout=10, markup=False)
            return
        if not result.enabled:
            text = "Alerts are off: set [alerts] email_to or webhook_url in the configuration file"
        else:
            text = "\n".join(a.title for a in result.alerts) or "No alert is open"
        severity = "warning" if result.alerts else "information"
        on_ui(self, self.notify, text, severity=severity, timeout=15, markup=False)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Sync now", "Start a sync of every enabled tenant", self.action_sync)
        yield SystemCommand(
            "Dry run", "Plan a sync and show it; write nothing", self.action_dry_run
        )
        for tab, label, _ in TABS:
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
            "Save the CSV report of what the log shows",
            lambda: self._panel_action("log", "export"),
        )

    def _panel_action(self, tab: str, action: str) -> None:
        self.action_show_tab(tab)
        getattr(self.query_one(f"#{tab}-panel"), f"action_{action}")()
