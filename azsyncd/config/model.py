"""The shape of azsyncd.toml, as pydantic models.

pydantic checks types and field-level rules and reports every error with its location in
one pass; rules that tie fields together live in ``rules.py``. The tables of ``[target]``
come from the targets, through ``target_kinds``.
"""

from __future__ import annotations

import difflib
import re
import typing
import zoneinfo
from datetime import timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from azsyncd import attributes
from azsyncd.config import target_kinds
from azsyncd.config.endpoints import secure_url
from azsyncd.config.expression import (
    Condition,
    Expression,
    ExpressionError,
    Kind,
    compile_condition,
    compile_expression,
)
from azsyncd.config.interval import parse_interval
from azsyncd.config.templates import GROUP_NAME_FIELDS, WELCOME_FIELDS, check
from azsyncd.config.text import MAX_TEXT, control_character

GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
DOMAIN = re.compile(
    r"^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$"
)
TENANT_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
ACCOUNT_NAME = re.compile(r"^@?[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$")
CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
PERSONAL_TENANTS = {"consumers", "9188040d-6c67-4c5b-b112-36a304b66dad"}
MULTI_TENANT_ALIASES = {"common", "organizations"}
# A phone's type, as HappyFox codes it: mobile, work, main, home, other.
PhoneType = Literal["mo", "w", "m", "h", "o"]

# Keys that would hold a secret inline; each has a *_file sibling to use instead.
INLINE_SECRET_KEYS = {
    "client_secret": "client_secret_file",
    "password": "password_file",
    "pfx_passphrase": "pfx_passphrase_file",
    "passphrase": "pfx_passphrase_file",
    "private_key": "private_key_file",
}


def inline_secret_keys() -> dict[str, str]:
    """Inline secret keys, with the secret files every target kind declares (api_key_file...)."""
    found = dict(INLINE_SECRET_KEYS)
    for kind in target_kinds.kinds():
        found.update({key.removesuffix("_file"): key for key in kind.secret_keys})
    return found


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def suggest(word: str, candidates: object) -> str:
    """' (did you mean "x"?)' for the nearest candidate, or nothing."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)  # type: ignore[call-overload]
    return f' (did you mean "{close[0]}"?)' if close else ""


def _check_attribute(value: str) -> str:
    if not attributes.is_known(value):
        raise ValueError(
            f'unknown directory attribute "{value}"{suggest(value, attributes.KNOWN)};'
            " see GET /v1/attributes for the list"
        )
    return value


def _holds_tables(annotation: object) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_holds_tables(arg) for arg in typing.get_args(annotation))


def _numbers_only(annotation: object) -> bool:
    """Whether a field takes numbers (int, float, or None) and nothing else."""
    kinds = set(typing.get_args(annotation)) or {annotation}
    return bool(kinds & {int, float}) and kinds <= {int, float, type(None)}


def _pattern(pattern: re.Pattern[str]) -> WithJsonSchema:
    """``pattern`` in the JSON schema (the API's), where ``_shaped`` checks it with a message."""
    return WithJsonSchema({"type": "string", "pattern": pattern.pattern})


def _shaped(pattern: re.Pattern[str], problem: str) -> AfterValidator:
    """A check that a text matches ``pattern``; ``problem`` says what it is not, and the fix."""

    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f'"{value}" {problem}')
        return value

    return AfterValidator(check)


ClockTime = Annotated[
    str,
    _shaped(CLOCK_TIME, 'is not a time of day; write it as HH:MM, e.g. "00:00" or "23:30"'),
    _pattern(CLOCK_TIME),
]
TenantName = Annotated[
    str,
    _shaped(
        TENANT_NAME,
        'is not a tenant name; use lowercase letters, digits and dashes, e.g. "contoso"',
    ),
    _pattern(TENANT_NAME),
]
ClientId = Annotated[
    str,
    _shaped(
        GUID,
        "is not an application (client) id; copy the GUID from the app registration's overview",
    ),
    AfterValidator(str.lower),
    _pattern(GUID),
]
FileMode = Annotated[
    str, _shaped(re.compile(r"^0?[0-7]{3}$"), 'is not a file mode; write it in octal, e.g. "0660"')
]


