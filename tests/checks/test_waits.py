"""Every wait of the tests goes through tests/helpers.py (wait_for, Deadline, within), whose
deadline stretches with the machine's load: no test builds a deadline of its own from the
clock, and no blocking call (an event's or a process's wait, a join, communicate, a sync
waited for) is given a fixed number of seconds.
A window that only bounds sampling (so many seconds of requests) is no wait; its line says
so with ``# not a wait: <what>``.
tests/tui waits through ``driving.until``, which polls under Textual's Pilot with a
``Deadline``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[2]
ALLOWED = {"tests/helpers.py", "tests/unit/test_wait.py"}  # the helper, and its own test


# Blocking calls and where their timeout goes: the first argument, or ``timeout=``.
BLOCKING = {"wait", "join", "communicate", "sync_and_wait"}
POSITIONAL = {"wait", "join"}


def _fixed_timeout(call: ast.Call) -> bool:
    name = getattr(call.func, "attr", getattr(call.func, "id", ""))
    if name not in BLOCKING:
        return False
    given = [k.value for k in call.keywords if k.arg == "timeout"]
    if name in POSITIONAL and call.args:
        given.append(call.args[0])
    return any(
        isinstance(v, ast.Constant) and type(v.value) in (int, float) and v.value >= 1
        for v in given
    )


def own_deadlines(source: Path, root: Path) -> list[str]:
    """Each ``monotonic() + N`` (or ``time() + N``) in a file, a deadline made by hand, and
    each blocking call given a fixed timeout of a second or more (shorter ones poll)."""
    found = []
    text = source.read_text()
    lines = text.splitlines()
    for node in ast.walk(ast.parse(text, str(source))):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            call = node.left
            if isinstance(call, ast.Call):
                name = getattr(call.func, "attr", getattr(call.func, "id", ""))
                if name in ("monotonic", "time") and "# not a wait:" not in lines[node.lineno - 1]:
                    found.append(f"{source.relative_to(root)}:{node.lineno}")
        if (
            isinstance(node, ast.Call)
            and _fixed_timeout(node)
            and "# not a wait:" not in lines[node.lineno - 1]
        ):
            found.append(f"{source.relative_to(root)}:{node.lineno}")
    return found


def hand_made(root: Path) -> list[str]:
    return [
        where
        for source in sorted((root / "tests").rglob("*.py"))
        if str(source.relative_to(root)) not in ALLOWED
        for where in own_deadlines(source, root)
    ]


def test_no_test_makes_its_own_deadline() -> None:
    assert hand_made(ROOT) == []


def test_the_check_sees_a_deadline_made_by_hand(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(
        "import time\ndeadline = time.monotonic() + 5\nlater = time.time() + 1\nok = 1 + 2\n"
        "window = time.monotonic() + 3  # not a wait: samples\n"
        "done.wait(5)\nproc.communicate(timeout=30)\nthread.join(within(5))\nstop.wait(0.1)\n"
    )
    assert hand_made(tmp_path) == [
        "tests/test_x.py:2",
        "tests/test_x.py:3",
        "tests/test_x.py:6",
        "tests/test_x.py:7",
    ]
