"""Preview: what the next full run would do with a tab's unsaved edits, before they are saved.

The daemon runs the next full sync dry over the changed settings (the client's ``preview``):
counts per action, the top reasons contacts would fail with examples, and a sample of the
contacts that would change with their field diffs. Nothing is saved or written. It reads
every enabled tenant in full, so it takes about as long as a dry run.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from azsyncd.control.client import Client, PreviewAnswer
from tui.api import Failure, attempt, on_ui
from tui.screens.modal import Modal
from tui.text import esc

# The daemon's actions, in the order a run does them, as an admin reads them.
ACTIONS = {
    "create": "new",
    "update": "updated",
    "unchanged": "unchanged",
    "fail": "failed",
    "out_of_scope": "out of scope",
    "leaver": "leavers",
    "returned": "returned",
    "group_change": "group changes",
}
Request = Callable[[Client], PreviewAnswer]


def counts_line(counts: dict[str, int]) -> str:
    """ "12 new, 250 updated, 3 failed": every action with a count, known ones first."""
    keys = [*(k for k in ACTIONS if k in counts), *(k for k in counts if k not in ACTIONS)]
    shown = [f"{counts[k]} {ACTIONS.get(k, k.replace('_', ' '))}" for k in keys if counts[k]]
    return ", ".join(shown) or "no change"


def preview_lines(result: PreviewAnswer) -> list[str]:
    """The preview as lines of markup; the directory's text (names, values, examples) escaped."""
    lines = [f"[b]The next full run would give[/b]: {esc(counts_line(result.counts))}"]
    if result.refused:
        lines.append(f"[b]Saving asks first[/b]: {esc(result.refused)}")
    elif result.counts.get("fail"):
        lines.append(
            f"Saving does not ask: no tenant fails more than {result.max_fail_share:.0%} of its "
            "contacts because of this change."
        )
    lines.append("")
    for tenant in result.tenants:
        if not tenant.ok:
            lines.append(f"Tenant {esc(tenant.name)}: not read: {esc(tenant.reason)}")
            continue
        lines.append(
            f"Tenant {esc(tenant.name)}: {tenant.users} users, {tenant.contacts} contacts; "
            f"{esc(counts_line(tenant.counts))}"
            + (
                f" ({tenant.fail_share:.0%} fail; {tenant.failing_now} fail now)"
                if tenant.counts.get("fail")
                else ""
            )
        )
    if result.reasons:
        lines += ["", "[b]Top reasons for failing[/b]"]
        for reason in result.reasons:
            lines.append(f"  {reason.count:>5}  {esc(reason.reason)}")
            if reason.examples:
                lines.append(f"         e.g. {esc(', '.join(reason.examples))}")
    if result.sample:
        lines += ["", "[b]Contacts that would change[/b] (a sample)"]
        for change in result.sample:
            who = change.email or change.user
            lines.append(f"  {esc(change.action)} {esc(who)} ({esc(change.tenant)})")
            lines += [f"      {esc(diff)}" for diff in change.changes]
    lines += ["", *(esc(note) for note in result.notes)]
    lines.append(f"Previewed in {result.seconds:.1f} s; nothing was saved or written.")
    return lines


class PreviewScreen(Modal[None]):
    DEFAULT_CSS = """
    PreviewScreen > #dialog { width: 100%; height: 100%; }
    PreviewScreen #preview-scroll { height: 1fr; border-top: solid $panel; }
    """

    def __init__(self, what: str, request: Request) -> None:
        super().__init__()
        self.what, self.request = what, request

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(
                f"[b]Preview[/b] of {esc(self.what)}: what the next full run would do. Nothing "
                "is saved or written.",
                id="dialog-title",
            )
            with VerticalScroll(id="preview-scroll", can_focus=True):
                yield Static(
                    "Previewing: every enabled tenant is read in full (about as long as a dry "
                    "run)…",
                    id="preview-text",
                )
            yield Static(
                "Up/Down scroll; Esc closes (the edits stay on the tab: Ctrl+S saves them)",
                classes="hint",
            )

    def on_mount(self) -> None:
        super().on_mount()
        self.run_preview()

    @property
    def busy(self) -> bool:
        return any(w.is_running and w.group == "preview" for w in self.workers)

    @work(thread=True, exclusive=True, group="preview")
    def run_preview(self) -> None:
        result = attempt(self.azsync.client, self.request)
        on_ui(self, self.show_result, result)

    def show_result(self, result: PreviewAnswer | Failure) -> None:
        text = self.query_one("#preview-text", Static)
        if isinstance(result, Failure):
            lines = [f"Not previewed: {esc(result.message)}"]
            lines += [f"{esc(p.key)}: {esc(p.message)}" for p in result.problems]
            if result.fix:
                lines.append(f"fix: {esc(result.fix)}")
            text.update("\n".join(lines))
            return
        text.update("\n".join(preview_lines(result)))
