"""``azsyncd demo --target freshservice``: a simulated Freshservice account in a process of
its own (``simulated.py``), and the demo's mapping to its fields."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from azsyncd.targets import simulated_process
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
    module = "azsyncd.targets.freshservice.simulated"
    url, stop = simulated_process.start(module, "Freshservice", key, workdir, "--demo")
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
