"""What the control API answers, as small typed records.

Every field has a default and unknown keys are ignored, so a newer daemon that adds keys
(or an older one that lacks some) does not break a client. ``read`` builds them from JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

T = TypeVar("T")


class UnreadableAnswer(ValueError):
    """The daemon's JSON does not have the expected shape."""


_ADAPTERS: dict[object, TypeAdapter[Any]] = {}  # building one costs ~1 ms; keep them


def read(kind: type[T], data: Any) -> T:
    """Build ``kind`` from JSON data; extra keys are ignored, missing ones take defaults."""
    adapter: TypeAdapter[T] = _ADAPTERS.get(kind) or _ADAPTERS.setdefault(kind, TypeAdapter(kind))
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the answer"
        raise UnreadableAnswer(f"{where}: {first['msg']}") from None


COUNT_KEYS = ("new", "updated", "unchanged", "failed", "skipped")


# Said only when not zero: joiners created with the login off (among "new"), joiners started.
LIFECYCLE_COUNTS = (("joiners", "joiner(s), login off"), ("started", "started"))


def counts_text(counts: dict[str, Any]) -> str:
    """ "3 new, 0 updated, ..." in a fixed order; joiners and starts when there are some."""
    text = ", ".join(f"{counts.get(k, 0)} {k}" for k in COUNT_KEYS)
    extra = [f"{counts[k]} {label}" for k, label in LIFECYCLE_COUNTS if counts.get(k)]
    return text + (f" ({', '.join(extra)})" if extra else "")


@dataclass(frozen=True)
class LastTick:
    """A tenant's last incremental tick: when, and why it was skipped (None: it ran)."""

    at: datetime | None = None
    skipped: str | None = None
    counts: dict[str, int] = field(default_factory=dict)  # recorded | idle | skipped


@dataclass(frozen=True)
class TenantState:
    name: str = ""
    enabled: bool = True  # in status: turned on in the configuration
    status: str = "new"  # new | active | disabled | failed ...
    reason: str = ""
    fix: str = ""
    failures: int = 0  # failed syncs in a row
    next_try_at: datetime | None = None  # a quarantined tenant's next try
    last_sync_at: datetime | None = None  # the last run that did something for it
    last_checked_at: datetime | None = None  # the last complete read, idle ticks included
    # In status only: the incremental schedule and how far behind the help desk is.
    next_tick_at: datetime | None = None
    last_tick: LastTick | None = None
    oldest_unwritten_at: datetime | None = None
    oldest_unwritten_age_seconds: float | None = None


@dataclass(frozen=True)
class RunningSync:
    run_id: int = 0
    trigger: str = ""
    dry_run: bool = False
    started_at: datetime | None = None
    phase: str = ""
    tenant: str = ""
    done: int = 0
    total: int | None = None
    counts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunSummary:
    id: int = 0
    status: str = ""
    trigger: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    counts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HeldRun:
    """A run that planned more changes than a threshold allows: it waits for an admin."""

    id: int = 0
    trigger: str = ""
    message: str = ""
    started_at: datetime | None = None


@dataclass(frozen=True)
class Status:
    version: str = ""
    pid: int = 0
    uptime_seconds: float = 0.0
    config_path: str = ""
    config_error: str | None = None
    account: str = ""
    timezone: str = "UTC"
    sync_enabled: bool = False
    next_run: datetime | None = None
    interval: str = ""  # the incremental schedule, "" when off
    next_tick: datetime | None = None
    running: RunningSync | None = None
    last_run: RunSummary | None = None
    target: str = ""
    target_notes: list[str] = field(default_factory=list)  # what the target says of its account
    role: str = "active"  # or "standby": another daemon on the shared state syncs
    active_host: str | None = None
    active_pid: int | None = None
    tenants: list[TenantState] = field(default_factory=list)
    held_runs: list[HeldRun] = field(default_factory=list)


@dataclass(frozen=True)
class LogLine:
    at: datetime | None = None
    level: str = ""
    message: str = ""


@dataclass(frozen=True)
class Run:
    id: int = 0
    trigger: str = ""
    dry_run: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    status: str = ""
    message: str = ""
    counts: dict[str, Any] = field(default_factory=dict)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    log: list[LogLine] = field(default_factory=list)  # only in the answer for one run


