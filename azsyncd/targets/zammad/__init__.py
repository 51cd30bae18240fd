"""Zammad as a target: its [target.zammad] table, its rules, and how it is built."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field, field_validator

from azsyncd.config.endpoints import secure_url
from azsyncd.config.expression import compile_expression
from azsyncd.config.model import Config, Section, entry_source
from azsyncd.targets.spec import RateLimits, Resources, TargetSpec
from azsyncd.targets.zammad import demo
from azsyncd.targets.zammad.api import KIND, ZammadApi
from azsyncd.targets.zammad.attributes import reserved
from azsyncd.targets.zammad.target import PHONE_COLUMNS, Zammad

# How a mapping may name the first and last name: as Zammad displays them, or by name.
NAMES = {"first name": "firstname", "firstname": "firstname"}
NAMES |= {"last name": "lastname", "lastname": "lastname"}
# Writes in flight at once: one call each, the account's limiter holds them back.
PARALLEL = 4


class ZammadSettings(Section):
    base_url: str = Field(
        ..., description="The address of Zammad's web interface, e.g. https://helpdesk.example.com"
    )
    token_file: str = Field(
        ...,
        description="File holding an access token (admin.user, admin.organization, admin.object)",
    )
    customer_role: str = Field(
        "Customer", min_length=1, description="The role azsync gives the users it creates"
    )
    max_per_minute: int = Field(
        600, ge=1, le=100000, description="Calls a minute azsync makes to Zammad at most"
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        # The token travels with every call: https only, but for loopback.
        url = secure_url(value, "base_url (e.g. https://helpdesk.example.com)").rstrip("/")
        return url.removesuffix("/api/v1")


def rules(settings: ZammadSettings, config: Config) -> Iterator[tuple[str, str]]:
    if config.target.kind != "zammad":
        return
    mapping = config.mapping
    for kind in mapping.phones:
        if kind not in PHONE_COLUMNS:
            yield (
                f"mapping.phones.{kind}",
                "Zammad has one phone and one mobile per user: map them as phones.w (phone) "
                "and phones.mo (mobile)",
            )
    names: dict[str, str] = {}
    for name, entry in mapping.custom_fields.items():
        if why := reserved(name):
            yield (
                f"mapping.custom_fields.{name}",
                f'"{name}" cannot be mapped for Zammad: {why}; remove it',
            )
        part = NAMES.get(name.strip().lower())
        if part:
            names[part] = entry_source(entry)
    if names:
        first, last = names.get("firstname", ""), names.get("lastname", "")
        parts = [a for a in (first, last) if a]
        # The name as a template of attributes, or, for expressions, as one joining them.
        template = " ".join(f"{{{a}}}" for a in parts)
        joined = f'join(" ", {", ".join(parts)})'
        plain = all(compile_expression(a).attribute for a in parts)
        wanted = template if plain else joined
        if len(names) == 1 or entry_source(mapping.name) not in (template, joined):
            yield (
                "mapping.name",
                "with firstname and lastname mapped, the name azsync compares must be the one "
                f'Zammad shows: map both and set name = "{wanted or "{givenName} {surname}"}"',
            )


def _limits(settings: ZammadSettings) -> RateLimits:
    # Zammad publishes no limit: a polite one per account, shared by every process on it.
    return RateLimits(settings.base_url, {KIND: settings.max_per_minute})


def _build(settings: ZammadSettings, resources: Resources) -> Zammad:
    assert resources.limiter is not None  # the spec declares limits
    api = ZammadApi(
        settings.base_url,
        resources.secrets["token_file"],
        limiter=resources.limiter,
        on_wait=resources.on_wait,
    )
    return Zammad(
        api,
        customer_role=settings.customer_role,
        config=resources.config,
        parallel=PARALLEL,
    )


TARGET = TargetSpec(
    name="zammad",
    settings=ZammadSettings,
    secret_keys=("token_file",),
    rules=rules,
    build=_build,
    parallel=PARALLEL,
    limits=_limits,
    demo=demo.start,
)
