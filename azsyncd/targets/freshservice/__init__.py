"""Freshservice as a target: its [target.freshservice] table, its checks, its rate limits and
how the target is built from them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from pydantic import Field, field_validator, model_validator

from azsyncd.config.endpoints import secure_url
from azsyncd.config.model import Config, Section
from azsyncd.config.templates import GROUP_NAME_FIELDS, check
from azsyncd.targets.freshservice.api import FreshserviceAPI
from azsyncd.targets.freshservice.demo import simulated_account
from azsyncd.targets.freshservice.fields import PHONE_KEYS
from azsyncd.targets.freshservice.plans import LIST, PLANS, TOTAL
from azsyncd.targets.freshservice.target import Freshservice
from azsyncd.targets.spec import RateLimits, Resources, TargetSpec

# Requesters are written one a call: enough calls in flight to use Enterprise's 500 a
# minute at a few hundred milliseconds a call, never more (the shared limiter holds them).
PARALLEL = 8
Plan = Literal["starter", "growth", "msp_core", "pro", "enterprise"]
_DOMAIN = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


class FreshserviceSettings(Section):
    domain: str | None = Field(
        None, description='The account\'s name: "acme" for https://acme.freshservice.com'
    )
    base_url: str | None = Field(None, description="Or the account's full https:// address")
    api_key_file: str
    plan: Plan | None = Field(None, description="The account's plan: its API limits a minute")
    per_minute: int | None = Field(
        None, ge=1, le=100_000, description="Or the account's calls a minute, in all"
    )
    list_per_minute: int | None = Field(
        None, ge=1, le=100_000, description="... and of them, listing requesters"
    )
    rate_headroom: float = Field(
        0.9, gt=0, le=1, description="Share of the account's API limits azsync may use"
    )
    mark: Literal["requester_group", "none"] = Field(
        "none",
        description='"requester_group": synced requesters join group_name (one call each)',
    )
    group_name: str = Field("Microsoft Entra ID: {tenant}", min_length=1, max_length=200)

    @field_validator("group_name")
    @classmethod
    def _group_name(cls, value: str) -> str:
        return check(value, GROUP_NAME_FIELDS)

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is not None and not _DOMAIN.fullmatch(value):
            raise ValueError(
                f'"{value}" is not an account name: write the part before .freshservice.com '
                '(e.g. "acme"), or set base_url to the full address instead'
            )
        return value.lower() if value else value

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        # The API key travels with every call: https only, but for loopback.
        if value is None:
            return value
        return secure_url(value, "base_url (e.g. https://acme.freshservice.com)").rstrip("/")

    @model_validator(mode="after")
    def _one_of_each(self) -> FreshserviceSettings:
        if (self.domain is None) == (self.base_url is None):
            raise ValueError(
                'give either domain (e.g. "acme") or base_url (e.g. '
                '"https://acme.freshservice.com"), not both or neither'
            )
        explicit = (self.per_minute, self.list_per_minute)
        if self.plan is None and None in explicit:
            raise ValueError(
                'give plan (one of "starter", "growth", "pro", "enterprise") or both '
                "per_minute and list_per_minute: azsync keeps under the account's API limits"
            )
        if self.plan is not None and explicit != (None, None):
            raise ValueError(
                "give plan or per_minute and list_per_minute, not both: they would disagree"
            )
        return self

    @property
    def url(self) -> str:
        return self.base_url or f"https://{self.domain}.freshservice.com"

    @property
    def limits(self) -> tuple[int, int]:
        """The account's calls a minute: in all, and listing requesters."""
        if self.plan is not None:
            return PLANS[self.plan]
        assert self.per_minute is not None and self.list_per_minute is not None
        return self.per_minute, min(self.list_per_minute, self.per_minute)


def limits_for(settings: FreshserviceSettings) -> dict[str, int]:
    """Calls a minute by kind, using ``rate_headroom`` of the account's limits."""
    total, listing = settings.limits
    share = settings.rate_headroom
    return {TOTAL: max(1, int(total * share)), LIST: max(1, int(listing * share))}


def rules(settings: FreshserviceSettings, config: Config) -> Iterator[tuple[str, str]]:
    if config.target.kind != "freshservice":
        return
    for phone_type in config.mapping.phones:
        if phone_type not in PHONE_KEYS:
            yield (
                f"mapping.phones.{phone_type}",
                f'Freshservice keeps a work ("w") and a mobile ("mo") phone only; map '
                f'"{phone_type}" to one of them, or remove it',
            )


def _limits(settings: FreshserviceSettings) -> RateLimits:
    # The limits count per account, whatever number of clients or runs use it.
    return RateLimits(settings.url, limits_for(settings))


def _build(settings: FreshserviceSettings, resources: Resources) -> Freshservice:
    assert resources.limiter is not None  # the spec declares limits
    api = FreshserviceAPI(
        settings.url,
        resources.secrets["api_key_file"],
        limiter=resources.limiter,
        headroom=settings.rate_headroom,
        account_total=settings.limits[0],
        on_wait=resources.on_wait,
    )
    return Freshservice(api, mark=settings.mark, group_name=settings.group_name)


TARGET = TargetSpec(
    name="freshservice",
    settings=FreshserviceSettings,
    secret_keys=("api_key_file",),
    file_only=("domain",),  # names the host the API key goes to, as base_url does
    rules=rules,
    build=_build,
    parallel=PARALLEL,
    limits=_limits,
    demo=simulated_account,
)
