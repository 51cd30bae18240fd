"""The expression and condition language: tokens, syntax tree, parser.

A hand-written recursive-descent parser over a small token set; nothing is ever evaluated
by Python's ``eval``. Every node keeps the column it starts at, so an error can point at it.

    expression  := call | path | string | number | "true" | "false"
    call        := name "(" [argument ("," argument)*] ")"
    argument    := expression | expression ":" expression | "default" ":" expression
    condition   := or
    or          := and ("or" and)*
    and         := unary ("and" unary)*
    unary       := "not" unary | "(" condition ")" | "has" "license" | operand [predicate]
    predicate   := ("=" | "!=" | "<" | "<=" | ">" | ">=") operand
                 | "starts" "with" operand | ["not"] "in" "[" operand ("," operand)* "]"
                 | "matches" string | "is" ["not"] "empty"
    operand     := expression | "today" [("+" | "-") number]
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from azsyncd.inert import inert

MAX_LENGTH = 1024  # every configuration string is at most this long
MAX_DEPTH = 32  # nesting; deeper is refused before Python's own recursion limit could be


class ExpressionError(ValueError):
    """A problem in an expression, at a column of its text (1-based in the message)."""

    def __init__(self, message: str, source: str, position: int) -> None:
        self.problem, self.source, self.position = message, source, max(0, position)
        super().__init__(self.describe())

    def describe(self) -> str:
        return f"at column {self.position + 1}: {self.problem}"

    def pointer(self) -> str:
        """The text and a caret under the column, for a terminal."""
        return f"{self.source}\n{' ' * self.position}^"


def nearest(word: str, candidates: object) -> str:
    """' (did you mean "x"?)' for the closest candidate, or nothing."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)  # type: ignore[call-overload]
    return f' (did you mean "{close[0]}"?)' if close else ""


# --- tokens ---------------------------------------------------------------------------

TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<number>\d+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\[\d+\])?(?:\.[A-Za-z_][A-Za-z0-9_]*(?:\[\d+\])?)*)
  | (?P<op><=|>=|!=|=|<|>|\(|\)|\[|\]|,|:|\+|-)
    """,
    re.VERBOSE,
)
UNTERMINATED = re.compile(r"""["']""")
# Only quotes and the backslash are escaped; any other backslash stays as written, so a
# regular expression reads as usual: "\d+" is the pattern \d+.
ESCAPES = {'"', "'", "\\"}


@dataclass(frozen=True)
class Token:
    kind: str  # string | number | name | op | end
    text: str
    position: int
    value: Any = None


def tokens(source: str) -> list[Token]:
    if len(source) > MAX_LENGTH:
        raise ExpressionError(
            f"longer than {MAX_LENGTH} characters; split it or shorten it", source, MAX_LENGTH
        )
    found: list[Token] = []
    at = 0
    while at < len(source):
        match = TOKEN.match(source, at)
        if match is None:
            char = source[at]
            if UNTERMINATED.match(char):
                raise ExpressionError(
                    f"the text starting here has no closing {char}; close it with {char}",
                    source,
                    at,
                )
            shown = inert(char, keep="")
            raise ExpressionError(
                f'unexpected character "{shown}"; write text in quotes, e.g. "{shown}"', source, at
            )
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "string":
            found.append(Token(kind, text, at, _unquote(text, source, at)))
        elif kind == "number":
            found.append(Token(kind, text, at, int(text)))
        elif kind != "space":
            found.append(Token(kind, text, at, text))
        at = match.end()
    found.append(Token("end", "", len(source)))
    return found


def _unquote(text: str, source: str, at: int) -> str:
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            escaped = body[i + 1]
            out.append(escaped if escaped in ESCAPES else char + escaped)
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


# --- the tree -------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    position: int


@dataclass(frozen=True)
class Literal(Node):
    value: Any  # str, int or bool


@dataclass(frozen=True)
class Path(Node):
    attribute: str  # e.g. onPremisesExtensionAttributes.extensionAttribute1, manager.mail


