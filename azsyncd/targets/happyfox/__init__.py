"""HappyFox as a target: its [target.happyfox] table and how a client is built from it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import Field, field_validator

from azsyncd.config.endpoints import secure_url
from azsyncd.config.model import Config, Section
from azsyncd.config.templates import GROUP_NAME_FIELDS, check
from azsyncd.targets.happyfox.client import HappyFox, limits_for
from azsyncd.targets.spec import RateLimits, Resources, TargetSpec

# Enough calls in flight to use the rate limit (300 POST a minute), never more: the shared
# limiter holds them back.
PARALLEL = 8


class HappyFoxSettings(Section):
    base_url: str = Field(
        ..., description="https://<account>.happyfox.com, .happyfox.net, or a custom domain"
    )
    api_key_file: str
    auth_code_file: str
    rate_headroom: float = Field(
        0.9, gt=0, le=1, description="Share of the published rate limits to use"
    )
    lock_minutes: float = Field(10, ge=0, description="How long a 429 locks the account")
    mark: Literal["contact_group", "custom_field", "none"] = Field(
        "contact_group",
        description=(
            "How synced contacts are marked: a contact group (a POST per 100 contacts), a"
            " custom field sent in the contact's own write (no extra call), or not at all"
        ),
    )
    group_name: str = "Microsoft Entra ID: {tenant}"
    mark_field: str = Field(
        "",
        max_length=200,
        description='mark = "custom_field": the contact field, e.g. "Synced from"',
    )
    mark_value: str = Field(
        "Microsoft Entra ID",
        min_length=1,
        max_length=200,
        description='mark = "custom_field": its value (a dropdown field needs it as a choice)',
    )

    @field_validator("group_name")
    @classmethod
    def _group_name(cls, value: str) -> str:
        return check(value, GROUP_NAME_FIELDS)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        # The API key and auth code travel with every call: https only, but for loopback.
        return secure_url(value, "base_url (e.g. https://<account>.happyfox.com)").rstrip("/")


def _rules(settings: HappyFoxSettings, config: Config) -> Iterator[tuple[str, str]]:
    if settings.mark != "custom_field":
        return
    if not settings.mark_field.strip():
        yield (
            "target.happyfox.mark_field",
            'mark = "custom_field" needs mark_field: the name of a text or dropdown contact'
            ' custom field to hold the mark, e.g. mark_field = "Synced from"',
        )
    elif settings.mark_field in config.mapping.custom_fields:
        yield (
            "target.happyfox.mark_field",
            f'"{settings.mark_field}" holds the mark, so [mapping.custom_fields] cannot map it'
            " too; map another field or give the mark a field of its own",
        )


def _written(settings: HappyFoxSettings) -> str:
    """What every contact gets beyond the mapping: the custom-field mark, when it is on."""
    if settings.mark != "custom_field":
        return ""
    return f"mark:{settings.mark_field}={settings.mark_value}"


def _limits(settings: HappyFoxSettings) -> RateLimits:
    # The limits count per account, whatever number of clients or runs use it.
    return RateLimits(settings.base_url, limits_for(settings.rate_headroom))


def _build(settings: HappyFoxSettings, resources: Resources) -> HappyFox:
    assert resources.limiter is not None  # the spec declares limits
    return HappyFox(
        settings.base_url,
        resources.secrets["api_key_file"],
        resources.secrets["auth_code_file"],
        limiter=resources.limiter,
        lock_minutes=settings.lock_minutes,
        group_name=settings.group_name,
        mark=settings.mark,
        mark_field=settings.mark_field,
        mark_value=settings.mark_value,
        on_wait=resources.on_wait,
    )


TARGET = TargetSpec(
    name="happyfox",
    settings=HappyFoxSettings,
    secret_keys=("api_key_file", "auth_code_file"),
    rules=_rules,
    build=_build,
    parallel=PARALLEL,
    limits=_limits,
    written=_written,
)
