"""Esc followed at once by a digit: two keys, not one.

Terminals send Esc as the byte that also starts escape sequences, so Esc and a digit that
arrive together (typed fast, or bunched by a slow link) are read as one sequence. Textual
maps ESC+digit to the Mac Option symbols (¡ ™ £ ¢ ∞ § ¶); here they are read as alt+digit
instead, and the app splits alt+digit back into Esc, then the digit: leave the field, then
switch tabs, as the admin typed them.
"""

from __future__ import annotations

from typing import Any, cast

from textual import events
from textual._ansi_sequences import ANSI_SEQUENCES_KEYS

TAB_DIGITS = "1234567890"


def read_esc_digit_as_alt() -> None:
    for digit in TAB_DIGITS:
        cast(dict[str, Any], ANSI_SEQUENCES_KEYS).pop(f"\x1b{digit}", None)


def split_alt_digit(event: events.Key) -> list[events.Key] | None:
    """Esc and the digit for an alt+digit key; None for any other key."""
    modifier, _, digit = event.key.partition("+")
    if modifier != "alt" or digit not in TAB_DIGITS:
        return None
    return [events.Key("escape", "\x1b"), events.Key(digit, digit)]
