"""Checking a parsed expression or condition and turning it into a plain Python callable.

One pass does both: each node's kind is worked out (an attribute's from ``attributes``, a
function's from its arguments), mistakes are reported at the node's column, and the callable
that computes the node for one Graph user is built from its children's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, timedelta
from typing import Any

from azsyncd import attributes
from azsyncd.config.expression import regex
from azsyncd.config.expression.functions import FUNCTIONS, Arg, Problem, problem_at
from azsyncd.config.expression.kinds import Kind, as_date, as_items, as_text, empty
from azsyncd.config.expression.syntax import (
    Both,
    Call,
    Compare,
    ExpressionError,
    HasLicense,
    Literal,
    Node,
    Not,
    Pair,
    Path,
    Today,
    Truth,
    nearest,
)

Test = Any  # Callable[[dict[str, Any]], bool]
KIND_OF = {"text": Kind.TEXT, "bool": Kind.BOOL, "date": Kind.DATE, "list": Kind.LIST}
ORDERED = (Kind.DATE, Kind.NUMBER)


# The day `today` means: the run's, in the account's time zone (set by the run that tests
# the conditions); the machine's own date only outside a run.
_TODAY: ContextVar[date | None] = ContextVar("today", default=None)


def today() -> date:
    return _TODAY.get() or date.today()


@contextmanager
def today_is(day: date) -> Iterator[None]:
    """Conditions tested within say `today` for ``day``."""
    token = _TODAY.set(day)
    try:
        yield
    finally:
        _TODAY.reset(token)


class Compiler:
    def __init__(self, source: str) -> None:
        self.source = source
        self.read: set[str] = set()  # attribute paths the expression reads
        self.dated = False  # whether it says `today`: its answer changes as days pass

    def fail(self, message: str, node: Node) -> ExpressionError:
        return ExpressionError(message, self.source, node.position)

    # --- values ---

    def value(self, node: Node) -> Arg:
        if isinstance(node, Literal):
            constant = node.value
            kind = (
                Kind.BOOL
                if isinstance(constant, bool)
                else (Kind.NUMBER if isinstance(constant, int) else Kind.TEXT)
            )
            return Arg(node, kind, lambda user: constant)
        if isinstance(node, Path):
            return self.path(node)
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, Pair):
            # A pair's kind is its value's; the key is checked by switch.
            inner = self.value(node.value)
            return Arg(node, inner.kind, inner.get)
        if isinstance(node, Today):
            raise self.fail(
                "today belongs in a date comparison, e.g. employeeHireDate < today", node
            )
        raise self.fail("a condition is not a value here", node)

    def path(self, node: Path) -> Arg:
        name = node.attribute
        if name == "today":
            raise self.fail(
                "today belongs in a date comparison, e.g. employeeHireDate < today", node
            )
        if not attributes.is_known(name):
            known = [*attributes.KNOWN, *attributes.LISTS]
            if name in FUNCTIONS:
                raise self.fail(f"{name} is a function: write {name}(...)", node)
            if name.lower().startswith("extension_"):
                raise self.fail(
                    f'"{name}" is not a directory extension\'s name: it is extension_<the'
                    " registering app's id, its 32 hex digits without dashes>_<name>, e.g."
                    " extension_0123456789abcdef0123456789abcdef_costCenter",
                    node,
                )
            raise self.fail(
                f'unknown directory attribute "{name}"{nearest(name, known)};'
                " see GET /v1/attributes for the list",
                node,
            )
        self.read.add(name)
        return Arg(
            node, KIND_OF[attributes.kind_of(name)], lambda user: attributes.read(user, name)
        )

    def call(self, node: Call) -> Arg:
        build = FUNCTIONS.get(node.function)
        if build is None:
            hint = nearest(node.function, FUNCTIONS)
            raise self.fail(
                f'unknown function "{node.function}"{hint}; the functions are '
                + ", ".join(FUNCTIONS),
                node,
            )
        args = [self.value(a) for a in node.arguments]
        if node.function != "switch":
            for arg in args:
                if isinstance(arg.node, Pair):
                    raise self.fail(
                        f'"key: value" pairs belong in switch, not in {node.function}', arg.node
                    )
        try:
            kind, get = build(node, args)
        except Problem as problem:
            raise problem_at(problem, self.source) from None
        return Arg(node, kind, get)

    # --- conditions ---

    def condition(self, node: Node) -> Test:
        if isinstance(node, Both):
            tests = [self.condition(part) for part in node.parts]
            if node.op == "and":
                return lambda user: all(test(user) for test in tests)
            return lambda user: any(test(user) for test in tests)
        if isinstance(node, Not):
            test = self.condition(node.operand)
            return lambda user: not test(user)
        if isinstance(node, HasLicense):
            self.read.add("assignedLicenses")
            return lambda user: bool(as_items(user.get("assignedLicenses")))
        if isinstance(node, Truth):
            arg = self.value(node.operand)
            if arg.kind is not Kind.BOOL:
                raise self.fail(
                    f"a condition is needed here, and this is {arg.kind}; compare it, e.g."
                    ' department = "Sales", or test it: department is empty',
                    node,
                )
            return lambda user: arg.get(user) is True
        if isinstance(node, Compare):
            return self.compare(node)
        raise self.fail(
            "a value is not a condition; compare it with = or test it with is empty", node
        )

    def operand(self, node: Node) -> Arg:
        if isinstance(node, Today):
            days = node.days
            self.dated = True
            return Arg(node, Kind.DATE, lambda user: today() + timedelta(days=days))
        return self.value(node)

    def compare(self, node: Compare) -> Test:
        left = self.operand(node.left)
        get = left.get
        op = node.op
        if op in ("is empty", "is not empty"):
            want = op == "is empty"
            return lambda user: empty(get(user)) is want
        if op == "matches":
            pattern = node.right[0]
            assert isinstance(pattern, Literal)
            try:
                compiled = regex.bounded(str(pattern.value))
            except regex.PatternError as exc:
                raise self.fail(str(exc), pattern) from None
            return lambda user: any(
                regex.search(compiled, as_text(item)) for item in as_items(get(user))
            )
        rights = [self.operand(r) for r in node.right]
        for right in rights:
            self.comparable(left, right, op)
        if op in ("<", "<=", ">", ">="):
            return self.ordered(left, rights[0], op)
        equal = [self.equality(left, right) for right in rights]
        if op == "=":
            return equal[0]
        if op == "!=":
            return lambda user: not equal[0](user)
        if op == "in":
            return lambda user: any(test(user) for test in equal)
        if op == "not in":
            return lambda user: not any(test(user) for test in equal)
        start = rights[0].get  # starts with
        return lambda user: (
            any(
                as_text(item).casefold().startswith(as_text(start(user)).casefold())
                for item in as_items(get(user))
            )
            if not empty(start(user))
            else False
        )

    def comparable(self, left: Arg, right: Arg, op: str) -> None:
        if op in ("<", "<=", ">", ">="):
            for side in (left, right):
                literal = isinstance(side.node, Literal) and side.kind is Kind.TEXT
                if side.kind not in ORDERED and not self.date_literal(side, required=literal):
                    raise self.fail(
                        f"{op} compares dates or numbers, and this is {side.kind};"
                        ' e.g. employeeHireDate >= "2024-01-01" or employeeLeaveDateTime < today',
                        side.node,
                    )
        if Kind.DATE in (left.kind, right.kind):
            other = right if left.kind is Kind.DATE else left
            if other.kind is Kind.TEXT and isinstance(other.node, Literal):
                self.date_literal(other, required=True)
            elif other.kind not in (Kind.DATE, Kind.TEXT):
                raise self.fail(
                    f"a date compares with a date, and this is {other.kind}", other.node
                )
        if Kind.BOOL in (left.kind, right.kind) and left.kind is not right.kind:
            other = right if left.kind is Kind.BOOL else left
            raise self.fail(
                f"a yes/no value compares with true or false, and this is {other.kind}",
                other.node,
            )
        if isinstance(left.node, Path) and isinstance(right.node, Literal):
            allowed = attributes.VALUES.get(left.node.attribute)
            wanted = as_text(right.node.value)
            if allowed and wanted.casefold() not in {a.casefold() for a in allowed}:
                raise self.fail(
                    f'{left.node.attribute} is one of {", ".join(allowed)}, never "{wanted}"'
                    f"{nearest(wanted, allowed)}",
                    right.node,
                )

    def date_literal(self, side: Arg, required: bool = False) -> bool:
        if isinstance(side.node, Literal) and isinstance(side.node.value, str):
            if as_date(side.node.value) is not None:
                return True
            if required:
                raise self.fail(
                    f'"{side.node.value}" is not a date; write it as "2024-03-01"', side.node
                )
        return False

    def ordered(self, left: Arg, right: Arg, op: str) -> Test:
        dates = (
            Kind.DATE in (left.kind, right.kind)
            or self.date_literal(left)
            or self.date_literal(right)
        )
        read: Any = as_date if dates else _number

        def test(user: dict[str, Any]) -> bool:
            a: Any = read(left.get(user))
            b: Any = read(right.get(user))
            if a is None or b is None:
                return False
            return bool(
                a < b if op == "<" else a <= b if op == "<=" else a > b if op == ">" else a >= b
            )

        return test

    @staticmethod
    def equality(left: Arg, right: Arg) -> Test:
        if Kind.BOOL in (left.kind, right.kind):
            return lambda user: left.get(user) is right.get(user)
        if Kind.DATE in (left.kind, right.kind):
            return lambda user: (
                (a := as_date(left.get(user))) is not None and a == as_date(right.get(user))
            )

        def test(user: dict[str, Any]) -> bool:
            wanted = right.get(user)
            if empty(wanted):
                return False
            text = as_text(wanted).casefold()
            return any(as_text(item).casefold() == text for item in as_items(left.get(user)))

        return test


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(str(value).strip().replace(",", "."))
    except ValueError:
        return None
