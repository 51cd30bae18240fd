"""Check a user: what the next sync would do for one person, step by step.

It is the trace of ``azsyncctl sync --user``, as a dry run: for each tenant, whether the user
was found, whether they are in scope, what would be written (the mapped values and the
action), and why they fail. Nothing is written.
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Input, Static

from azsyncd.control.client import SyncOutcome
from tui.api import Failure, attempt, on_ui
from tui.screens.modal import Modal
from tui.text import esc
from tui.widgets.fields import FIELD_CSS, Row

WAIT_SECONDS = 120  # one user's dry run; a sync in progress is refused at once (409)


def trace_lines(outcome: SyncOutcome) -> list[str]:
    """The run's steps per tenant, then each record's verdict (markup; directory text escaped)."""
    run = outcome.run
    lines: list[str] = []
    tenant = ""
    for line in run.log if run else []:
        name, sep, step = line.message.partition(": ")
        if not sep or not step[:1].isdigit():
            if line.level in ("warning", "error"):
                lines.append(f"[b]{esc(line.message)}[/b]")
            continue
        if name != tenant:
            tenant = name
            lines.append(f"\n[b]Tenant {esc(name)}[/b]")
        lines.append(f"  {esc(step)}")
    records = outcome.plan.records if outcome.plan else []
    for record in records:
        verdict = "Fails" if record.status == "failed" else record.status.title()
        lines.append(
            f"\n[b]{esc(record.tenant)}: {esc(verdict)}[/b] {esc(record.email or '-')}: "
            f"{esc(record.result)}"
        )
    if not lines:
        lines.append("No enabled tenant was checked: enable one on the Tenants tab (2).")
    return lines


class CheckUserScreen(Modal[None]):
    DEFAULT_CSS = (
        FIELD_CSS
        + """
    CheckUserScreen > #dialog { width: 100%; height: 100%; }
    CheckUserScreen #trace { height: 1fr; border-top: solid $panel; }
    """
    )

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(
                "[b]Check a user[/b]: what the next sync would do for one person. It is a dry "
                "run: nothing is written.",
                id="dialog-title",
            )
            yield Row(
                "Name, address or id",
                Input(
                    id="who",
                    placeholder="e.g. ann@contoso.example",
                    classes="submit-on-enter",
                    compact=True,
                ),
                keys=["user"],
            )
            with VerticalScroll(id="trace", can_focus=True):
                yield Static(
                    "Type a display name, a user principal name, an address or an object id, "
                    "then Enter.",
                    id="trace-text",
                )
            yield Static("Enter checks; Tab to the result to scroll it; Esc closes", classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        who = event.value.strip()
        if not who:
            return
        self.query_one("#trace-text", Static).update(f"Checking {esc(who)}…")
        self.check(who)

    @property
    def busy(self) -> bool:
        return any(w.is_running and w.group == "check-user" for w in self.workers)

    @work(thread=True, exclusive=True, group="check-user")
    def check(self, who: str) -> None:
        result = attempt(
            self.azsync.client,
            lambda c: c.sync_and_wait(dry_run=True, user=who, timeout=WAIT_SECONDS),
        )
        on_ui(self, self.show_trace, who, result)

    def show_trace(self, who: str, result: SyncOutcome | Failure) -> None:
        text = self.query_one("#trace-text", Static)
        if isinstance(result, Failure):
            if result.code == "sync_running":
                head = "A sync is running: check again once it has ended."
            else:
                head = f"Not checked: {esc(result.message)}"
            text.update(head + (f"\nfix: {esc(result.fix)}" if result.fix else ""))
            return
        run = result.run
        head = f"[b]{esc(who)}[/b]" + (f" (dry run {run.id})" if run else "")
        text.update("\n".join([head, *trace_lines(result)]))
