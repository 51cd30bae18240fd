"""The help desk in use and the shape of its ``[target.<kind>]`` table, key by key.

A client draws the table from this answer alone (each key's value, type, choices, whether it
is set in the file only), so a new target needs no change in the TUI or azsyncctl. Values
pass through ``shown``: a secret pasted into a *_file key is never echoed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from azsyncd.answers import TargetInfo, read
from azsyncd.config import target_kinds
from azsyncd.config.changes import is_file_only, shown
from azsyncd.service.api.deps import daemon_of
from azsyncd.service.daemon import Daemon

router = APIRouter(prefix="/v1", tags=["settings"])
DaemonDep = Annotated[Daemon, Depends(daemon_of)]
SCALARS = {"string", "integer", "number", "boolean"}


def key_type(schema: dict[str, Any]) -> tuple[str, list[Any]]:
    """A key's type as a client edits it ("string", "integer", "number", "boolean",
    "choice" with its choices) or "other" (a list or table: changed in the file)."""
    options = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    if len(options) != 1:
        return "other", []
    only = options[0]
    if "enum" in only:
        return "choice", list(only["enum"])
    if "const" in only:
        return "choice", [only["const"]]
    kind = only.get("type")
    return (kind, []) if kind in SCALARS else ("other", [])


def table_keys(kind: target_kinds.TargetKind, table: BaseModel | None) -> list[dict[str, Any]]:
    schema = kind.settings.model_json_schema()
    required = set(schema.get("required", []))
    values = shown(table.model_dump(mode="json")) if table is not None else {}
    keys = []
    for key, prop in schema.get("properties", {}).items():
        type_, choices = key_type(prop)
        where = f"target.{kind.name}.{key}"
        keys.append(
            {
                "key": key,
                "value": values.get(key),
                "type": type_,
                "choices": choices,
                "description": prop.get("description", ""),
                "default": prop.get("default"),
                "required": key in required,
                "secret_file": key in kind.secret_keys,
                "file_only": is_file_only(where) or type_ == "other",
            }
        )
    return keys


@router.get("/target", summary="The help desk in use and each key of its [target.<kind>] table")
def get_target(daemon: DaemonDep) -> TargetInfo:
    target = daemon.config.target
    kind = target_kinds.get(target.kind)
    return read(
        TargetInfo,
        {
            "kind": target.kind,
            "kinds": target_kinds.names(),
            "keys": table_keys(kind, target.settings) if kind is not None else [],
            "in_file": target.kind in (target.__pydantic_extra__ or {}),
        },
    )
