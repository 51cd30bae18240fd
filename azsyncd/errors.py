"""The error tree of azsync.

    AzsyncError                   base of every error we raise on purpose
    ├── WithFix                   carries ``message`` and ``fix``
    │   ├── UserError             the admin can fix it; printed as message + fix, no traceback
    │   │   ├── ConfigError       the configuration file is missing or invalid (every problem)
    │   │   ├── SecretError       a secret file is missing, unreadable or empty
    │   │   └── DaemonUnreachable a client could not talk to the control socket
    │   ├── TargetError           the help desk refused a call or could not be reached
    │   └── NetworkError          no answer came from a host (network, TLS, DNS, a timeout)
    ├── StateError                the state database is unusable (schema too new, cannot open)
    ├── Interrupted               the daemon is stopping: a run ends at the next safe point
    ├── AuthError                 no token for a tenant (msal's code and message, and the fix)
    └── GraphError                Graph refused a call (Graph's code, message, request-id)

Errors of lower libraries are mapped to these at the boundary with ``raise ... from exc``:
httpx's and httpcore's in one place, ``network.py``.
No message ever contains a secret's value: only the key and the file it came from.
"""

from __future__ import annotations

from dataclasses import dataclass


class AzsyncError(Exception):
    """Base of every error azsync raises on purpose."""


class WithFix(AzsyncError):
    """An error that carries what to do about it."""

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


class UserError(WithFix):
    """An error the admin can fix; ``fix`` says how."""

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.fix}" if self.fix else self.message


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a configuration: where, what, and the fix."""

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "key": self.key, "message": self.message}


class ConfigError(UserError):
    """The configuration is invalid; ``problems`` lists every problem found at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        count = len(problems)
        head = f"the configuration has {count} problem{'s' if count != 1 else ''}"
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in problems))


class SecretError(UserError):
    """A secret file could not be read. Never carries the secret itself."""


class DaemonUnreachable(UserError):
    """A client could not reach the daemon's control socket."""


class StateError(AzsyncError):
    """The state database cannot be used."""


class Interrupted(AzsyncError):
    """Raised at a safe point (or in a wait) when the daemon is asked to stop."""


class TargetError(WithFix):
    """A help desk call failed for good (after retries); ``fix`` says what to do."""


class NetworkError(WithFix):
    """A call that got no usable answer: ``code`` is tls_untrusted, dns, timeout, unreachable
    or bad_answer; ``host`` the host called; ``kind`` the library's name for it (ReadTimeout...).
    ``lasting``: no retry will cure it (an untrusted certificate, an unknown host)."""

    def __init__(
        self,
        code: str,
        message: str,
        fix: str,
        *,
        host: str,
        kind: str,
        lasting: bool = False,
    ) -> None:
        super().__init__(message, fix)
        self.code, self.host, self.kind, self.lasting = code, host, kind, lasting

    @property
    def timeout(self) -> bool:
        return self.code == "timeout"


class AuthError(AzsyncError):
    """No token for a tenant: msal's error code and description, and what to do."""

    def __init__(self, code: str, message: str, fix: str = "") -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code
        self.message = message
        self.fix = fix


class GraphError(AzsyncError):
    """Graph answered with an error, after any retries. Carries what support asks for, and
    what to do when that is known."""

    def __init__(
        self, status: int, code: str, message: str, request_id: str = "", fix: str = ""
    ) -> None:
        text = f"Graph answered {status} {code}: {message}" if status else message
        super().__init__(text + (f" (request-id {request_id})" if request_id else ""))
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.fix = fix
