"""The README and docs/: every link goes somewhere, every page is reachable from the README,
the README stays a front door with the two quick-start commands CI runs, the performance
page is what bench.report makes of the committed results, and docs/control.md shows
azsyncctl's exit codes and, for every command, JSON that is what the command prints."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from azsyncd import answers
from azsyncd.control import ctl
from bench import report

ROOT = Path(__file__).parents[2]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
CODE = re.compile(r"`[^`\n]*`")


def pages(root: Path) -> list[Path]:
    found = [root / "README.md", root / "ARCHITECTURE.md", *sorted((root / "docs").rglob("*.md"))]
    return [page for page in found if page.exists()]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes."""
    text = CODE.sub(lambda m: m.group(0).strip("`"), heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def links(page: Path) -> list[str]:
    text = CODE.sub("", FENCE.sub("", page.read_text(encoding="utf-8")))
    return LINK.findall(text)


def broken_links(root: Path) -> list[str]:
    """Each link of a page whose file or heading does not exist, as "page: link: why"."""
    problems = []
    for page in pages(root):
        for target in links(page):
            if re.match(r"^[a-z]+:", target):
                continue  # https:, mailto: are not checked here (no network in the suite)
            path, _, anchor = target.partition("#")
            goal = (page.parent / path).resolve() if path else page
            where = f"{page.relative_to(root)}: {target}"
            if not goal.exists():
                problems.append(f"{where}: no such file")
            elif anchor and goal.suffix == ".md" and anchor not in anchors(goal):
                problems.append(f"{where}: no such heading")
    return problems


def unreachable(root: Path) -> list[str]:
    """Pages of docs/ that no chain of links from the README reaches."""
    seen: set[Path] = set()
    todo = [root / "README.md"]
    while todo:
        page = todo.pop().resolve()
        if page in seen or not page.exists() or page.suffix != ".md":
            continue
        seen.add(page)
        todo += [page.parent / t.partition("#")[0] for t in links(page) if ":" not in t]
    return sorted(
        str(p.relative_to(root)) for p in (root / "docs").rglob("*.md") if p.resolve() not in seen
    )


def test_every_link_of_the_readme_and_docs_goes_somewhere() -> None:
    assert len(pages(ROOT)) > 10
    assert broken_links(ROOT) == []


def test_every_page_is_reachable_from_the_readme() -> None:
    assert unreachable(ROOT) == []


def test_the_checks_catch_a_broken_link_a_missing_heading_and_a_lost_page(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text(
        "# x\n[ok](docs/a.md#two-words) [gone](docs/b.md) `[code](nowhere.md)`\n"
        "[bad heading](docs/a.md#three) [web](https://example.com/x)\n"
    )
    (tmp_path / "docs" / "a.md").write_text("# A\n## Two words\n```\n# not a heading\n```\n")
    (tmp_path / "docs" / "lost.md").write_text("# Lost\n")
    assert broken_links(tmp_path) == [
        "README.md: docs/b.md: no such file",
        "README.md: docs/a.md#three: no such heading",
    ]
    assert unreachable(tmp_path) == ["docs/lost.md"]


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Held runs (thresholds)", "held-runs-thresholds"),
        ("Changes within minutes: `interval`", "changes-within-minutes-interval"),
    ],
)
def test_anchors_are_githubs(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def quick_start(readme: str) -> list[str]:
    """The commands of the README's quick start (its first code block)."""
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = FENCE.search(section)
    assert block, "the quick start has no code block"
    return [
        line
        for line in block.group(0).splitlines()[1:-1]
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_the_readme_is_a_front_door_with_the_two_commands_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 160, "the README is a front door: move detail to docs/"
    install_and_demo, install_and_test = quick_start(readme)
    assert install_and_demo.endswith("azsyncd demo")
    assert install_and_test.endswith(".venv/bin/python -m pytest")
    assert install_and_test in (ROOT / ".ci/run").read_text(), ".ci/run runs another command"


def test_the_performance_page_is_what_bench_report_makes_of_the_results() -> None:
    results = ROOT / "bench/results/results.json"
    rendered = report.render(json.loads(results.read_text()), results.parent)
    assert report.figures(report.PAGE) == rendered.strip("\n"), "run python -m bench.report"


# --- azsyncctl in docs/control.md: exit codes, and a --json example for every command ------

CONTROL = ROOT / "docs/control.md"
EXAMPLE = re.compile(r"^`azsyncctl ([^`]*?) --json`[^\n]*\n\n```json\n(.*?)\n```", re.M | re.S)


def json_examples() -> list[tuple[list[str], Any]]:
    """Each documented command line (its words) and the JSON shown for it."""
    return [
        (shlex.split(line), json.loads(body))
        for line, body in EXAMPLE.findall(CONTROL.read_text(encoding="utf-8"))
    ]


def printed_as(words: list[str]) -> Any:
    """What azsyncctl prints for a command line, as a check of its JSON."""
    command = words[0]
    action = words[1] if len(words) > 1 and not words[1].startswith("-") else ""
    one = {
        ("status", ""): answers.Status,
        ("runs", "approve"): answers.SyncOutcome,
        ("runs", "discard"): answers.Run,
        ("tenants", "show"): answers.Tenant,
        ("tenants", "authorize"): answers.TenantAuthorization,
        ("tenants", "delete"): answers.Deleted,
        ("settings", ""): answers.Settings,
        ("lifecycle", ""): answers.Lifecycle,
        ("lifecycle", "check"): answers.RuleCheck,
        ("lifecycle", "joiners"): answers.Joiners,
        ("report", "quality"): answers.Quality,
        ("contacts", ""): answers.Contacts,
        ("reload", ""): answers.Reloaded,
        ("alerts", ""): answers.Alerts,
        ("alerts", "test"): answers.AlertTest,
        ("welcome", "resend"): answers.WelcomeResent,
        ("demo", "add-user"): answers.DemoUserAdded,
    }
    many = {
        ("runs", ""): answers.Run,
        ("tenants", ""): answers.Tenant,
        ("tenants", "groups"): answers.Group,
        ("audit", ""): answers.AuditEntry,
    }
    if "--preview" in words:
        return lambda data: answers.read(answers.PreviewAnswer, data)
    if (command, action) in one:
        return lambda data: answers.read(one[command, action], data)
    if (command, action) in many:
        return lambda data: [answers.read(many[command, action], item) for item in data]
    if command == "sync":
        if "--wait" in words:
            return lambda data: answers.read(answers.RunDetail, data)
        return lambda data: answers.read(answers.SyncOutcome, {**data, "run": None, "plan": None})
    if (command, action) in (("runs", "show"), ("log", "7")):
        rows = "plan" if command == "runs" else "records"
        return lambda data: (
            answers.read(answers.RunDetail, data["run"]),
            [answers.read(answers.Record, r) for r in data[rows]],
            set(data) == {"run", rows} or pytest.fail(f"keys {set(data)}"),
        )
    raise AssertionError(f"no check for azsyncctl {' '.join(words)}")


def test_every_azsyncctl_command_has_a_json_example_that_is_what_it_prints() -> None:
    examples = json_examples()
    assert {words[0] for words, _ in examples} == set(ctl.COMMANDS)
    for words, data in examples:
        printed_as(words)(data)  # refuses a key missing or unknown, as the client does


def test_the_exit_codes_documented_are_azsyncctls() -> None:
    section = CONTROL.read_text(encoding="utf-8").split("### Exit codes", 1)[1]
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", section, re.M)
    assert {int(code): meaning for code, meaning in rows} == ctl.EXIT_CODES
