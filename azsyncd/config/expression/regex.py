"""Regular expressions with a bound: RE2, whose matching time grows linearly with the text.

Python's ``re`` backtracks, so a pattern such as ``(a+)+$`` can take hours on a long value;
an admin's pattern runs against every user of every run, so it must not be able to. RE2 has
no backreferences or lookaround, and says so when a pattern uses them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

MAX_PATTERN = 256
MAX_INPUT = 4096  # a directory value longer than this is matched on its first part


class PatternError(ValueError):
    pass


def _options(ignore_case: bool) -> Any:
    options = re2.Options()
    options.log_errors = False  # the error comes back to us, not to stderr
    options.case_sensitive = not ignore_case
    return options


@lru_cache(maxsize=256)
def bounded(pattern: str, ignore_case: bool = True) -> Any:
    """The compiled pattern; PatternError says what is wrong with it."""
    if len(pattern) > MAX_PATTERN:
        raise PatternError(f"the pattern is longer than {MAX_PATTERN} characters; shorten it")
    try:
        return re2.compile(pattern, _options(ignore_case))
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        hint = ""
        if "\\1" in pattern or "(?=" in pattern or "(?!" in pattern or "(?<" in pattern:
            hint = " (backreferences and lookaround are not supported: they are what can make a"
            hint += " pattern take forever)"
        raise PatternError(f"not a valid regular expression: {reason}{hint}") from None


def search(compiled: Any, text: str) -> bool:
    return compiled.search(text[:MAX_INPUT]) is not None


def substitute(compiled: Any, replacement: str, text: str) -> str:
    return str(compiled.sub(replacement, text[:MAX_INPUT]))


def groups(compiled: Any) -> int:
    return int(compiled.groups)
