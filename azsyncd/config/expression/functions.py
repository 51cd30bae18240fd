"""The functions of mapping expressions: each checks its arguments' kinds (at config-check
time, with the column of the argument at fault) and builds the callable that runs it.

A function gets its arguments as checked ``Arg`` (the node, its kind, and a callable giving
its value for one user); literal arguments (a separator, a pattern) are read once here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from azsyncd.config.expression import regex
from azsyncd.config.expression.kinds import Kind, as_date, as_items, as_text, empty
from azsyncd.config.expression.syntax import ExpressionError, Literal, Node, Pair

Getter = Callable[[dict[str, Any]], Any]
# Directives format_date accepts: the portable ones of strftime.
DATE_DIRECTIVES = set("aAbBdHIjmMpSyYU%")
MAX_LEFT = 1024


@dataclass(frozen=True)
class Arg:
    node: Node
    kind: Kind
    get: Getter


class Problem(Exception):
    """An argument's problem; the compiler adds the source and the column."""

    def __init__(self, message: str, node: Node) -> None:
        super().__init__(message)
        self.message, self.node = message, node


def _literal(arg: Arg, what: str, kind: type = str) -> Any:
    if not isinstance(arg.node, Literal) or type(arg.node.value) is not kind:
        spelled = "text in quotes" if kind is str else "a whole number"
        raise Problem(f"{what} must be {spelled}", arg.node)
    return arg.node.value


def _one_value(arg: Arg, function: str) -> None:
    if arg.kind is Kind.LIST:
        raise Problem(
            f"{function} takes one value, and this is a list; pick one item (e.g."
            ' otherMails[0]) or join them first: join(", ", ...)',
            arg.node,
        )


def _count(args: list[Arg], node: Node, function: str, low: int, high: int | None) -> None:
    n = len(args)
    if n < low or (high is not None and n > high):
        wanted = str(low) if low == high else f"{low} or more" if high is None else f"{low}-{high}"
        raise Problem(f"{function} takes {wanted} argument(s), got {n}; {USAGE[function]}", node)


def _no_pairs(args: list[Arg], function: str) -> None:
    for arg in args:
        if isinstance(arg.node, Pair):
            raise Problem(f'"key: value" pairs belong in switch, not in {function}', arg.node)


def coalesce(node: Node, args: list[Arg]) -> tuple[Kind, Getter]:
    _count(args, node, "coalesce", 2, None)
    kinds = {a.kind for a in args}
    kind = kinds.pop() if len(kinds) == 1 else Kind.TEXT
    getters = [a.get for a in args]

    def run(user: dict[str, Any]) -> Any:
        for get in getters:
            value = get(user)
            if not empty(value):
                return value
        return None

    return kind, run


def _text_function(name: str, change: Callable[[str], str]) -> Callable[..., tuple[Kind, Getter]]:
    def build(node: Node, args: list[Arg]) -> tuple[Kind, Getter]:
        _count(args, node, name, 1, 1)
        _one_value(args[0], name)
        get = args[0].get

        def run(user: dict[str, Any]) -> Any:
            value = get(user)
            return None if empty(value) else change(as_text(value))

        return Kind.TEXT, run

    return build


def left(node: Node, args: list[Arg]) -> tuple[Kind, Getter]:
    _count(args, node, "left", 2, 2)
    _one_value(args[0], "left")
    n = _literal(args[1], "left's length", int)
    if n > MAX_LEFT:
        raise Problem(f"left's length is at most {MAX_LEFT}", args[1].node)
    get = args[0].get

    def run(user: dict[str, Any]) -> Any:
        value = get(user)
        return None if empty(value) else as_text(value)[:n]

    return Kind.TEXT, run


def replace(node: Node, args: list[Arg]) -> tuple[Kind, Getter]:
    _count(args, node, "replace", 3, 3)
    _one_value(args[0], "replace")
    pattern = _literal(args[1], "replace's pattern")
    replacement = _literal(args[2], "replace's replacement")
    try:
        compiled = regex.bounded(pattern, ignore_case=False)
    except regex.PatternError as exc:
        raise Problem(str(exc), args[1].node) from None
    for i, char in enumerate(replacement[:-1]):
        if (
            char == "\\"
            and replacement[i + 1].isdigit()
            and int(replacement[i + 1]) > regex.groups(compiled)
        ):
            raise Problem(
                f"\\{replacement[i + 1]} names a group the pattern does not have (it has"
                f" {regex.groups(compiled)}); groups are written in parentheses",
                args[2].node,
            )
    get = args[0].get

    def run(user: dict[str, Any]) -> Any:
        value = get(user)
        return None if empty(value) else regex.substitute(compiled, replacement, as_text(value))

    return Kind.TEXT, run


