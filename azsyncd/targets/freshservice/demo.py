"""``azsyncd demo --target freshservice``: a simulated Freshservice account in a process of
its own (``simulated.py``), and the demo's mapping to its fields."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from azsyncd.targets.spec import DemoDesk

KEY_FILE = "freshservice-api-key"
MAPPING: dict[str, Any] = {
    "name": "{givenName} {surname}",
    "phones": {"w": "businessPhones[0]", "mo": "mobilePhone"},
    "custom_fields": {
        "First Name": "givenName",
        "Last Name": "surname",
        "Job Title": "jobTitle",
        "Department": "department",
        "Employee ID": "employeeId",
        "Office": "officeLocation",
        "Hire date": "employeeHireDate",
    },
}


def simulated_account(workdir: Path) -> DemoDesk:
    """Start the account on a loopback port; it ends with the demo."""
    key = secrets.token_hex(16)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "azsyncd.targets.freshservice.simulated",
            "--demo",
            "--key",
            key,
            "--parent",
            str(os.getpid()),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=workdir,
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    url = f"http://127.0.0.1:{port}"

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    return DemoDesk(
        table={"base_url": url, "api_key_file": KEY_FILE, "plan": "enterprise"},
        secrets={KEY_FILE: key.encode()},
        mapping=MAPPING,
        where=(
            f"a simulated Freshservice account at {url} (Enterprise limits); its requesters: "
            f"curl -u $(cat {workdir / KEY_FILE}):X {url}/api/v2/requesters"
        ),
        stop=stop,
    )
