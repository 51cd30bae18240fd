"""The plug-in point through which each target declares its ``[target.<kind>]`` table.

Targets sit above the config layer, so the config cannot import them: each target registers
its kind here (``azsyncd/targets/registry.py`` does it for every built-in target when it is
imported), and validation asks this module which kinds exist, what their table looks like,
which of its keys name secret files and which rules tie it to the rest of the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from azsyncd.config.model import Config

# (table, whole configuration) -> (key from the file's root, message with the fix)
Rules = Callable[[Any, "Config"], Iterator[tuple[str, str]]]


@dataclass(frozen=True, kw_only=True)
class TargetKind:
    name: str  # the value of [target] kind, and the name of its table
    settings: type[BaseModel]  # the [target.<name>] table
    secret_keys: tuple[str, ...] = ()  # keys of the table that name secret files (*_file)
    # Keys of the table that name a remote endpoint under another name than the usual ones
    # (config/changes.py's FILE_ONLY_NAMES): changed in the file only, as those are.
    file_only: tuple[str, ...] = ()
    rules: Rules | None = None  # checks across tables, run on a valid configuration


_kinds: dict[str, TargetKind] = {}


def register(kind: TargetKind) -> None:
    """Make ``kind`` known; its name must be a table name that is not ``kind`` itself."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", kind.name) or kind.name == "kind":
        raise ValueError(f"{kind.name!r} cannot name a target kind: use a lowercase identifier")
    if _kinds.get(kind.name, kind) is not kind:
        raise ValueError(f'another target kind is registered as "{kind.name}" already')
    _kinds[kind.name] = kind


def unregister(name: str) -> None:
    _kinds.pop(name, None)


def get(name: str) -> TargetKind | None:
    if not _kinds:
        raise RuntimeError(
            "no target kinds are registered; import azsyncd.targets.registry before validating"
            " a configuration"
        )
    return _kinds.get(name)


def names() -> list[str]:
    return list(_kinds)


def kinds() -> list[TargetKind]:
    return list(_kinds.values())