def join(node: Node, args: list[Arg]) -> tuple[Kind, Getter]:
    _count(args, node, "join", 2, None)
    separator = _literal(args[0], "join's separator (its first argument)")
    getters = [a.get for a in args[1:]]

    def run(user: dict[str, Any]) -> Any:
        parts = [as_text(item) for get in getters for item in as_items(get(user))]
        text = separator.join(p for p in parts if p)
        return text or None

    return Kind.TEXT, run


def split(node: Node, args: list[Arg]) -> tuple[Kind, Getter]:
    _count(args, node, "split", 2, 2)
    _one_value(args[0], "split")
    separator = _literal(args[1], "split's separator")
    if not separator:
        raise Problem('split\'s separator is empty; give one, e.g. ";"', args[1].node)
    get = args[0].get

    def run(user: dict[str, Any]) -> Any:
        value = get(user)
        if empty(value):
            return None
        items = [part.strip() for part in as_text(value).split(separator)]
        return [item for item in items if item] or None

    return Kind.LIST, run


def switch(node: Node, args: list[Arg]) -> tuple[Kind, Getter]:
    if not args or isinstance(args[0].node, Pair):
        raise Problem(f"switch needs the value to look up first; {USAGE['switch']}", node)
    _one_value(args[0], "switch")
    table: dict[str, Getter] = {}
    fallback: Getter | None = None
    kinds: set[Kind] = set()
    for arg in args[1:]:
        pair = arg.node
        if not isinstance(pair, Pair):
            raise Problem(
                'after the value, switch takes "key": value pairs and default: value', pair
            )
        kinds.add(arg.kind)
        if pair.key is None:
            if fallback is not None:
                raise Problem("switch has two defaults; keep one", pair)
            fallback = arg.get
            continue
        if not isinstance(pair.key, Literal) or isinstance(pair.key.value, bool):
            raise Problem("a switch key must be text in quotes (or a number)", pair.key)
        key = as_text(pair.key.value).casefold()
        if key in table:
            raise Problem(f'the key "{pair.key.value}" is in switch twice', pair.key)
        table[key] = arg.get
    if not table:
        raise Problem(f'switch needs at least one "key": value pair; {USAGE["switch"]}', node)
    get = args[0].get

    def run(user: dict[str, Any]) -> Any:
        value = get(user)
        found = table.get(as_text(value).casefold()) if not empty(value) else None
        chosen = found or fallback
        return chosen(user) if chosen is not None else None

    return (kinds.pop() if len(kinds) == 1 else Kind.TEXT), run


def format_date(node: Node, args: list[Arg]) -> tuple[Kind, Getter]:
    _count(args, node, "format_date", 2, 2)
    if args[0].kind not in (Kind.DATE, Kind.TEXT):
        raise Problem(f"format_date takes a date, and this is {args[0].kind}", args[0].node)
    pattern = _literal(args[1], "format_date's format")
    for i, char in enumerate(pattern):
        if char == "%" and (i + 1 >= len(pattern) or pattern[i + 1] not in DATE_DIRECTIVES):
            if i > 0 and pattern[i - 1] == "%":
                continue
            raise Problem(
                f"unknown date directive in {pattern!r}; use %Y %m %d %y %b %B %a %A %j %H %M"
                " %S %p %I %U %%",
                args[1].node,
            )
    get = args[0].get

    def run(user: dict[str, Any]) -> Any:
        day = as_date(get(user))
        return day.strftime(pattern) if isinstance(day, date) else None

    return Kind.TEXT, run


FUNCTIONS: dict[str, Callable[[Node, list[Arg]], tuple[Kind, Getter]]] = {
    "coalesce": coalesce,
    "lower": _text_function("lower", str.lower),
    "upper": _text_function("upper", str.upper),
    "trim": _text_function("trim", lambda text: " ".join(text.split())),
    "left": left,
    "replace": replace,
    "join": join,
    "split": split,
    "switch": switch,
    "format_date": format_date,
}
USAGE = {
    "coalesce": "coalesce(mail, userPrincipalName): the first value that is not empty",
    "lower": "lower(mail)",
    "upper": "upper(country)",
    "trim": "trim(jobTitle): spaces at both ends and doubled ones removed",
    "left": "left(department, 3): the first 3 characters",
    "replace": 'replace(mobilePhone, "[^0-9+]", ""): a regular expression and its replacement',
    "join": 'join(" ", givenName, surname): non-empty values with a separator',
    "split": 'split(extension_<app>_skills, ";"): a list, for a multi-select field',
    "switch": 'switch(department, "Sales": "Sales team", default: "Other")',
    "format_date": 'format_date(employeeHireDate, "%d.%m.%Y")',
}


def problem_at(problem: Problem, source: str) -> ExpressionError:
    return ExpressionError(problem.message, source, problem.node.position)
