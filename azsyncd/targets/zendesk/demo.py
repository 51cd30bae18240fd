"""``azsyncd demo --target zendesk``: a simulated Zendesk account in a process of its own
(``simulated.py``), and the demo's mapping to its user fields."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from azsyncd.targets import simulated_process
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
    module = "azsyncd.targets.zendesk.simulated"
    url, stop = simulated_process.start(module, "Zendesk", token, workdir)
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