class Section(BaseModel):
    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, validate_default=True, str_max_length=MAX_TEXT
    )

    @field_validator("*", mode="before")
    @classmethod
    def _printable(cls, value: object, info: ValidationInfo) -> object:
        # A NUL or newline in a path, name or header line breaks whatever later uses it.
        if info.field_name and _holds_tables(cls.model_fields[info.field_name].annotation):
            return value  # the nested table checks its own keys
        found = control_character(value)
        if found:
            raise ValueError(f"contains a control character ({found}); remove it")
        annotation = cls.model_fields[info.field_name].annotation if info.field_name else None
        # pydantic would read true as 1 and 1 or "yes" as true: a switch given where a number
        # belongs, or the reverse, is a mistake.
        if isinstance(value, bool) and _numbers_only(annotation):
            raise ValueError(f"is {str(value).lower()}, not a number; write a number")
        if annotation is bool and not isinstance(value, bool):
            raise ValueError(f"is {value!r}, not true or false; write true or false")
        return value

    @classmethod
    def model_at(cls, key: str) -> Any:
        """The type of the value under ``key``, to suggest the keys of a nested table."""
        field = cls.model_fields.get(key)
        return field.annotation if field else None


class Account(Section):
    name: str = Field("azsync", min_length=1, description="Shown in messages and welcome emails")
    timezone: str = Field("UTC", description="IANA time zone of the daily sync")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in _zones():
            raise ValueError(
                f'unknown time zone "{value}"{suggest(value, _zones())}; use an IANA name '
                "such "
                "as "
                '"Europe/Berlin"'
            )
        return value


