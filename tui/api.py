"""How the TUI calls the daemon from worker threads: an answer, or why there is none."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

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


def attempt(client: Client, request: Callable[[Client], T]) -> T | Failure:
    """Run one client call; a refusal or an absent daemon becomes a Failure."""
    try:
        return request(client)
    except DaemonUnreachable as exc:
        return Failure(exc.message, exc.fix, unreachable=True)
    except ApiFailure as exc:
        return Failure(exc.message, exc.fix, list(exc.problems), status=exc.status, code=exc.code)
