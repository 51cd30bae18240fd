"""The device-code sign-in: the URL and the code, large, while the daemon waits for the admin."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import LoadingIndicator, Static

from azsyncd.control.client import Authorization, DeviceCode, TenantState
from tui.api import Failure
from tui.screens.forms import MODAL_CSS


class SignInScreen(ModalScreen[str]):
    DEFAULT_CSS = (
        MODAL_CSS
        + """
    SignInScreen #code { text-style: bold; color: $accent; text-align: center; padding: 1 0; }
    SignInScreen #url { text-align: center; }
    SignInScreen LoadingIndicator { height: 3; }
    """
    )
    BINDINGS = [Binding("escape", "dismiss('closed')", "Close")]

    def __init__(
        self,
        tenant: str,
        code: DeviceCode,
        poll: Callable[[], Authorization | Failure],
        interval: float = 1.0,
    ) -> None:
        super().__init__()
        self.tenant, self.code, self.poll, self.interval = tenant, code, poll, interval

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"[b]Sign in to authorize {self.tenant}[/b]\nOn any device, open")
            yield Static(self.code.verification_uri, id="url")
            yield Static("and enter the code")
            yield Static(" ".join(self.code.user_code), id="code")
            yield LoadingIndicator(id="spinner")
            yield Static(
                f"Waiting for the sign-in… (the code expires in {self.code.expires_in // 60} "
                "min; Esc closes"
                " this window, the daemon keeps waiting)",
                id="state",
            )

    def on_mount(self) -> None:
        self.wait_for_sign_in()

    @work(thread=True, exclusive=True)
    def wait_for_sign_in(self) -> None:
        while True:
            answer = self.poll()
            if isinstance(answer, Failure):
                if not answer.unreachable:
                    failed = DeviceCode(status="failed", reason=answer.message, fix=answer.fix)
                    self.app.call_from_thread(self.finished, failed, TenantState())
                    return
            elif answer.device_code and answer.device_code.status != "pending":
                self.app.call_from_thread(self.finished, answer.device_code, answer.tenant.state)
                return
            time.sleep(self.interval)

    def finished(self, code: DeviceCode, state: TenantState) -> None:
        self.query_one("#spinner").display = False
        if code.status == "succeeded":
            text = f"[green]Signed in. {self.tenant} is Active ✅[/green]  (Esc to close)"
        else:
            text = f"[red]{code.status.title()}: {code.reason or state.reason}[/red]"
            fix = code.fix or state.fix
            text += f"\nfix: {fix}" if fix else ""
            text += "\n(Esc to close)"
        self.query_one("#state", Static).update(text)
