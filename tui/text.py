"""How the TUI writes times, states and marks, the same way on every tab.

A terminal without colour (NO_COLOR) or without emoji glyphs (the Linux console) gets
plain ASCII marks, so that state is always in the text, never only in a colour or a glyph.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.text import Text
from textual.markup import escape

from azsyncd.control.client import TenantState, inert

PLAIN_TERMS = ("linux", "dumb", "vt100", "vt102", "vt220", "ansi")


@dataclass(frozen=True)
class Marks:
    active: str
    entra: str
    unsaved: str
    error: str
    dot: str
    bar: str
    gap: str

    def on_off(self, value: bool) -> str:
        return "[x] On " if value else "[ ] Off"

    def picked(self, value: bool) -> str:
        return "[x]" if value else "[ ]"

    def progress(self, done: int, total: int | None, width: int = 30) -> str:
        """ "[██████░░░░] 600/1500 (40%)": the share in the text, not in a colour."""
        if not total or total <= 0:
            return f"{done} users so far"
        share = min(1.0, max(0.0, done / total))
        filled = int(share * width)
        return f"[{self.bar * filled}{self.gap * (width - filled)}] {done}/{total} ({share:.0%})"


FANCY = Marks(active=" ✅", entra="Ⓔ", unsaved="●", error="✗", dot="·", bar="█", gap="░")
PLAIN = Marks(active="", entra="E", unsaved="*", error="!", dot="|", bar="#", gap="-")


def plain_terminal(env: Mapping[str, str] = os.environ) -> bool:
    """NO_COLOR (any value) or a console whose font has no emoji."""
    return "NO_COLOR" in env or env.get("TERM", "") in PLAIN_TERMS


def marks_for(env: Mapping[str, str] = os.environ) -> Marks:
    return PLAIN if plain_terminal(env) else FANCY


def when(value: datetime | None, width: int = 16) -> str:
    """ "2026-11-26 00:30" from a timestamp, "-" for none."""
    return value.isoformat()[:width].replace("T", " ") if value else "-"


def local_time(value: datetime | None, zone: str) -> str:
    """A moment in the account's own time zone: "2026-11-27 00:30 Europe/Berlin"."""
    if value is None:
        return "-"
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return f"{when(value)} UTC"
    return f"{value.astimezone(tz).isoformat()[:16].replace('T', ' ')} {zone}"


def state_label(state: TenantState, marks: Marks) -> str:
    """ "Active ✅", or the status and its reason."""
    if state.status == "active":
        return "Active" + marks.active
    return f"{state.status.title()}: {state.reason}" if state.reason else state.status.title()


def clip(text: str, width: int) -> str:
    """One line of at most ``width`` characters, "…" where it was cut."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: max(0, width - 1)] + "…"


def esc(value: object) -> str:
    """Text from the daemon or the admin, safe inside markup ("[mapping.x]" stays as typed)
    and inert on the terminal (an ESC or a bidi override in a directory value is shown as
    its escape, never sent)."""
    return escape(inert(str(value)))


def cell(value: object, width: int | None = None) -> Text:
    """A table cell shown as it is (no markup, no terminal control), cut to ``width``."""
    text = "-" if value is None else inert(str(value), keep="")
    return Text(clip(text, width) if width else text, no_wrap=True)