class Schedule(Section):
    enabled: bool = Field(False, description="Contact sync on: sync at once, then daily")
    time: ClockTime = Field(
        "00:00", description="Daily sync time, HH:MM in the account's time zone"
    )
    interval: Annotated[  # 0, a number, is "0": off
        str, WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "integer", "enum": [0]}]})
    ] = Field(
        "",
        description='Incremental syncs between the daily ones, e.g. "5m" (at least 1m); "0": off',
    )

    @field_validator("interval", mode="before")
    @classmethod
    def _interval(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            if value == 0:
                return "0"
            raise ValueError(f'{value} has no unit; write it as a string, e.g. "{value}m"')
        if isinstance(value, str):
            parse_interval(value)
            return value.strip()
        return value

    @property
    def every(self) -> timedelta | None:
        """The incremental interval, or None when off."""
        return parse_interval(self.interval)


class TargetConfig(Section):
    """[target]: the help desk in use (``kind``), and one table of settings per kind.

    Each kind's table ([target.<kind>]) is declared by its target through ``target_kinds``.
    """

    model_config = ConfigDict(
        extra="allow", str_strip_whitespace=True, validate_default=True, str_max_length=MAX_TEXT
    )
    kind: str = Field("local", description="The help desk contacts are written to")

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if target_kinds.get(value) is None:
            known = target_kinds.names()
            raise ValueError(
                f'unknown target kind "{value}"{suggest(value, known)}; use one of: '
                + ", ".join(known)
            )
        return value

    @model_validator(mode="after")
    def _kind_tables(self) -> TargetConfig:
        tables = self.__pydantic_extra__ or {}
        errors: list[Any] = []
        for name, raw in tables.items():
            kind = target_kinds.get(name)
            if kind is None:
                known = ["kind", *target_kinds.names()]
                message = f'unknown key "{name}"{suggest(name, known)}; known keys here: '
                error = PydanticCustomError("unknown_table", message + ", ".join(known))
                errors.append({"type": error, "loc": (name,), "input": raw})
            elif not isinstance(raw, kind.settings):
                try:
                    tables[name] = kind.settings.model_validate(raw)
                except ValidationError as exc:
                    errors += [_nested(error, name) for error in exc.errors()]
        if errors:
            raise ValidationError.from_exception_data("TargetConfig", errors)
        return self

    @classmethod
    def model_at(cls, key: str) -> Any:
        kind = target_kinds.get(key)
        return kind.settings if kind else super().model_at(key)

    def tables(self) -> dict[str, BaseModel]:
        """The tables of the file, and the selected kind's defaults when its table is absent."""
        present = dict(self.__pydantic_extra__ or {})
        if self.kind not in present and (default := self._default(self.kind)) is not None:
            present[self.kind] = default
        return present

    @property
    def settings(self) -> BaseModel | None:
        """The selected kind's table; None when it is absent and has required keys."""
        return self.tables().get(self.kind)

    @staticmethod
    def _default(name: str) -> BaseModel | None:
        kind = target_kinds.get(name)
        try:
            return kind.settings() if kind else None
        except ValidationError:
            return None


def _nested(error: Any, table: str) -> Any:
    """A table's validation error, placed under the table's name."""
    nested = {"type": error["type"], "loc": (table, *error["loc"]), "input": error["input"]}
    return nested | ({"ctx": error["ctx"]} if "ctx" in error else {})


def _conditions(values: list[str]) -> list[str]:
    for value in values:
        try:
            compile_condition(value)
        except ExpressionError as exc:
            raise ValueError(_quoted(value, exc.describe())) from None
    return values


class Scope(Section):
    """Who is synced: a user must meet every include condition and no exclude condition."""

    include: list[str] = Field(
        default_factory=list,
        max_length=50,
        description='Conditions every synced user meets, e.g. userType = "Member", has license',
    )
    exclude: list[str] = Field(
        default_factory=list,
        max_length=50,
        description='Conditions that leave a user out, e.g. mail matches "^(room|mtg)-"',
    )

    @field_validator("include", "exclude", mode="before")
    @classmethod
    def _one(cls, value: Any) -> Any:
        """One condition given as text is a list of one (include = "has license")."""
        return [value] if isinstance(value, str) else value

    @field_validator("include", "exclude")
    @classmethod
    def _parsed(cls, value: list[str]) -> list[str]:
        return _conditions(value)

    @property
    def active(self) -> bool:
        return bool(self.include or self.exclude)

    def conditions(self) -> tuple[list[Condition], list[Condition]]:
        return [compile_condition(c) for c in self.include], [
            compile_condition(c) for c in self.exclude
        ]

    def reads(self) -> set[str]:
        included, excluded = self.conditions()
        return {path for c in [*included, *excluded] for path in c.reads}

    def dated(self) -> bool:
        """Whether a condition says `today`: who is in scope changes as days pass."""
        included, excluded = self.conditions()
        return any(c.dated for c in [*included, *excluded])


class Tenant(Section):
    name: TenantName = Field(
        ..., description="Short identifier used in the API: lowercase letters, digits, dashes"
    )
    display_name: str = ""
    tenant_id: str = Field(
        ...,
        description="Directory (tenant) id GUID or a verified domain",
        json_schema_extra={"pattern": f"(?:{GUID.pattern})|(?:{DOMAIN.pattern})"},
    )
    cloud: Literal["global", "usgov", "usgov-dod", "china", "custom"] = "global"
    login_url: str | None = None
    graph_url: str | None = None
    client_id: ClientId
    auth: Literal["secret", "certificate", "device_code"] = "secret"
    client_secret_file: str | None = None
    certificate_file: str | None = None
    private_key_file: str | None = None
    pfx_file: str | None = None
    pfx_passphrase_file: str | None = None
    ca_bundle: str | None = None
    enabled: bool = True
    users: Literal["all", "groups"] = "all"
    groups: list[str] = Field(
        default_factory=list,
        max_length=1000,
        description='Group object ids when users = "groups"',
        json_schema_extra={"items": {"type": "string", "pattern": GUID.pattern}},
    )
    exclude_disabled: bool = False
    scope: Scope | None = Field(
        None, description="This tenant's own [scope], on top of the one for every tenant"
    )

    @field_validator("tenant_id")
    @classmethod
    def _tenant(cls, value: str) -> str:
        lowered = value.lower()
        if lowered in PERSONAL_TENANTS:
            raise ValueError(
                "personal Microsoft accounts cannot be synced; an organizational tenant (its "
                "GUID "
                "or verified domain) is required"
            )
        if lowered in MULTI_TENANT_ALIASES:
            raise ValueError(
                f'"{value}" is not one tenant; give the organizational tenant\'s GUID or '
                "verified "
                "domain"
            )
        if not (GUID.match(value) or DOMAIN.match(value)):
            raise ValueError(
                f'"{value}" is neither a tenant GUID nor a domain such as "contoso.onmicrosoft.com"'
            )
        return lowered

    @field_validator("groups")
    @classmethod
    def _group_ids(cls, value: list[str]) -> list[str]:
        for group in value:
            if not GUID.match(group):
                raise ValueError(
                    f'"{group}" is not a group object id (a GUID); search groups with GET '
                    "/v1/tenants/<name>/groups?search="
                )
        return value


Apply = Literal["always", "on_create", "when_empty"]


class FieldRule(Section):
    """A mapped value with its own rule: { value = "department", apply = "on_create" }."""

    value: str = Field(..., min_length=1, description="An attribute or an expression")
    apply: Apply | None = Field(
        None,
        description="always: follow the directory; on_create: set when the contact is created,"
        " then left alone; when_empty: fill only while the help desk's value is empty",
    )


def _entry_kind(value: Any) -> str:
    return "<table>" if isinstance(value, (dict, FieldRule)) else "<expression>"


# A mapping entry: an attribute or expression, or a table with its own apply rule. The
# discriminator picks one, so a mistake is reported once, in the form the admin wrote.
Entry = Annotated[
    Annotated[str, Tag("<expression>")] | Annotated[FieldRule, Tag("<table>")],
    Discriminator(_entry_kind),
]
ONE_VALUE = (Kind.TEXT, Kind.NUMBER)  # what an address, a name or a phone number can be
TAKES = {"email": "an email address", "name": "a name", "phones": "a phone number"}


def entry_source(entry: Entry) -> str:
    return entry if isinstance(entry, str) else entry.value


def entry_apply(entry: Entry, default: str = "always") -> str:
    return default if isinstance(entry, str) or entry.apply is None else entry.apply


class Mapping(Section):
    email: str = Field(
        "userPrincipalName",
        description="An attribute or expression: coalesce(mail, userPrincipalName)",
    )
    guest_email_from_mail: bool = Field(
        True, description="Guests (#EXT# UPNs) use mail, then otherMails[0]"
    )
    name: Entry = Field(
        "{displayName}",
        description='An attribute, a template such as "{givenName} {surname}", or an expression',
    )
    phones: dict[PhoneType, Entry] = Field(default_factory=dict)
    skip_empty_phones: bool = Field(
        False, description="Skip an empty mapped phone instead of failing the contact"
    )
    custom_fields: dict[str, Entry] = Field(
        default_factory=dict, description="Target field name -> attribute or expression"
    )
    overwrite_custom_fields: bool = Field(
        True, description="The apply rule of custom fields that name none: always, or when_empty"
    )

    @model_validator(mode="after")
    def _expressions(self) -> Mapping:
        errors: list[Any] = []
        for loc, source, wanted in self._sources():
            try:
                expression = compile_expression(source)
            except ExpressionError as exc:
                errors.append(_expression_error(loc, source, exc.describe()))
                continue
            if wanted and expression.kind not in wanted:
                errors.append(
                    _expression_error(
                        loc,
                        source,
                        f"gives {expression.kind}, and {TAKES[loc[0]]} is one text value"
                        + (
                            "; pick one item, e.g. businessPhones[0]"
                            if expression.kind is Kind.LIST
                            else ""
                        ),
                    )
                )
        if errors:
            raise ValidationError.from_exception_data("Mapping", errors)
        return self

    def _sources(self) -> list[tuple[tuple[Any, ...], str, tuple[Kind, ...]]]:
        """(location, expression, the kinds it may give; empty: any) of every mapped value."""
        found: list[tuple[tuple[Any, ...], str, tuple[Kind, ...]]] = [
            (("email",), self.email, (Kind.TEXT,))
        ]
        name = entry_source(self.name)
        template = name_template_attributes(name) if "{" in name else None
        for part in template or [name]:
            found.append((("name",), part, ONE_VALUE))
        found += [(("phones", t), entry_source(e), ONE_VALUE) for t, e in self.phones.items()]
        found += [
            (("custom_fields", n), entry_source(e), ()) for n, e in self.custom_fields.items()
        ]
        return found

    def expression(self, entry: Entry) -> Expression:
        """A mapped value's compiled expression (checked when the config was)."""
        return compile_expression(entry_source(entry))

    def reads(self) -> set[str]:
        """Every attribute path the mapping reads."""
        return {
            path for _, source, _ in self._sources() for path in compile_expression(source).reads
        }

    def custom_apply(self, name: str) -> str:
        default = "always" if self.overwrite_custom_fields else "when_empty"
        return entry_apply(self.custom_fields[name], default)


def _expression_error(loc: tuple[Any, ...], source: str, problem: str) -> Any:
    message = _quoted(source, problem)
    return {"type": PydanticCustomError("value_error", message), "loc": loc, "input": source}


def _quoted(source: str, problem: str) -> str:
    """The problem, after the expression when it is more than one word."""
    if re.fullmatch(r"[\w.\[\]]+", source):
        return problem.split(": ", 1)[1] if problem.startswith("at column 1: ") else problem
    return f"{source!r}: {problem}"


def name_template_attributes(template: str) -> list[str]:
    """The attributes a name template reads: "{givenName} {surname}" or a bare "displayName"."""
    found = re.findall(r"\{([^{}]+)\}", template)
    return found if found else [template]


class WelcomeEmail(Section):
    enabled: bool = False
    smtp_host: str = ""
    smtp_port: int = Field(587, ge=1, le=65535)
    tls: Literal["starttls", "tls", "none"] = "starttls"
    username: str = ""
    password_file: str | None = None
    from_address: str = ""
    portal_url: str = ""
    subject: str = "Your {account} help desk account"
    template_file: str | None = None

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str) -> str:
        return check(value, WELCOME_FIELDS)


