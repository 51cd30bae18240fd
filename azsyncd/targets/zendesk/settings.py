"""[target.zendesk]: where the account is, who signs in, and how many calls a minute it allows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from pydantic import Field, field_validator, model_validator

from azsyncd.config.endpoints import secure_url
from azsyncd.config.model import Config, Section

# Calls a minute per account, by plan (Zendesk's rate-limit page; the High Volume API add-on
# and Enterprise Plus: 2,500).
PLANS: dict[str, int] = {
    "team": 200,
    "growth": 400,
    "professional": 400,
    "enterprise": 700,
    "enterprise_plus": 2500,
    "high_volume": 2500,
}
Plan = Literal["team", "growth", "professional", "enterprise", "enterprise_plus", "high_volume"]
SUBDOMAIN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"


class ZendeskSettings(Section):
    subdomain: str = Field("", description="<subdomain>.zendesk.com; or give base_url instead")
    base_url: str = Field("", description="https://<host>, for a host mapped to the account")
    email: str = Field(
        ...,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="An admin's (or an agent's who may manage end users) sign-in email",
    )
    api_token_file: str = Field(..., description="File holding the API token")
    plan: Plan = Field(
        "team",
        description="The Zendesk plan, for its rate limit: team 200 calls a minute,"
        " growth and professional 400, enterprise 700, enterprise_plus and high_volume 2500",
    )
    calls_per_minute: int | None = Field(
        None, ge=1, le=100_000, description="The account's calls a minute, instead of the plan's"
    )
    rate_headroom: float = Field(
        0.9, gt=0, le=1, description="Share of the account's calls a minute azsync may use"
    )
    bulk: bool = Field(
        True,
        description="Write 100 users a call in background jobs; off (or refused by Zendesk):"
        " one user a call",
    )
    verify_email: bool = Field(
        False, description="Let Zendesk send its verification email to each new user"
    )
    mark: Literal["none", "organization"] = Field(
        "none",
        description="How a synced user shows its tenant: none (the external_id is the Entra"
        " object id), or an organization named by mark_organization",
    )
    mark_organization: str = Field("Microsoft Entra ID: {tenant}", min_length=1, max_length=200)
    job_timeout_minutes: float = Field(
        30, gt=0, le=600, description="How long to wait for one bulk job before giving up on it"
    )

    @field_validator("subdomain")
    @classmethod
    def _subdomain(cls, value: str) -> str:
        value = value.lower()
        if value.endswith(".zendesk.com"):
            value = value.removesuffix(".zendesk.com")
        if value and not re.fullmatch(SUBDOMAIN, value):
            raise ValueError(
                f'"{value}" is not a Zendesk subdomain; write the part before .zendesk.com, e.g.'
                ' subdomain = "acme"'
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        # The API token travels with every call: https only, but for loopback.
        return (
            secure_url(value, "base_url (e.g. https://acme.zendesk.com)").rstrip("/")
            if value
            else ""
        )

    @model_validator(mode="after")
    def _one_address(self) -> ZendeskSettings:
        if bool(self.subdomain) == bool(self.base_url):
            raise ValueError(
                'give exactly one of subdomain (e.g. subdomain = "acme" for acme.zendesk.com)'
                " and base_url"
            )
        return self

    @property
    def url(self) -> str:
        return self.base_url or f"https://{self.subdomain}.zendesk.com"

    @property
    def per_minute(self) -> int:
        """The account's calls a minute: explicit, or the plan's."""
        return self.calls_per_minute or PLANS[self.plan]

    @property
    def budget(self) -> int:
        """The calls a minute azsync allows itself."""
        return max(1, int(self.per_minute * self.rate_headroom))


def rules(settings: ZendeskSettings, config: Config) -> Iterator[tuple[str, str]]:
    if config.target.kind != "zendesk":
        return
    if len(config.mapping.phones) > 1:
        yield (
            "mapping.phones",
            'a Zendesk user has one phone; map one type, e.g. [mapping.phones] mo = "mobilePhone"',
        )


def describe(settings: ZendeskSettings) -> list[str]:
    limit = (
        f"calls_per_minute = {settings.calls_per_minute}"
        if settings.calls_per_minute
        else f"plan {settings.plan}"
    )
    return [
        f"Zendesk at {settings.url}, signing in as {settings.email} with an API token",
        f"{settings.per_minute} calls a minute ({limit}); azsync uses {settings.budget}, shared"
        " by every daemon on the account",
        "bulk jobs of 100 users; if Zendesk refuses them (403), one call a user"
        if settings.bulk
        else "one call a user (bulk = false)",
    ]
