"""The layers, as folders: an import may only point down, and folders of one rank never form
a cycle. Checked on the source (every import, also inside functions, and import_module
calls) and on what a fresh process loads; the TUI uses nothing of the daemon but the
control client and the errors. The checks are shown to fail on a tree that breaks them.

    ground (azsyncd/*.py) < config, state < directory, targets < sync, answers < service
    < control < tui; cli (azsyncd/cli.py) and demo on top.

The answers (what the API sends, ``azsyncd/answers/``) sit below both ends of the socket:
the API declares them, the client reads them, and the TUI gets them through the client.
Neither the answers nor the client load the daemon's web server or database.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
RANK = {
    "ground": 0,
    "config": 1,
    "state": 1,
    "directory": 2,
    "targets": 2,
    "sync": 3,
    "answers": 3,
    "service": 4,
    "control": 5,
    "tui": 6,
    "cli": 7,
    "demo": 7,
}
TUI_MAY_IMPORT = {"azsyncd.control.client", "azsyncd.errors"}
NOT_INSTALLED = ("tests", "bench")  # the package (and the demo in it) runs without them
# Libraries a layer must never load, whoever would pull them in.
CLIENT_NEVER = (*NOT_INSTALLED, "peewee", "playhouse", "msal", "fastapi", "uvicorn", "starlette")
NEVER_LOADED = {
    "daemon": (*NOT_INSTALLED, "textual"),
    "answers": (*CLIENT_NEVER, "textual"),
    "control": (*CLIENT_NEVER, "textual"),
    "tui": CLIENT_NEVER,
}
IMPORTERS = ("import_module", "__import__")


def layer_of(module: str) -> str | None:
    """The layer of a module name, or None for one outside azsync (stdlib, libraries)."""
    parts = module.split(".")
    if parts[0] == "tui":
        return "tui"
    if parts[0] != "azsyncd":
        return None
    if len(parts) > 1 and parts[1] in RANK:
        return parts[1]
    return "ground"  # azsyncd itself and the modules directly in it


def module_name(source: Path, root: Path) -> str:
    parts = list(source.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources(root: Path) -> list[Path]:
    return sorted(
        p for top in ("azsyncd", "tui") if (root / top).is_dir() for p in (root / top).rglob("*.py")
    )


def imports_of(source: Path, root: Path) -> set[str]:
    """Every module ``source`` imports, wherever the import stands, as full dotted names."""
    name = module_name(source, root)
    package = name if source.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # "from a import b" may import the module a.b: the layer is read from the name.
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) in IMPORTERS
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


def source_problems(root: Path) -> list[str]:
    """Upward imports, folder cycles and TUI imports beyond its two modules, in the source."""
    problems: list[str] = []
    edges: dict[str, set[str]] = defaultdict(set)
    for source in sources(root):
        name = module_name(source, root)
        here = layer_of(name)
        assert here is not None
        folder = _folder(name)
        for imported in sorted(imports_of(source, root)):
            where = f"{source.relative_to(root)} imports {imported}"
            if imported.split(".")[0] in NOT_INSTALLED:
                problems.append(f"{where}: {imported.split('.')[0]}/ is not installed")
            there = layer_of(imported)
            if there is None:
                continue
            if RANK[there] > RANK[here]:
                problems.append(f"{where}: {here} may not import {there} (upward)")
            if here == "tui" and there != "tui" and not imported.startswith(tuple(TUI_MAY_IMPORT)):
                problems.append(f"{where}: the TUI may import only {sorted(TUI_MAY_IMPORT)}")
            if _folder(imported) != folder:
                edges[folder].add(_folder(imported))
    problems += [f"the folders {' -> '.join(cycle)} import each other" for cycle in _cycles(edges)]
    return problems


def _folder(module: str) -> str:
    """Ground modules are one folder each; otherwise the folder under azsyncd/ (or tui)."""
    parts = module.split(".")
    layer = layer_of(module)
    return ".".join(parts[:2]) if layer == "ground" else str(layer)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    cycles: list[list[str]] = []
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            cycles.append([*path[path.index(node) :], node])
            return
        if node in done:
            return
        for following in sorted(edges.get(node, ())):
            visit(following, [*path, node])
        done.add(node)

    for start in sorted(edges):
        visit(start, [])
    return cycles


def loaded_after_import(modules: list[str], cwd: Path) -> set[str]:
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print('\\n'.join(sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return set(done.stdout.split())


def process_problems(root: Path, layer: str) -> list[str]:
    """What a fresh process that imports every module of ``layer`` loads beyond the layers
    below it (and libraries that layer must never load)."""
    modules = [m for s in sources(root) if layer_of(m := module_name(s, root)) == layer]
    loaded = loaded_after_import(modules, root)
    problems = [
        f"importing the {layer} layer loads {m} ({layer_of(m)})"
        for m in sorted(loaded)
        if (there := layer_of(m)) is not None and RANK[there] > RANK[layer]
    ]
    forbidden = NEVER_LOADED.get(layer, NEVER_LOADED["daemon"])
    problems += [
        f"importing the {layer} layer loads {m}"
        for m in sorted(loaded)
        if m.split(".")[0] in forbidden
    ]
    if layer == "tui":
        allowed = loaded_after_import(sorted(TUI_MAY_IMPORT), root)
        problems += [
            f"the TUI loads {m}, beyond what the control client and errors load"
            for m in sorted(loaded - allowed)
            if layer_of(m) not in (None, "tui")
        ]
    return problems


# --- the real tree ---------------------------------------------------------------------


def test_the_source_imports_only_downward_without_cycles() -> None:
    assert source_problems(ROOT) == []


@pytest.mark.parametrize("layer", list(RANK))
def test_a_fresh_process_loads_only_the_layers_below(layer: str) -> None:
    assert process_problems(ROOT, layer) == []


# --- the checks catch what they are for --------------------------------------------------


def fake_tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    for package in {p.parent for p in tmp_path.rglob("*.py")}:
        (package / "__init__.py").touch()
    return tmp_path


def test_the_source_check_catches_upward_imports_cycles_and_tui_reaches(tmp_path: Path) -> None:
    root = fake_tree(
        tmp_path,
        {
            "azsyncd/config/model.py": """
                def late():
                    from azsyncd.sync import engine  # inside a function: still an import
                """,
            "azsyncd/paths.py": """
                import importlib
                importlib.import_module("azsyncd.service.daemon")
                """,
            "azsyncd/directory/source.py": "from azsyncd.targets import base\n",
            "azsyncd/targets/base.py": "from ..directory.source import x\n",
            "azsyncd/sync/engine.py": "",
            "azsyncd/service/daemon.py": "",
            "tui/app.py": "from azsyncd.state.models import SyncRun\nfrom azsyncd import errors\n",
            "tui/api.py": "from azsyncd.answers import Status\n",
            "azsyncd/answers/status.py": "from azsyncd.service import daemon\n",
            "azsyncd/demo/run.py": "from tests.fakes.directory import contoso\n",
        },
    )
    problems = source_problems(root)
    assert problems == [
        "azsyncd/answers/status.py imports azsyncd.service.daemon: answers may not import service"
        " (upward)",
        "azsyncd/config/model.py imports azsyncd.sync.engine: config may not import sync (upward)",
        "azsyncd/demo/run.py imports tests.fakes.directory.contoso: tests/ is not installed",
        "azsyncd/paths.py imports azsyncd.service.daemon: ground may not import service (upward)",
        "tui/api.py imports azsyncd.answers.Status: the TUI may import only "
        "['azsyncd.control.client', 'azsyncd.errors']",
        "tui/app.py imports azsyncd.state.models.SyncRun: the TUI may import only "
        "['azsyncd.control.client', 'azsyncd.errors']",
        "the folders directory -> targets -> directory import each other",
    ]


def test_the_process_check_catches_what_an_import_pulls_in(tmp_path: Path) -> None:
    root = fake_tree(
        tmp_path,
        {
            "azsyncd/config/model.py": "import azsyncd.state.models\n",
            # Loaded by name at run time: invisible to the source check, not to this one.
            "azsyncd/state/models.py": "__import__('azsyncd.s' + 'ync.engine')\n",
            "azsyncd/sync/engine.py": "",
            "azsyncd/control/client.py": "",
            "tui/app.py": "import azsyncd.control.client\nimport json\n",
            "tui/api.py": "__import__('azsyncd.con' + 'fig.model')\n",
        },
    )
    assert source_problems(root) == []
    assert process_problems(root, "config") == [
        "importing the config layer loads azsyncd.sync (sync)",
        "importing the config layer loads azsyncd.sync.engine (sync)",
    ]
    assert "the TUI loads azsyncd.config.model, beyond what the control client and errors load" in (
        process_problems(root, "tui")
    )
