"""How the TUI calls the daemon from worker threads: errors become one line and a fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azsyncd.control.client import ApiFailure, Client
from azsyncd.errors import DaemonUnreachable


@dataclass
class Answer:
    """A daemon answer, or why there is none."""

    data: Any = None
    error: str = ""
    fix: str = ""
    problems: list[dict[str, str]] | None = None
    unreachable: bool = False

    @property
    def ok(self) -> bool:
        return not self.error


def call(
    client: Client, method: str, path: str, body: dict[str, Any] | None = None, **params: Any
) -> Answer:
    try:
        if method == "GET":
            return Answer(client.get(path, **params))
        if method == "POST":
            return Answer(client.post(path, body))
        if method == "PATCH":
            return Answer(client.patch(path, body or {}))
        if method == "DELETE":
            return Answer(client.delete(path))
        if method == "DOWNLOAD":
            return Answer(client.download(path))
        raise ValueError(method)
    except DaemonUnreachable as exc:
        return Answer(error=exc.message, fix=exc.fix, unreachable=True)
    except ApiFailure as exc:
        problems = exc.body.get("error", {}).get("problems") if isinstance(exc.body, dict) else None
        return Answer(error=exc.message, fix=exc.fix, problems=problems)
