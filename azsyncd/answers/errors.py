"""The error body of every refusal: ``{"error": {"code", "message", "fix", ...}}``."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

from azsyncd.answers.base import Answer
from azsyncd.answers.preview import Preview


class FieldProblem(Answer):
    """One refused value: the key as the daemon names it, and what is wrong."""

    key: str = ""
    message: str = ""

    def __init__(self, key: str = "", message: str = "", **data: Any) -> None:
        super().__init__(**{"key": key, "message": message, **data})


class ErrorBody(Answer):
    """What went wrong, and what to do. The other keys come with some codes only."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_serialization_defaults_required=False
    )

    code: str = "error"
    message: str = ""
    fix: str = ""
    problems: list[FieldProblem] | None = None  # invalid_request, invalid_config: each key
    run_id: int | None = None  # sync_running, plan_moved: the run in the way, or the new plan
    keys: list[str] | None = None  # file_only: the keys only the file may change
    active_host: str | None = None  # standby: where the active daemon is
    detail: str | None = None  # invalid_config on reload: the file's problems
    retry_after: int | None = None  # too_many_searches: seconds until the next is taken
    preview: Preview | None = None  # preview_fails: what the refused change would do


class ErrorAnswer(Answer):
    """Every refusal: {"error": {"code", "message", "fix", ...}}."""

    error: ErrorBody