@dataclass(frozen=True)
class Record:
    tenant: str = ""
    user_id: str = ""
    email: str = ""
    type: str = ""
    status: str = ""  # success | failed | skipped | unchanged
    result: str = ""
    changed_fields: str = ""


@dataclass(frozen=True)
class Records:
    run_id: int = 0
    total: int = 0
    records: list[Record] = field(default_factory=list)


@dataclass(frozen=True)
class SyncOutcome:
    """A sync waited for: the run as it ended, and a dry run's plan."""

    run_id: int = 0
    run: Run | None = None
    plan: Records | None = None


@dataclass(frozen=True)
class Tenant:
    name: str = ""
    display_name: str = ""
    tenant_id: str = ""
    cloud: str = "global"
    login_url: str | None = None
    graph_url: str | None = None
    client_id: str = ""
    auth: str = "secret"  # secret | certificate | device_code
    client_secret_file: str | None = None
    certificate_file: str | None = None
    private_key_file: str | None = None
    pfx_file: str | None = None
    pfx_passphrase_file: str | None = None
    ca_bundle: str | None = None
    enabled: bool = True
    users: str = "all"  # all | groups
    groups: list[str] = field(default_factory=list)
    exclude_disabled: bool = False
    scope: dict[str, list[str]] | None = None  # its own [scope]: include, exclude
    state: TenantState = field(default_factory=TenantState)

    @property
    def label(self) -> str:
        return self.display_name or self.name


@dataclass(frozen=True)
class DeviceCode:
    tenant: str = ""
    status: str = "pending"  # pending | succeeded | failed | expired ...
    user_code: str = ""
    verification_uri: str = ""
    message: str = ""
    expires_in: int = 0
    reason: str = ""
    fix: str = ""


@dataclass(frozen=True)
class Authorization:
    """A tenant after authorize; for a device-code tenant, the sign-in in progress."""

    tenant: Tenant
    device_code: DeviceCode | None = None


@dataclass(frozen=True)
class Group:
    id: str = ""
    name: str = ""
    description: str = ""
    member_count: int | None = None  # when the daemon tells it


@dataclass(frozen=True)
class TargetField:
    """A custom contact field of the help desk."""

    id: str = ""
    name: str = ""
    type: str = "text"
    required: bool = False
    choices: list[str] = field(default_factory=list)
    raw_type: str = ""
    fixed: str | int | None = None  # the help desk's mark: set by azsync, never mapped


@dataclass(frozen=True)
class SetupProblem:
    """Something the help desk lacks for the target's settings, and the fix."""

    key: str = ""
    message: str = ""
    fix: str = ""


@dataclass(frozen=True)
class Phone:
    type: str = ""
    number: str = ""


@dataclass(frozen=True)
class Contact:
    id: int = 0
    email: str = ""
    name: str = ""
    phones: list[Phone] = field(default_factory=list)
    custom_fields: dict[str, Any] = field(default_factory=dict)
    source_tenant: str = ""
    source_object_id: str = ""
    synced_from_entra: bool = False
    login_enabled: bool = True
    contact_groups: dict[str, bool] = field(default_factory=dict)  # name -> access_tickets
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Contacts:
    total: int = 0
    contacts: list[Contact] = field(default_factory=list)


@dataclass(frozen=True)
class AccountSettings:
    name: str = ""
    timezone: str = "UTC"


@dataclass(frozen=True)
class ScheduleSettings:
    enabled: bool = False
    time: str = "00:00"
    interval: str = ""


@dataclass(frozen=True)
class HappyFoxSettings:
    base_url: str = ""
    api_key_file: str = ""
    auth_code_file: str = ""


@dataclass(frozen=True)
class TargetSettings:
    kind: str = "local"
    happyfox: HappyFoxSettings | None = None


@dataclass(frozen=True)
class MappingSettings:
    """Each mapped value is an attribute or expression, or a table {"value", "apply"}."""

    email: str = "userPrincipalName"
    guest_email_from_mail: bool = True
    name: str | dict[str, Any] = "{displayName}"
    phones: dict[str, str | dict[str, Any]] = field(default_factory=dict)
    skip_empty_phones: bool = False
    custom_fields: dict[str, str | dict[str, Any]] = field(default_factory=dict)
    overwrite_custom_fields: bool = True

    @staticmethod
    def source(entry: str | dict[str, Any] | None) -> str | None:
        """The attribute or expression of a mapped value, whichever form it has."""
        return str(entry.get("value", "")) if isinstance(entry, dict) else entry

    @staticmethod
    def apply(entry: str | dict[str, Any] | None) -> str | None:
        """The value's own apply rule (always, on_create, when_empty), or None."""
        return entry.get("apply") if isinstance(entry, dict) else None


