"""Mapping expressions and scope conditions: a small typed language, parsed and checked when
the configuration is, evaluated per user by plain callables (never ``eval``).

    compile_expression('coalesce(mail, userPrincipalName)') -> Expression
    compile_condition('userType = "Member" and has license') -> Condition

Errors are ``ExpressionError``: the problem, the column, and the nearest known name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from azsyncd.config.expression.compiler import Compiler, today_is
from azsyncd.config.expression.functions import FUNCTIONS, USAGE
from azsyncd.config.expression.kinds import Kind
from azsyncd.config.expression.syntax import (
    Call,
    ExpressionError,
    Literal,
    Node,
    Pair,
    Path,
    parse_condition,
    parse_expression,
)

__all__ = [
    "FUNCTIONS",
    "USAGE",
    "Condition",
    "Expression",
    "ExpressionError",
    "Kind",
    "compile_condition",
    "compile_expression",
    "today_is",
]


@dataclass(frozen=True, eq=False)
class Expression:
    source: str
    node: Node
    kind: Kind
    reads: frozenset[str]  # the attribute paths it reads
    evaluate: Callable[[dict[str, Any]], Any]

    @property
    def attribute(self) -> str | None:
        """The attribute when the expression is just one, as mappings always were."""
        return self.node.attribute if isinstance(self.node, Path) else None

    def outputs(self) -> list[Literal]:
        """Literal texts the expression can give as they are (a switch's values), to check
        against a dropdown's choices."""
        found: list[Literal] = []

        def walk(node: Node) -> None:
            if isinstance(node, Literal) and isinstance(node.value, str):
                found.append(node)
            elif isinstance(node, Pair):
                walk(node.value)
            elif isinstance(node, Call) and node.function in ("switch", "coalesce"):
                arguments = node.arguments[1:] if node.function == "switch" else node.arguments
                for argument in arguments:
                    walk(argument)

        walk(self.node)
        return found


@dataclass(frozen=True, eq=False)
class Condition:
    source: str
    node: Node
    reads: frozenset[str]
    test: Callable[[dict[str, Any]], bool]
    dated: bool = False  # says `today`: a user's answer can change with no change of the user


@lru_cache(maxsize=512)
def compile_expression(source: str) -> Expression:
    compiler = Compiler(source)
    node = parse_expression(source)
    arg = compiler.value(node)
    return Expression(source, node, arg.kind, frozenset(compiler.read), arg.get)


@lru_cache(maxsize=512)
def compile_condition(source: str) -> Condition:
    compiler = Compiler(source)
    node = parse_condition(source)
    test = compiler.condition(node)
    return Condition(source, node, frozenset(compiler.read), test, compiler.dated)