LIMIT = re.compile(r"^(\d{1,9})(%?)$")


def _limit(value: object) -> object:
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    text = str(value).strip() if isinstance(value, str) else ""
    found = LIMIT.match(text)
    if not found or (found[2] and int(found[1]) > 100):
        raise PydanticCustomError(
            "limit",
            f"{value!r} is not a threshold; write a count (e.g. 500) or a percentage of the "
            'tenant\'s contacts from "0%" to "100%" (e.g. "10%")',
        )
    return text if found[2] else int(found[1])


# A count of changes, or "N%" of the tenant's contacts; None: no threshold.
Limit = Annotated[int | str | None, BeforeValidator(_limit)]


class Thresholds(Section):
    """Changes a run may make per tenant before it is held for an admin's approval."""

    create: Limit = Field(None, description="New contacts per tenant: a count or a percentage")
    update: Limit = Field(None, description="Updated contacts per tenant")
    disable: Limit = Field(
        None, description="Users leaving the directory or the scope (a config change counts too)"
    )
    group_changes: Limit = Field(None, description="Contact-group changes per tenant")

    @property
    def active(self) -> bool:
        return any(v is not None for v in self.model_dump().values())

    def limit(self, kind: str, contacts: int) -> int | None:
        """The most changes of ``kind`` a run may make for a tenant holding ``contacts``."""
        value = getattr(self, kind)
        if isinstance(value, str):
            return contacts * int(value.rstrip("%")) // 100
        return value


