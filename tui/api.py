"""How the TUI calls the daemon from worker threads: an answer, or why there is none."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from textual.message_pump import MessagePump

from azsyncd.control.client import ApiFailure, Client, FieldProblem
from azsyncd.errors import DaemonUnreachable

T = TypeVar("T")


@dataclass
class Failure:
    """Why a call gave no answer: the daemon's message and fix, and any refused fields."""

    message: str
    fix: str = ""
    problems: list[FieldProblem] = field(default_factory=list)
    unreachable: bool = False
    status: int = 0
    code: str = ""

    @property
    def text(self) -> str:
        return self.message + (f"\nfix: {self.fix}" if self.fix else "")


def on_ui(node: MessagePump, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``callback`` (plain or async) on the UI thread from a worker, and give its result;
    nothing when ``node`` has left the screen or the app has stopped meanwhile."""

    def if_still_there() -> Any:
        return callback(*args, **kwargs) if node.is_attached else None

    try:
        return node.app.call_from_thread(if_still_there)
    except RuntimeError:  # the app is no longer running
        return None


def attempt(client: Client, request: Callable[[Client], T]) -> T | Failure:
    """Run one client call; a refusal or an absent daemon becomes a Failure."""
    try:
        return request(client)
    except DaemonUnreachable as exc:
        return Failure(exc.message, exc.fix, unreachable=True)
    except ApiFailure as exc:
        return Failure(exc.message, exc.fix, list(exc.problems), status=exc.status, code=exc.code)
