"""Small modal screens: confirm, ask for a path, add a tenant."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from azsyncd.control.client import Tenant
from tui.api import Failure

MODAL_CSS = """
ModalScreen { align: center middle; }
ModalScreen > Vertical { width: 76; max-width: 100%; height: auto; max-height: 100%;
                         border: thick $primary; background: $surface; padding: 1 2; }
ModalScreen Input, ModalScreen Select { margin-bottom: 1; }
ModalScreen .buttons { height: auto; align-horizontal: right; }
ModalScreen .error { color: $error; }
"""


class ConfirmScreen(ModalScreen[bool]):
    DEFAULT_CSS = MODAL_CSS
    BINDINGS = [Binding("escape", "dismiss(False)", "Cancel"), Binding("y", "dismiss(True)", "Yes")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question)
            with Horizontal(classes="buttons"):
                yield Button("No (Esc)", id="no")
                yield Button("Yes (y)", id="yes", variant="error")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class PathScreen(ModalScreen[str | None]):
    DEFAULT_CSS = MODAL_CSS
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, title: str, default: str) -> None:
        super().__init__()
        self.title_text, self.default = title, default

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            yield Input(self.default, id="path")
            yield Static("Enter to save, Esc to cancel", classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)


CLOUDS = [
    ("Global", "global"),
    ("US Government (GCC High)", "usgov"),
    ("US Government DoD", "usgov-dod"),
    ("China (21Vianet)", "china"),
    ("Custom URLs", "custom"),
]
AUTH = [
    ("Client secret (app-only)", "secret"),
    ("Certificate (app-only)", "certificate"),
    ("Admin sign-in with a device code", "device_code"),
]


class AddTenantScreen(ModalScreen[Tenant | None]):
    """The tenant's settings; the daemon validates them and its errors are shown here."""

    DEFAULT_CSS = MODAL_CSS

    def __init__(self, submit: Callable[[dict[str, Any]], Tenant | Failure]) -> None:
        super().__init__()
        self.submit = submit

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel"), Binding("ctrl+s", "save", "Save")]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(
                "[b]Add a tenant[/b]  (the app registration's tenant, or any other by id or domain)"
            )
            yield Input(placeholder="name, e.g. contoso (lowercase, used in the API)", id="name")
            yield Input(
                placeholder="tenant id (GUID) or domain, e.g. contoso.onmicrosoft.com",
                id="tenant_id",
            )
            yield Input(
                placeholder="application (client) id of the app registration", id="client_id"
            )
            yield Select(AUTH, value="secret", allow_blank=False, id="auth")
            yield Input(
                placeholder="client secret file (for a client secret), e.g. contoso-secret",
                id="client_secret_file",
            )
            yield Select(CLOUDS, value="global", allow_blank=False, id="cloud")
            yield Input(placeholder="login URL (custom cloud only), https://…", id="login_url")
            yield Input(placeholder="Graph URL (custom cloud only), https://…", id="graph_url")
            yield Static("", id="errors", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel (Esc)", id="cancel")
                yield Button("Add (Ctrl+S)", id="add", variant="primary")

    def values(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            key: self.query_one(f"#{key}", Input).value.strip()
            for key in ("name", "tenant_id", "client_id", "client_secret_file")
        }
        body["auth"] = self.query_one("#auth", Select).value
        body["cloud"] = self.query_one("#cloud", Select).value
        if body["auth"] != "secret" or not body["client_secret_file"]:
            body.pop("client_secret_file")
        if body["cloud"] == "custom":
            body.update(
                {
                    key: self.query_one(f"#{key}", Input).value.strip()
                    for key in ("login_url", "graph_url")
                }
            )
        return body

    def on_mount(self) -> None:
        self._show_custom_urls(False)

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "cloud":
            self._show_custom_urls(event.value == "custom")

    def _show_custom_urls(self, shown: bool) -> None:
        for key in ("login_url", "graph_url"):
            self.query_one(f"#{key}", Input).display = shown

    def action_save(self) -> None:
        self._send(self.values())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "add":
            self._send(self.values())
        else:
            self.dismiss(None)

    @work(thread=True, exclusive=True)
    def _send(self, body: dict[str, Any]) -> None:
        answer = self.submit(body)
        if not isinstance(answer, Failure):
            self.app.call_from_thread(self.dismiss, answer)
            return
        lines = [f"{p.key.removeprefix('body.')}: {p.message}" for p in answer.problems] or [
            answer.message
        ]
        self.app.call_from_thread(self.query_one("#errors", Static).update, "\n".join(lines))