@dataclass(frozen=True)
class WelcomeEmailSettings:
    enabled: bool = False
    smtp_host: str = ""
    smtp_port: int = 587
    tls: str = "starttls"
    username: str = ""
    password_file: str | None = None
    from_address: str = ""
    portal_url: str = ""
    subject: str = ""
    template_file: str | None = None


@dataclass(frozen=True)
class ThresholdSettings:
    """Changes a run may make per tenant before it is held: a count, "N%", or None (no limit)."""

    create: int | str | None = None
    update: int | str | None = None
    disable: int | str | None = None
    group_changes: int | str | None = None


@dataclass(frozen=True)
class SyncSettings:
    min_share: float = 0.0
    full_every: float = 7.0
    thresholds: ThresholdSettings = field(default_factory=ThresholdSettings)
    max_fail_share: float = 0.2  # a change whose preview fails more is refused unless forced


@dataclass(frozen=True)
class ScopeSettings:
    """Who syncs: every include condition holds and no exclude condition does."""

    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AlertSettings:
    email_to: list[str] = field(default_factory=list)
    webhook_url: str = ""
    secret_file: str | None = None
    secret_header: str = "X-Azsync-Secret"
    stale_hours: int = 0


@dataclass(frozen=True)
class TargetKey:
    """One key of the help desk's [target.<kind>] table, as the daemon describes it."""

    key: str = ""
    value: Any = None
    type: str = "string"  # string | integer | number | boolean | choice | other
    choices: list[Any] = field(default_factory=list)
    description: str = ""
    default: Any = None
    required: bool = False
    secret_file: bool = False  # names a file holding a secret
    file_only: bool = False  # changed in the configuration file only


@dataclass(frozen=True)
class TargetInfo:
    """The help desk in use and the keys of its table."""

    kind: str = ""
    kinds: list[str] = field(default_factory=list)
    keys: list[TargetKey] = field(default_factory=list)
    in_file: bool = False  # the table is in the file (else its defaults apply)


@dataclass(frozen=True)
class StateSettings:
    history_runs: int = 30


@dataclass(frozen=True)
class Settings:
    account: AccountSettings = field(default_factory=AccountSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    target: TargetSettings = field(default_factory=TargetSettings)
    mapping: MappingSettings = field(default_factory=MappingSettings)
    welcome_email: WelcomeEmailSettings = field(default_factory=WelcomeEmailSettings)
    sync: SyncSettings = field(default_factory=SyncSettings)
    scope: ScopeSettings = field(default_factory=ScopeSettings)
    state: StateSettings = field(default_factory=StateSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)


@dataclass(frozen=True)
class DemoUser:
    """A person added to the demo's simulated directory."""

    id: str = ""
    userPrincipalName: str = ""  # the directory's own spelling, as the API answers
    displayName: str = ""


@dataclass(frozen=True)
class DemoUserAdded:
    user: DemoUser = field(default_factory=DemoUser)
    interval: str = ""
    next_tick: datetime | None = None


@dataclass(frozen=True)
class AuditEntry:
    id: int = 0
    at: datetime | None = None
    user: str = ""
    uid: int = -1
    action: str = ""
    status: int = 0
    changes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FieldProblem:
    """One refused value: the key as the daemon names it, and what is wrong."""

    key: str = ""
    message: str = ""


@dataclass(frozen=True)
class ErrorBody:
    code: str = "error"
    message: str = ""
    fix: str = ""
    problems: list[FieldProblem] = field(default_factory=list)
    run_id: int | None = None
    detail: str = ""  # e.g. every problem of a configuration file a reload refused


@dataclass(frozen=True)
class RaisedAlert:
    key: str = ""
    title: str = ""


@dataclass(frozen=True)
class Alerts:
    """Alerts sent and not yet resolved."""

    enabled: bool = False
    alerts: list[RaisedAlert] = field(default_factory=list)


@dataclass(frozen=True)
class AlertTest:
    channels: dict[str, str] = field(default_factory=dict)  # email/webhook -> "sent" or why not