@dataclass(frozen=True)
class Today(Node):
    days: int = 0  # today + days


@dataclass(frozen=True)
class Pair(Node):
    key: Node | None  # None: the default
    value: Node


@dataclass(frozen=True)
class Call(Node):
    function: str
    arguments: tuple[Node, ...] = field(default=())


@dataclass(frozen=True)
class Compare(Node):
    left: Node
    op: str  # = != < <= > >= "starts with" in "not in" matches "is empty" "is not empty"
    right: tuple[Node, ...] = ()


@dataclass(frozen=True)
class HasLicense(Node):
    pass


@dataclass(frozen=True)
class Truth(Node):
    operand: Node  # a yes/no value standing alone as a condition: accountEnabled


@dataclass(frozen=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True)
class Both(Node):
    op: str  # and | or
    parts: tuple[Node, ...]


KEYWORDS = {"and", "or", "not", "in", "is", "empty", "matches", "starts", "with", "has"}
COMPARISONS = {"=", "!=", "<", "<=", ">", ">="}


class Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.items = tokens(source)
        self.at = 0
        self.depth = 0

    # --- helpers ---

    @property
    def token(self) -> Token:
        return self.items[self.at]

    def take(self) -> Token:
        token = self.items[self.at]
        self.at += 1
        return token

    def is_op(self, text: str) -> bool:
        return self.token.kind == "op" and self.token.text == text

    def is_word(self, word: str) -> bool:
        return self.token.kind == "name" and self.token.text == word

    def expect_op(self, text: str, what: str) -> Token:
        if not self.is_op(text):
            raise self.error(f'expected "{text}" {what}, found {self.describe(self.token)}')
        return self.take()

    def expect_word(self, word: str, what: str) -> Token:
        if not self.is_word(word):
            raise self.error(f'expected "{word}" {what}, found {self.describe(self.token)}')
        return self.take()

    def error(self, message: str, position: int | None = None) -> ExpressionError:
        return ExpressionError(
            message, self.source, self.token.position if position is None else position
        )

    @staticmethod
    def describe(token: Token) -> str:
        # A quoted text may hold a newline or a control: the message stays one inert line.
        return "the end" if token.kind == "end" else f'"{inert(token.text, keep="")}"'

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nested more than {MAX_DEPTH} levels deep; simplify it")

    def done(self, what: str) -> None:
        if self.token.kind != "end":
            hint = (
                "; join conditions with and / or"
                if what == "condition"
                else "; combine values with a function such as join or coalesce"
            )
            raise self.error(f"unexpected {self.describe(self.token)} after the {what}{hint}")

    # --- expressions ---

    def expression(self) -> Node:
        self.nested()
        token = self.token
        try:
            if token.kind == "string":
                self.take()
                return Literal(token.position, token.value)
            if token.kind == "number":
                self.take()
                return Literal(token.position, token.value)
            if token.kind == "name":
                if token.text in ("true", "false"):
                    self.take()
                    return Literal(token.position, token.text == "true")
                if token.text in KEYWORDS:
                    raise self.error(f'"{token.text}" is a word of conditions, not a value')
                self.take()
                if self.is_op("("):
                    return self.call(token)
                return Path(token.position, token.text)
            if token.kind == "end":
                raise self.error("a value is missing here: an attribute, a function or text")
            raise self.error(
                f"expected a value (an attribute, a function or text), found {self.describe(token)}"
            )
        finally:
            self.depth -= 1

    def call(self, name: Token) -> Call:
        self.expect_op("(", "after the function name")
        arguments: list[Node] = []
        if not self.is_op(")"):
            while True:
                arguments.append(self.argument())
                if self.is_op(","):
                    self.take()
                    continue
                break
        if not self.is_op(")"):
            found = self.describe(self.token)
            raise self.error(f'expected "," or ")" in the call of {name.text}, found {found}')
        self.take()
        return Call(name.position, name.text, tuple(arguments))

    def argument(self) -> Node:
        if self.is_word("default") and self.items[self.at + 1].text == ":":
            start = self.take().position
            self.take()
            return Pair(start, None, self.expression())
        value = self.expression()
        if self.is_op(":"):
            self.take()
            return Pair(value.position, value, self.expression())
        return value

    def parse_expression(self) -> Node:
        if self.token.kind == "end":
            raise self.error("empty; write an attribute such as mail, or an expression")
        node = self.expression()
        self.done("value")
        return node

    # --- conditions ---

    def parse_condition(self) -> Node:
        if self.token.kind == "end":
            raise self.error('empty; write a condition such as userType = "Member"')
        node = self.either()
        self.done("condition")
        return node

    def either(self) -> Node:
        parts = [self.both()]
        while self.is_word("or"):
            self.take()
            parts.append(self.both())
        return parts[0] if len(parts) == 1 else Both(parts[0].position, "or", tuple(parts))

    def both(self) -> Node:
        parts = [self.unary()]
        while self.is_word("and"):
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else Both(parts[0].position, "and", tuple(parts))

    def unary(self) -> Node:
        self.nested()
        try:
            token = self.token
            if self.is_word("not"):
                self.take()
                return Not(token.position, self.unary())
            if self.is_op("("):
                self.take()
                inner = self.either()
                self.expect_op(")", "to close the parenthesis")
                return inner
            if self.is_word("has"):
                self.take()
                self.expect_word("license", 'after "has" (has license)')
                return HasLicense(token.position)
            left = self.operand()
            return self.predicate(left)
        finally:
            self.depth -= 1

    def operand(self) -> Node:
        token = self.token
        if self.is_word("today"):
            self.take()
            days = 0
            if self.is_op("+") or self.is_op("-"):
                sign = 1 if self.take().text == "+" else -1
                if self.token.kind != "number":
                    raise self.error(f"expected a number of days after today {'+-'[sign < 0]}")
                days = sign * int(self.take().value)
            return Today(token.position, days)
        return self.expression()

    def predicate(self, left: Node) -> Node:
        token = self.token
        if token.kind == "op" and token.text in COMPARISONS:
            self.take()
            return Compare(token.position, left, token.text, (self.operand(),))
        if self.is_word("starts"):
            self.take()
            self.expect_word("with", '(starts with "...")')
            return Compare(token.position, left, "starts with", (self.operand(),))
        if self.is_word("matches"):
            self.take()
            if self.token.kind != "string":
                raise self.error("expected a regular expression in quotes after matches")
            pattern = self.take()
            return Compare(
                token.position, left, "matches", (Literal(pattern.position, pattern.value),)
            )
        if self.is_word("is"):
            self.take()
            negated = bool(self.is_word("not") and self.take())
            if not self.is_word("empty"):
                raise self.error(
                    f'expected "empty" after "is", found {self.describe(self.token)}: "is" tests'
                    ' for a value (is empty, is not empty); to compare, write = "text"'
                )
            self.take()
            return Compare(token.position, left, "is not empty" if negated else "is empty")
        if self.is_word("in") or (self.is_word("not") and self.items[self.at + 1].text == "in"):
            negated = self.take().text == "not"
            if negated:
                self.take()
            self.expect_op("[", 'to open the list after "in" (in ["a", "b"])')
            items = [self.operand()]
            while self.is_op(","):
                self.take()
                items.append(self.operand())
            self.expect_op("]", "to close the list")
            return Compare(token.position, left, "not in" if negated else "in", tuple(items))
        if token.kind == "end" or self.is_word("and") or self.is_word("or") or self.is_op(")"):
            return Truth(left.position, left)
        raise self.error(
            f"expected a comparison (=, !=, <, >, starts with, in, matches, is empty), found"
            f" {self.describe(token)}"
        )


def parse_expression(source: str) -> Node:
    return Parser(source).parse_expression()


def parse_condition(source: str) -> Node:
    return Parser(source).parse_condition()
