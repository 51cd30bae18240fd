"""``azsyncd demo --target zendesk``: a simulated Zendesk account in a process of its own
(``simulated.py``), and the demo's mapping to its user fields."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from azsyncd.targets.spec import DemoDesk
from azsyncd.targets.zendesk.simulated import ADMIN

TOKEN_FILE = "zendesk-token"
MAPPING: dict[str, Any] = {
    "name": "{givenName} {surname}",
    "skip_empty_phones": True,
    "phones": {"mo": "mobilePhone"},
    "custom_fields": {
        "Department": "department",
        "Employee number": "employeeId",
        "Hire date": "employeeHireDate",
        "Office": "officeLocation",
        "locale": "preferredLanguage",
    },
}


def simulated_account(workdir: Path) -> DemoDesk:
    """Start the account on a loopback port; it ends with the demo."""
    token = secrets.token_hex(16)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "azsyncd.targets.zendesk.simulated",
            "--token",
            token,
            "--parent",
            str(os.getpid()),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=workdir,
    )
    assert proc.stdout is not None
    port = proc.stdout.readline().strip()
    if not port.isdigit():
        proc.kill()
        raise RuntimeError(f"the simulated Zendesk did not start (it said {port!r})")
    url = f"http://127.0.0.1:{port}"

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    return DemoDesk(
        table={
            "base_url": url,
            "email": ADMIN,
            "api_token_file": TOKEN_FILE,
            "plan": "professional",
        },
        secrets={TOKEN_FILE: token.encode()},
        mapping=MAPPING,
        where=(
            f"a simulated Zendesk account at {url} (Professional limits); its users: curl -u"
            f" {ADMIN}/token:$(cat {workdir / TOKEN_FILE}) {url}/api/v2/users.json"
        ),
        stop=stop,
    )
