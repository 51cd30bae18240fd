"""The device-code sign-in: the URL and the code, large, while the daemon waits for the admin."""

from __future__ import annotations

import threading
from collections.abc import Callable

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from azsyncd.control.client import Authorization, DeviceCode, TenantState
from tui.api import Failure, on_ui
from tui.screens.modal import Modal
from tui.text import esc


class SignInScreen(Modal[str]):
    DEFAULT_CSS = """
    SignInScreen #code { text-style: bold; color: $accent; text-align: center; padding: 1 0; }
    SignInScreen #url { text-align: center; }
    """

    def __init__(
        self,
        tenant: str,
        code: DeviceCode,
        poll: Callable[[], Authorization | Failure],
        interval: float = 1.0,
    ) -> None:
        super().__init__()
        self.tenant, self.code, self.poll, self.interval = tenant, code, poll, interval
        self.closed = threading.Event()

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(f"[b]Sign in to authorize {esc(self.tenant)}[/b]\nOn any device, open")
            yield Static(esc(self.code.verification_uri), id="url")
            yield Static("and enter the code")
            yield Static(esc(" ".join(self.code.user_code)), id="code")
            yield Static(
                f"Waiting for the sign-in… (the code expires in {self.code.expires_in // 60} "
                "min; Esc closes this window, the daemon keeps waiting)",
                id="state",
            )

    def on_mount(self) -> None:
        super().on_mount()
        self.wait_for_sign_in()

    def on_unmount(self) -> None:
        self.closed.set()

    @work(thread=True, exclusive=True)
    def wait_for_sign_in(self) -> None:
        while not self.closed.is_set():
            answer = self.poll()
            if isinstance(answer, Failure):
                if not answer.unreachable:
                    failed = DeviceCode(status="failed", reason=answer.message, fix=answer.fix)
                    on_ui(self, self.finished, failed, TenantState())
                    return
            else:
                state = answer.tenant.state
                # No sign-in any more (the daemon restarted, say): the tenant's state tells.
                code = answer.device_code or DeviceCode(
                    status="succeeded" if state.status == "active" else "failed"
                )
                if code.status != "pending":
                    on_ui(self, self.finished, code, state)
                    return
            self.closed.wait(self.interval)

    def finished(self, code: DeviceCode, state: TenantState) -> None:
        if code.status == "succeeded":
            text = f"[green]Signed in. {esc(self.tenant)} is Active{self.marks.active}[/green]"
        else:
            reason = code.reason or state.reason
            text = f"[red]{esc(code.status.title())}: {esc(reason)}[/red]"
            fix = code.fix or state.fix
            text += f"\nfix: {esc(fix)}" if fix else ""
        self.query_one("#state", Static).update(text + "\n(Esc closes)")