class Sync(Section):
    thresholds: Thresholds = Field(default_factory=Thresholds)
    min_share: float = Field(
        0.0,
        ge=0,
        lt=1,
        description=(
            "Safety rail: a tenant whose full read gives fewer users than this share of last time's"
            " (or none at all) writes nothing that run"
        ),
    )
    max_fail_share: float = Field(
        0.2,
        ge=0,
        le=1,
        description="A settings change whose preview fails more than this share of a tenant's"
        " contacts is refused unless forced",
    )
    full_every: float = Field(
        7.0,
        ge=0,
        le=3650,
        description=(
            "Days between full reconciliations: every user read and compared with the help"
            " desk's own contact, so edits made there are seen (0: never)"
        ),
    )


EMAIL_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class Digest(Section):
    """The data-quality digest for the directory's owners: the failing contacts grouped by
    what fixes them, sent once a period by the active daemon."""

    to: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Email addresses and/or webhook URLs (https); empty: no digest",
    )
    every: Literal["weekly", "daily"] = Field(
        "weekly", description="Once a week (from Monday) or once a day, in the account's zone"
    )
    min_count: int = Field(
        1, ge=1, le=1_000_000, description="Sent only when at least this many users fail"
    )
    addresses: int = Field(10, ge=1, le=100, description="Addresses named per group at most")
    secret_file: str | None = Field(
        None, description="A shared secret sent to the webhooks in alerts.secret_header"
    )

    @field_validator("to")
    @classmethod
    def _recipients(cls, value: list[str]) -> list[str]:
        for item in value:
            if "://" in item:
                secure_url(item, "alerts.digest.to")
            elif not EMAIL_ADDRESS.fullmatch(item):
                raise ValueError(
                    f'"{item}" is neither an email address nor a webhook URL; write e.g. '
                    '"it-directory@example.com" or "https://hooks.example.com/azsync"'
                )
        return value

    @property
    def emails(self) -> list[str]:
        return [item for item in self.to if "://" not in item]

    @property
    def webhooks(self) -> list[str]:
        return [item for item in self.to if "://" in item]


