"""``GET /v1/target``: the help desk in use and each key of its ``[target.<kind>]`` table."""

from __future__ import annotations

from typing import Any, Literal

from azsyncd.answers.base import Answer


class TargetKey(Answer):
    """One key of the help desk's table, as the daemon describes it to a client."""

    key: str = ""
    value: Any = None
    type: Literal["string", "integer", "number", "boolean", "choice", "other"] = "string"
    choices: list[Any] = []
    description: str = ""
    default: Any = None
    required: bool = False
    secret_file: bool = False  # names a file holding a secret
    file_only: bool = False  # changed in the configuration file only


class TargetInfo(Answer):
    """The help desk in use, the kinds there are, and the keys of its table."""

    kind: str = ""
    kinds: list[str] = []
    keys: list[TargetKey] = []
    in_file: bool = False  # the table is in the file (else its defaults apply)
