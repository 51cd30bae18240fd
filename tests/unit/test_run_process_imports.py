"""A run's process imports what a run uses: not the control API's web stack, not the TUI's
toolkit, not httpx's command-line tool (even with rich and pygments installed, as here), not
the TOML editor; checked in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

UNUSED = ("click", "rich", "pygments", "textual", "fastapi", "starlette", "uvicorn", "tomlkit")


def test_a_run_process_loads_none_of_what_it_does_not_use() -> None:
    code = (
        "import sys, json, azsyncd.service.runs.worker, azsyncd.sync.engine;"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    assert "httpx" in loaded and "peewee" in loaded  # what a run does use
    assert not loaded & set(UNUSED), sorted(loaded & set(UNUSED))
