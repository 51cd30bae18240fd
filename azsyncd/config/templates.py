"""The ``{field}`` templates of the configuration: checked when the config is, rendered safely.

A template such as ``"Left Microsoft Entra ID: {tenant}"`` looks like a Python format string,
and ``str.format`` would take more than names from it: ``{tenant:>200000000}`` pads to 200
million characters (a run's memory), ``{tenant.__class__}`` reads attributes, a stray ``{``
fails every later sync. Here a template is parsed with ``string.Formatter`` when the config is
checked, and may hold only literal text (``{{`` and ``}}`` for braces) and the documented field
names, bare: no format spec, conversion, attribute or index. ``render`` never calls
``format``: it joins the literal parts and the values, and cuts the result at a length cap.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from string import Formatter

# The fields each template may name; documented in config/azsyncd.example.toml.
GROUP_NAME_FIELDS = ("tenant",)
WELCOME_FIELDS = ("name", "email", "portal_url", "account")
# The longest a rendered template may be: a group name or a subject line, and an email body.
MAX_LINE = 255
MAX_BODY = 64 * 1024

_Parts = list[tuple[str, str | None]]


def parse(template: str, fields: Collection[str]) -> _Parts:
    """The template as (literal text, field name or None) pairs; ValueError says what is wrong
    and how to write it instead."""
    allowed = ", ".join(f"{{{name}}}" for name in fields)
    try:
        items = list(Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(
            f"is not a template ({exc}); write a literal brace as {{{{ or }}}}, and fields as"
            f" {allowed}"
        ) from None
    parts: _Parts = []
    for literal, name, spec, conversion in items:
        if name is None:
            parts.append((literal, None))
            continue
        shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
        if spec or conversion:
            raise ValueError(
                f"{shown[:40]}}} has a format spec or conversion; templates take bare field"
                f" names only: {allowed}"
            )
        if name not in fields:
            close = difflib.get_close_matches(name, list(fields), n=1)
            hint = f' (did you mean "{{{close[0]}}}"?)' if close else ""
            raise ValueError(
                f"{{{name[:40]}}} is not a field of this template{hint}; use {allowed}, and"
                " no attribute or index"
            )
        parts.append((literal, name))
    return parts


def check(template: str, fields: Collection[str]) -> str:
    """``template`` if it is one of ``fields`` only; ValueError otherwise (a config validator)."""
    parse(template, fields)
    return template


def render(template: str, values: Mapping[str, object], limit: int = MAX_LINE) -> str:
    """The template with each field replaced by its value, at most ``limit`` characters."""
    out: list[str] = []
    size = 0
    for literal, name in parse(template, values.keys()):
        for piece in (literal, "" if name is None else str(values[name])):
            out.append(piece[: max(0, limit - size)])
            size += len(out[-1])
        if size >= limit:
            break
    return "".join(out)
