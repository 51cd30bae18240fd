"""What the Freshservice tests share: a client on the fake with a virtual clock, the
[target] table and the mapping for a daemon writing to it."""

from __future__ import annotations

from typing import Any

import httpx
import tomli_w

from azsyncd.targets.freshservice.api import FreshserviceAPI
from azsyncd.targets.freshservice.target import Freshservice
from azsyncd.targets.ratelimit import RateLimiter
from tests.fakes.freshservice import FakeFreshservice

# The mapping to the fake account's fields: names, work and mobile phones, job title,
# department, and a custom field of each type the notes list.
MAPPING: dict[str, Any] = {
    "name": "{givenName} {surname}",
    "skip_empty_phones": True,
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
MAPPING_TOML = tomli_w.dumps({"mapping": MAPPING})


class Clock:
    """Virtual time: sleeping moves it on, so a minute of rate limit takes no real time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def client(
    fake: FakeFreshservice,
    clock: Clock,
    *,
    limits: dict[str, int] | None = None,
    key: str = "key",
    account_total: int | None = 500,
    **target: Any,
) -> Freshservice:
    """The target on ``fake`` in process, its limiter on ``clock`` (Enterprise at 90%)."""
    limiter = RateLimiter(limits or {"total": 450, "list": 126}, clock=clock, sleep=clock.sleep)
    api = FreshserviceAPI(
        "https://acme.freshservice.com",
        key,
        limiter=limiter,
        account_total=account_total,
        transport=httpx.WSGITransport(app=fake),
        sleep=clock.sleep,
    )
    return Freshservice(api, **target)


def freshservice_toml(base_url: str, **settings: Any) -> str:
    """[target] for Freshservice at ``base_url``, its key in the file "key"."""
    table = {"base_url": base_url, "api_key_file": "key", "plan": "enterprise", **settings}
    return tomli_w.dumps({"target": {"kind": "freshservice", "freshservice": table}})
