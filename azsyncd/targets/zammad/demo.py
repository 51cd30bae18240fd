"""``azsyncd demo --target zammad``: a simulated Zammad in a process of its own, with custom
attributes of every type, and the demo's mapping to them."""

from __future__ import annotations

import secrets
from pathlib import Path

from azsyncd.targets import simulated_process
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
    """Start the simulated Zammad on a loopback port; it ends with the demo."""
    token = secrets.token_urlsafe(24)
    module = "azsyncd.targets.zammad.simulator"
    base_url, stop = simulated_process.start(module, "Zammad", token, workdir)
    token_path = workdir / TOKEN_FILE
    return DemoDesk(
        table={"base_url": base_url, "token_file": TOKEN_FILE},
        secrets={TOKEN_FILE: token.encode()},
        mapping=MAPPING,
        where=f"a simulated Zammad at {base_url}; its users: curl -H "
        f'"Authorization: Token token=$(cat {token_path})" {base_url}/api/v1/users',
        stop=stop,
    )
