"""Start a real daemon on a temporary config and socket, and say what to try next."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from azsyncd import config_file
from azsyncd.daemon import Daemon
from azsyncd.server import serve

DEMO_CONFIG = """\
# The demo's configuration: the built-in contact store, sync on.
[account]
name = "Demo Help Desk"
timezone = "UTC"

[schedule]
enabled = true

[[target.local.fields]]
name = "Department"
type = "text"

[[target.local.fields]]
name = "Employee ID"
type = "number"

[[target.local.fields]]
name = "Office"
type = "dropdown"
choices = ["Berlin", "London", "Remote"]
required = true

[[target.local.fields]]
name = "Hire date"
type = "date"

[mapping]
name = "{displayName}"

[mapping.custom_fields]
"Department" = "department"
"Employee ID" = "employeeId"
"Office" = "officeLocation"
"Hire date" = "employeeHireDate"
"""


def run_demo(socket: str | None = None, directory: str | None = None) -> int:
    workdir = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="azsync-demo-"))
    workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    config_path = workdir / "azsyncd.toml"
    if not config_path.exists():
        config_path.write_text(DEMO_CONFIG, encoding="utf-8")
        config_path.chmod(0o600)
    socket_path = Path(socket) if socket else workdir / "azsyncd.sock"
    daemon = Daemon(config_file.load(config_path), state_dir=workdir / "state")
    print(f"azsyncd demo listening on {socket_path}\n"
          f"  config and state: {workdir}\n\n"
          "Try, in another terminal:\n"
          f"  .venv/bin/azsyncctl --socket {socket_path} status\n"
          f"  .venv/bin/azsyncctl --socket {socket_path} runs\n"
          f"  .venv/bin/azsync-tui --socket {socket_path}\n"
          f"  curl --unix-socket {socket_path} http://azsyncd/v1/status\n\n"
          "Stop with Ctrl-C.", flush=True)
    try:
        return serve(daemon, socket_path)
    finally:
        if not directory:
            shutil.rmtree(workdir, ignore_errors=True)
        print("demo stopped", file=sys.stderr)
