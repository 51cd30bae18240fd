"""``azsyncd demo --target zammad``: a simulated Zammad in a process of its own, with custom
attributes of every type, and the demo's mapping to them."""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

from azsyncd.targets.spec import DemoDesk

TOKEN_FILE = "zammad-token"
MAPPING = {
    "name": "{givenName} {surname}",
    "phones": {"w": "businessPhones[0]", "mo": "mobilePhone"},
    "custom_fields": {
        "Department": "department",
        "Employee ID": "employeeId",
        "Office": "officeLocation",
        "Hire date": "employeeHireDate",
        "Job title": "jobTitle",
    },
}


def start(workdir: Path) -> DemoDesk:
    token = secrets.token_urlsafe(24)
    # The token goes on stdin, not the command line other users can read; the simulator
    # stops when that pipe closes, so it never outlives the demo.
    proc = subprocess.Popen(
        [sys.executable, "-m", "azsyncd.targets.zammad.simulator"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(token + "\n")
    proc.stdin.flush()
    base_url = f"http://127.0.0.1:{int(proc.stdout.readline())}"

    def stop() -> None:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()

    token_path = workdir / TOKEN_FILE
    return DemoDesk(
        table={"base_url": base_url, "token_file": TOKEN_FILE},
        secrets={TOKEN_FILE: token.encode()},
        mapping=MAPPING,
        where=f"a simulated Zammad at {base_url}; its users: curl -H "
        f'"Authorization: Token token=$(cat {token_path})" {base_url}/api/v1/users',
        stop=stop,
    )
