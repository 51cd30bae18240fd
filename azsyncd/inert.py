"""Text from the directory made inert before it is shown or exported.

A name or phone number in Entra ID is typed by whoever may edit the directory. Printed raw, an
ESC starts a terminal command (ESC[2J clears the screen, OSC 52 writes the clipboard), a C1
character does the same on terminals that read 8-bit controls, and a bidi override (U+202E)
makes a line read differently from what it holds. ``inert`` writes each such character as the
escape ``\\uXXXX``: the value stays readable and its oddity visible, and the same escape is
valid inside a JSON string, so one function serves the terminal, the TUI, CSV and JSON
(``json.dumps`` escapes C0 itself but writes DEL, C1 and bidi overrides as they are).

Escaped: C0 controls (tab and newline only where the caller keeps them), DEL, C1 controls,
the bidi embeddings, overrides, isolates and marks, and the line and paragraph separators.
"""

from __future__ import annotations

import re

# U+061C ARABIC LETTER MARK, U+200E/U+200F LRM/RLM, U+202A-U+202E embeddings and overrides,
# U+2066-U+2069 isolates; U+2028/U+2029 end a line in some viewers.
_BIDI_AND_BREAKS = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_CONTROLS = "\x00-\x08\x0a-\x1f\x7f-\x9f"  # C0 (tab apart), DEL and C1
_ANY = re.compile(f"[\t{_CONTROLS}{_BIDI_AND_BREAKS}]")
_PATTERNS: dict[str, re.Pattern[str]] = {}


def _pattern(keep: str) -> re.Pattern[str]:
    found = _PATTERNS.get(keep)
    if found is None:
        kept = set(keep)
        chars = "".join(re.escape(c) for c in "\t\n" if c not in kept)
        controls = _CONTROLS.replace("\x0a-", "\x0b-") if "\n" in kept else _CONTROLS
        found = re.compile(f"[{chars}{controls}{_BIDI_AND_BREAKS}]")
        _PATTERNS[keep] = found
    return found


def _escaped(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def inert(text: str, keep: str = "\t\n") -> str:
    """``text`` with every terminal control and bidi override written as ``\\uXXXX``.

    ``keep`` names the characters the field may hold as they are: tab and newline by default
    (a multi-line message), "" for a single-line value such as a table cell or a CSV field.
    """
    if not _ANY.search(text):
        return text  # the common case: nothing to do, no copy
    return _pattern(keep).sub(_escaped, text)
