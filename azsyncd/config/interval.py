"""The incremental schedule's interval: "5m", "90s", "1h30m"; "" or "0" turns it off.

Written as a number with a unit, because a bare number is ambiguous (seconds? minutes?)
and words ("5 minutes") are easy to misspell; the error says how to write it.
"""

from __future__ import annotations

import re
from datetime import timedelta

MINIMUM = timedelta(minutes=1)
MAXIMUM = timedelta(hours=24)
OFF = ("", "0")
_FORM = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")
HOW = 'write a number and a unit, e.g. "5m", "90s" or "1h30m" ("0" or "" turns it off)'


def parse_interval(text: str) -> timedelta | None:
    """The interval, or None when off. ValueError names the problem and how to write it."""
    text = text.strip()
    if text in OFF:
        return None
    if len(text) > 16:  # never echo a pasted novel back in the error
        raise ValueError(f'"{text[:16]}…" is not an interval; {HOW}')
    match = _FORM.match(text)
    if not match or not any(match.groupdict().values()):
        hint = f' (did you mean "{_guess(text)}"?)' if _guess(text) else ""
        raise ValueError(f'"{text}" is not an interval{hint}; {HOW}')
    parts = {k: int(v) for k, v in match.groupdict().items() if v}
    every = timedelta(hours=parts.get("h", 0), minutes=parts.get("m", 0), seconds=parts.get("s", 0))
    if every == timedelta(0):
        return None
    if every < MINIMUM:
        raise ValueError(
            f'"{text}" is shorter than the minimum of 1 minute; use "1m" or more, or "0" to turn'
            " the incremental schedule off"
        )
    if every > MAXIMUM:
        raise ValueError(
            f'"{text}" is longer than a day; the daily sync already covers that, so use at most'
            ' "24h", or "0" to turn the incremental schedule off'
        )
    return every


def _guess(text: str) -> str:
    """ "5 minutes" -> "5m", "2 hours" -> "2h", "30 sec" -> "30s"; "" when unsure."""
    if text.isdigit():
        return f"{text}m"
    match = re.match(r"^(\d+)\s*(h|hr|hrs|hours?|m|mins?|minutes?|s|secs?|seconds?)$", text, re.I)
    return f"{match.group(1)}{match.group(2)[0].lower()}" if match else ""


def format_interval(every: timedelta | None) -> str:
    """The inverse of parse_interval, in its shortest form: 5400 s -> "1h30m"."""
    if not every:
        return "0"
    seconds = int(every.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return "".join(f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n)