class Alerts(Section):
    """Who hears of a failed, held or stale sync: email (the welcome email's SMTP), webhook."""

    email_to: list[str] = Field(
        default_factory=list, max_length=50, description="Alert recipients; empty: no email"
    )
    webhook_url: str = Field("", description="JSON POSTs over https; empty: no webhook")
    secret_file: str | None = Field(None, description="The webhook's shared secret, in a file")
    secret_header: str = Field(
        "X-Azsync-Secret", pattern=r"^[A-Za-z0-9-]{1,64}$", description="Header carrying it"
    )
    stale_hours: int = Field(
        0, ge=0, le=8760, description="Alert when no sync succeeded for this long; 0: never"
    )
    digest: Digest = Field(default_factory=Digest)

    @field_validator("webhook_url")
    @classmethod
    def _secure(cls, value: str) -> str:
        return secure_url(value, "webhook_url") if value else value

    @field_validator("email_to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
                raise ValueError(
                    f'"{address}" is not an email address; write e.g. "ops@example.com"'
                )
        return value

    @property
    def enabled(self) -> bool:
        return bool(self.email_to or self.webhook_url)


class Metrics(Section):
    textfile: str = Field(
        "",
        description="A .prom file written atomically after each run, for node_exporter's"
        " textfile collector; empty: none",
    )

    @field_validator("textfile")
    @classmethod
    def _prom(cls, value: str) -> str:
        if value and not value.endswith(".prom"):
            raise ValueError(
                f'"{value}" does not end in .prom: node_exporter\'s textfile collector reads '
                'only *.prom files; name it e.g. "/var/lib/node_exporter/textfile/azsync.prom"'
            )
        return value


LeaverAction = Literal["keep", "disable_login"]
# A rule's attribute condition: companyName = "Fabrikam", department starts with "Sales".


class Lifecycle(Section):
    on_removed: LeaverAction = Field(
        "keep",
        description="A user deleted in Entra ID or out of the synced groups: keep the contact"
        " as it is, or turn its portal login off and move it to group_name",
    )
    on_disabled: LeaverAction = Field(
        "keep", description="A user whose account is disabled (accountEnabled false)"
    )
    grace_days: int = Field(
        3, ge=0, le=365, description="Days a removal waits, so a restored user comes back untouched"
    )
    group_name: str = Field("Left Microsoft Entra ID: {tenant}", min_length=1, max_length=200)
    create_before_hire_days: int = Field(
        0,
        ge=0,
        le=365,
        description="Joiners: a user whose employeeHireDate is ahead gets a contact this many"
        " days before it, login off and no welcome email until the day; 0: off",
    )

    @field_validator("group_name")
    @classmethod
    def _group_name(cls, value: str) -> str:
        return check(value, GROUP_NAME_FIELDS)


class ContactGroupRule(Section):
    group: str = Field(..., min_length=1, max_length=200, description="The help desk's group")
    access_tickets: bool = Field(False, description="Members see the group's tickets")
    entra_group: str = Field(
        "", description="An Entra ID group's object id; members of nested groups count"
    )
    when: str = Field(
        "",
        description='An attribute condition: companyName = "Fabrikam", department starts with'
        ' "Sales"',
    )

    @field_validator("entra_group")
    @classmethod
    def _group_id(cls, value: str) -> str:
        if value and not GUID.match(value):
            raise ValueError(
                f'"{value}" is not a group object id; copy the GUID from the group\'s overview'
            )
        return value.lower()

    @field_validator("when")
    @classmethod
    def _condition(cls, value: str) -> str:
        return _conditions([value])[0] if value else value

    @model_validator(mode="after")
    def _one_condition(self) -> ContactGroupRule:
        if bool(self.entra_group) == bool(self.when):
            raise ValueError(
                f'contact group rule "{self.group}" needs exactly one of entra_group (a group id)'
                ' and when (e.g. companyName = "Fabrikam")'
            )
        return self

    def condition(self) -> Condition:
        """The compiled condition of an attribute rule."""
        return compile_condition(self.when)


class State(Section):
    database_url: str = Field(
        "",
        description="Empty: SQLite under the state directory; or sqlite:///path, postgresql://...",
    )
    history_runs: int = Field(30, ge=1, le=10000)
    shared_dir: str = Field(
        "",
        description="Directory shared by every azsyncd on this host writing to the same help"
        " desk account (their common rate limit); empty: systemd's azsyncd/shared, else the"
        " state directory",
    )


class Control(Section):
    socket: str = ""
    mode: FileMode = "0660"
    group: str = ""
    credentials_dir: str = Field(
        "",
        description="Where secrets set through the API are stored; empty: credentials/ beside"
        " the config file (/etc/azsyncd/credentials as a service)",
    )
    admins: list[str] = Field(
        default_factory=list,
        max_length=256,
        description="Socket users who may change things (user names, @groups); empty: all of them",
    )
    readers: list[str] = Field(
        default_factory=list,
        max_length=256,
        description="With admins set: socket users who may also read personal data (contacts,"
        " records, the CSV reports, leavers); admins always may",
    )

    @field_validator("admins", "readers")
    @classmethod
    def _accounts(cls, value: list[str]) -> list[str]:
        for name in value:
            if not ACCOUNT_NAME.match(name):
                raise ValueError(
                    f'"{name}" is not a user or @group name; write e.g. "alice" or "@desk-admins"'
                )
        return value


class Config(Section):
    account: Account = Field(default_factory=Account)
    schedule: Schedule = Field(default_factory=Schedule)
    target: TargetConfig = Field(default_factory=TargetConfig)
    tenants: list[Tenant] = Field(default_factory=list, max_length=100)
    mapping: Mapping = Field(default_factory=Mapping)
    welcome_email: WelcomeEmail = Field(default_factory=WelcomeEmail)
    sync: Sync = Field(default_factory=Sync)
    metrics: Metrics = Field(default_factory=Metrics)
    alerts: Alerts = Field(default_factory=Alerts)
    lifecycle: Lifecycle = Field(default_factory=Lifecycle)
    contact_groups: list[ContactGroupRule] = Field(default_factory=list, max_length=200)
    scope: Scope = Field(default_factory=Scope)
    state: State = Field(default_factory=State)
    control: Control = Field(default_factory=Control)

    def tenant(self, name: str) -> Tenant | None:
        return next((t for t in self.tenants if t.name == name), None)

    def scopes(self, tenant: Tenant) -> list[Scope]:
        """The scopes a tenant's users must be in: every tenant's, then its own."""
        return [s for s in (self.scope, tenant.scope) if s is not None and s.active]
