"""One line per event on stderr (journald stamps the time), with secrets redacted.

A message may quote the directory (a user's name in a run's log): its terminal controls and
bidi overrides are escaped (``azsyncd.inert``), and the lines after a newline in it are
indented, so no text from outside can forge a journal entry of its own.
"""

from __future__ import annotations

import logging
import re
import sys
import threading

from azsyncd.inert import inert

_known: set[str] = set()
_lock = threading.Lock()

# Shapes that carry credentials whatever their value: bearer tokens, form fields, basic auth.
_PATTERNS = [
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1[redacted]"),
    (re.compile(r"(?i)(basic\s+)[A-Za-z0-9+/=]+"), r"\1[redacted]"),
    (
        re.compile(
            r"(?i)\b(client_secret|client_assertion|refresh_token|access_token|password|passphrase|"
            r"api_key|auth_code)(['\"]?\s*[=:]\s*['\"]?)[^\s&'\",}]+"
        ),
        r"\1\2[redacted]",
    ),
]


def register_secret(value: str) -> None:
    """Remember a secret's value so that it is redacted wherever it would be logged."""
    if len(value) >= 4:
        with _lock:
            _known.add(value)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, "[redacted]")
    return text


CONTINUATION = "\n    "  # how the later lines of one message start


class RedactingFormatter(logging.Formatter):
    def formatMessage(self, record: logging.LogRecord) -> str:
        return inert(super().formatMessage(record)).replace("\n", CONTINUATION)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "uvicorn.access", "msal", "peewee"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
